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
	"github.com/microlb/microlb/internal/testutil"
)

func TestUpstreamPath(t *testing.T) {
	type in struct {
		rt   route.Route
		path string
	}
	f := func(c in) [2]string {
		u, err := url.Parse(c.path)
		if err != nil {
			t.Fatal(err)
		}
		path, raw := UpstreamPath(&c.rt, u)
		return [2]string{path, raw}
	}
	api, strip, v2 := route.Route{Prefix: "/api"}, route.Route{Prefix: "/api", StripPrefix: true}, route.Route{Prefix: "/api", Rewrite: "/v2"}
	testutil.Table(t, "UpstreamPath", f,
		testutil.Row("kept", in{api, "/api/users"}, [2]string{"/api/users", ""}),
		testutil.Row("root prefix strips nothing", in{route.Route{Prefix: "/", StripPrefix: true}, "/users"}, [2]string{"/users", ""}),
		testutil.Row("stripped", in{strip, "/api/users"}, [2]string{"/users", ""}),
		testutil.Row("stripped to nothing", in{strip, "/api"}, [2]string{"/", ""}),
		testutil.Row("rewritten", in{v2, "/api/users"}, [2]string{"/v2/users", ""}),
		testutil.Row("rewritten, nothing left", in{v2, "/api"}, [2]string{"/v2", ""}),
		testutil.Row("rewritten to root", in{route.Route{Prefix: "/api", Rewrite: "/"}, "/api/users"}, [2]string{"/users", ""}),
		testutil.Row("escaped form follows", in{strip, "/api/a%2Fb"}, [2]string{"/a/b", "/a%2Fb"}),
		testutil.Row("escaped form rewritten", in{v2, "/api/a%2Fb"}, [2]string{"/v2/a/b", "/v2/a%2Fb"}),
		testutil.Row("escaped form kept", in{api, "/api/a%2Fb"}, [2]string{"/api/a/b", "/api/a%2Fb"}),
		testutil.Row("escaped prefix drops the escaped form", in{strip, "/%61pi/a%2Fb"}, [2]string{"/a/b", ""}))
}

func TestJoinPath(t *testing.T) {
	f := func(c [2]string) string { return joinPath(c[0], c[1]) }
	testutil.Table(t, "joinPath", f,
		testutil.Row("nothing", [2]string{"", ""}, "/"),
		testutil.Row("base only", [2]string{"/v2", ""}, "/v2"),
		testutil.Row("rest only", [2]string{"", "/x"}, "/x"),
		testutil.Row("root base", [2]string{"/", "/x"}, "/x"),
		testutil.Row("both", [2]string{"/v2", "/x"}, "/v2/x"))
}

func TestNodeScheme(t *testing.T) {
	f := func(md map[string]string) [2]string {
		n := &registry.Node{Id: "n", Address: "10.0.0.1:8080", Metadata: md}
		return [2]string{nodeScheme(n), nodeURL(n).String()}
	}
	https, plain := [2]string{"https", "https://10.0.0.1:8080"}, [2]string{"http", "http://10.0.0.1:8080"}
	testutil.Table(t, "nodeScheme", f,
		testutil.Row("no metadata", map[string]string(nil), plain),
		testutil.Row("scheme https", map[string]string{"scheme": "https"}, https),
		testutil.Row("protocol https", map[string]string{"protocol": "https"}, https),
		testutil.Row("protocol http", map[string]string{"protocol": "http"}, plain),
		testutil.Row("scheme HTTPS is not https", map[string]string{"scheme": "HTTPS"}, plain))
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
			if !isProxyError(err, int32(tt.code), tt.want) {
				t.Fatalf("statusError(%d) = %#v, want microlb.proxy %d %q", tt.code, err, tt.code, tt.want)
			}
		})
	}
}

// isProxyError reports whether err is, or wraps, the go-micro error of id
// microlb.proxy with code and detail.
func isProxyError(err error, code int32, detail string) bool {
	var me *merrors.Error
	return errors.As(err, &me) && me.Id == "microlb.proxy" && me.Code == code && me.Detail == detail
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
		if got := markError(timedOutCtx(), boom); !isProxyError(got, 408, "timeout") {
			t.Fatalf("got %#v, want a go-micro timeout", got)
		}
	})
}

func TestRefused(t *testing.T) {
	testutil.Table(t, "refused", refused,
		testutil.Row[error]("dial error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no route to host")}, true),
		testutil.Row("ECONNREFUSED", fmt.Errorf("wrapped: %w", syscall.ECONNREFUSED), true),
		testutil.Row[error]("read error", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, false),
		testutil.Row("EOF", io.EOF, false),
		testutil.Row("plain", errors.New("x"), false))
}

func TestRetriable(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name, method string
		ctx          context.Context
		replay       bool
		rt           route.Route
		err          error
		want         bool
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
		{"per-try timeout", context.Background(), errPerTryTimeout, 504, "upstream s timed out"},
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
