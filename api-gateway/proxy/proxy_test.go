package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"syscall"
	"testing"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/route"
)

func TestUpstreamPath(t *testing.T) {
	tests := []struct {
		name              string
		rt                route.Route
		in                string
		wantPath, wantRaw string
	}{
		{"kept", route.Route{Prefix: "/api"}, "/api/users", "/api/users", ""},
		{"root prefix strips nothing", route.Route{Prefix: "/", StripPrefix: true}, "/users", "/users", ""},
		{"stripped", route.Route{Prefix: "/api", StripPrefix: true}, "/api/users", "/users", ""},
		{"stripped to nothing", route.Route{Prefix: "/api", StripPrefix: true}, "/api", "/", ""},
		{"rewritten", route.Route{Prefix: "/api", Rewrite: "/v2"}, "/api/users", "/v2/users", ""},
		{"rewritten, nothing left", route.Route{Prefix: "/api", Rewrite: "/v2"}, "/api", "/v2", ""},
		{"rewritten to root", route.Route{Prefix: "/api", Rewrite: "/"}, "/api/users", "/users", ""},
		{"escaped form follows", route.Route{Prefix: "/api", StripPrefix: true}, "/api/a%2Fb", "/a/b", "/a%2Fb"},
		{"escaped form rewritten", route.Route{Prefix: "/api", Rewrite: "/v2"}, "/api/a%2Fb", "/v2/a/b", "/v2/a%2Fb"},
		{"escaped form kept", route.Route{Prefix: "/api"}, "/api/a%2Fb", "/api/a/b", "/api/a%2Fb"},
		{"escaped prefix drops the escaped form", route.Route{Prefix: "/api", StripPrefix: true}, "/%61pi/a%2Fb", "/a/b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			path, raw := UpstreamPath(&tt.rt, u)
			if path != tt.wantPath || raw != tt.wantRaw {
				t.Fatalf("UpstreamPath(%q) = %q, %q, want %q, %q", tt.in, path, raw, tt.wantPath, tt.wantRaw)
			}
		})
	}
}

func TestJoinPath(t *testing.T) {
	tests := []struct{ base, rest, want string }{
		{"", "", "/"},
		{"/v2", "", "/v2"},
		{"", "/x", "/x"},
		{"/", "/x", "/x"},
		{"/v2", "/x", "/v2/x"},
	}
	for _, tt := range tests {
		t.Run(tt.base+"|"+tt.rest, func(t *testing.T) {
			if got := joinPath(tt.base, tt.rest); got != tt.want {
				t.Fatalf("joinPath(%q, %q) = %q, want %q", tt.base, tt.rest, got, tt.want)
			}
		})
	}
}

func TestNodeScheme(t *testing.T) {
	tests := []struct {
		name string
		md   map[string]string
		want string
	}{
		{"no metadata", nil, "http"},
		{"scheme https", map[string]string{"scheme": "https"}, "https"},
		{"protocol https", map[string]string{"protocol": "https"}, "https"},
		{"protocol http", map[string]string{"protocol": "http"}, "http"},
		{"scheme HTTPS is not https", map[string]string{"scheme": "HTTPS"}, "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &registry.Node{Id: "n", Address: "10.0.0.1:8080", Metadata: tt.md}
			if got := nodeScheme(n); got != tt.want {
				t.Fatalf("nodeScheme = %q, want %q", got, tt.want)
			}
			if got, want := nodeURL(n).String(), tt.want+"://10.0.0.1:8080"; got != want {
				t.Fatalf("nodeURL = %q, want %q", got, want)
			}
		})
	}
}

func TestStatusError(t *testing.T) {
	tests := []struct {
		code int
		want string // "" for nil
	}{
		{200, ""}, {404, ""}, {499, ""},
		{500, "Internal Server Error"}, {501, ""}, {502, "Bad Gateway"},
		{503, "Service Unavailable"}, {504, "Gateway Timeout"}, {505, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			err := statusError(tt.code)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("statusError(%d) = %v, want nil", tt.code, err)
				}
				return
			}
			var me *merrors.Error
			if !errors.As(err, &me) || me.Id != "microlb.proxy" || me.Code != int32(tt.code) || me.Detail != tt.want {
				t.Fatalf("statusError(%d) = %#v, want microlb.proxy %d %q", tt.code, err, tt.code, tt.want)
			}
		})
	}
}

// timedOutCtx returns a context cancelled by a route timeout.
func timedOutCtx() context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(middleware.ErrTimeout)
	return ctx
}

// goneCtx returns a context cancelled because the client left.
func goneCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func TestMarkError(t *testing.T) {
	boom := errors.New("boom")
	t.Run("live request", func(t *testing.T) {
		if got := markError(context.Background(), boom); got != boom {
			t.Fatalf("got %v, want the error itself", got)
		}
	})
	t.Run("client left", func(t *testing.T) {
		if got := markError(goneCtx(), boom); got != context.Canceled {
			t.Fatalf("got %v, want context.Canceled", got)
		}
	})
	t.Run("route timeout", func(t *testing.T) {
		var me *merrors.Error
		if got := markError(timedOutCtx(), boom); !errors.As(got, &me) || me.Id != "microlb.proxy" || me.Code != 408 || me.Detail != "timeout" {
			t.Fatalf("got %#v, want a go-micro timeout", got)
		}
	})
}

func TestRefused(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"dial error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no route to host")}, true},
		{"ECONNREFUSED", fmt.Errorf("wrapped: %w", syscall.ECONNREFUSED), true},
		{"read error", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, false},
		{"EOF", io.EOF, false},
		{"plain", errors.New("x"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := refused(tt.err); got != tt.want {
				t.Fatalf("refused(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestRetriable(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name   string
		method string
		ctx    context.Context
		replay bool
		rt     route.Route
		err    error
		want   bool
	}{
		{"refused POST", "POST", context.Background(), true, route.Route{}, dial, true},
		{"refused, body not replayable", "GET", context.Background(), false, route.Route{}, dial, false},
		{"refused, client left", "GET", goneCtx(), true, route.Route{}, dial, false},
		{"per-try timeout GET", "GET", context.Background(), true, route.Route{}, errPerTryTimeout, true},
		{"per-try timeout POST", "POST", context.Background(), true, route.Route{}, errPerTryTimeout, false},
		{"per-try timeout POST, retry_non_idempotent", "POST", context.Background(), true, route.Route{RetryNonIdempotent: true}, errPerTryTimeout, true},
		{"reset GET", "GET", context.Background(), true, route.Route{}, io.ErrUnexpectedEOF, true},
		{"reset POST", "POST", context.Background(), true, route.Route{}, io.ErrUnexpectedEOF, false},
		{"deadline GET", "GET", context.Background(), true, route.Route{}, fmt.Errorf("x: %w", context.DeadlineExceeded), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/", nil).WithContext(tt.ctx)
			a := &attempt{route: &tt.rt, replay: tt.replay}
			if got := (&retryTransport{}).retriable(a, req, tt.err); got != tt.want {
				t.Fatalf("retriable = %v, want %v", got, tt.want)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		ctx        context.Context
		err        error
		wantCode   int32 // 0: nothing is sent
		wantDetail string
	}{
		{"client left", goneCtx(), io.EOF, 0, ""},
		{"route timeout", timedOutCtx(), io.EOF, 504, "upstream s timed out"},
		{"deadline", context.Background(), fmt.Errorf("x: %w", context.DeadlineExceeded), 504, "upstream s timed out"},
		{"net timeout", context.Background(), &net.OpError{Op: "read", Err: timeoutErr{}}, 504, "upstream s timed out"},
		{"body too large", context.Background(), &http.MaxBytesError{Limit: 16}, 413, "request body larger than 16 bytes"},
		{"refused", context.Background(), &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, 502, "upstream s refused the connection"},
		{"reset", context.Background(), &net.OpError{Op: "read", Err: syscall.ECONNRESET}, 502, "upstream s reset the connection"},
		{"EOF", context.Background(), io.EOF, 502, "upstream s reset the connection"},
		{"unexpected EOF", context.Background(), io.ErrUnexpectedEOF, 502, "upstream s reset the connection"},
		{"other", context.Background(), os.ErrPermission, 502, "upstream s failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := classify(tt.ctx, tt.err, "s")
			if tt.wantCode == 0 {
				if e != nil {
					t.Fatalf("got %v, want nothing sent", e)
				}
				return
			}
			if e == nil || e.Id != apierr.ID || e.Code != tt.wantCode || e.Detail != tt.wantDetail {
				t.Fatalf("got %v, want %d %q", e, tt.wantCode, tt.wantDetail)
			}
		})
	}
}
