package gateway

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go-micro.dev/v4/registry"
)

type echo struct {
	NodeID    string `json:"node_id"`
	Path      string `json:"path"`
	Query     string `json:"query"`
	Method    string `json:"method"`
	Body      string `json:"body"`
	XFF       string `json:"xff"`
	RequestID string `json:"request_id"`
}

func echoOf(t testing.TB, code int, body string) echo {
	t.Helper()
	var e echo
	if code != 200 || json.Unmarshal([]byte(body), &e) != nil {
		t.Fatalf("%d %s", code, body)
	}
	return e
}

func TestProxy(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	h1 := startHTTP(t, reg, "greeter-http", "h1")
	startHTTP(t, reg, "greeter-http", "h2")
	startHTTP(t, reg, "flaky-http", "live")
	register(t, reg, "flaky-http", "dead", deadAddr(t), map[string]string{"protocol": "http"})
	g := newTestGateway(t, reg, `
routes:
  - {name: strip, path: /http, kind: proxy, service: greeter-http, strip_prefix: true, strategy: roundrobin}
  - {name: rewrite, path: /v1, kind: proxy, service: greeter-http, rewrite: /legacy, strategy: roundrobin}
  - {name: keep, path: /keep, kind: proxy, service: greeter-http, strategy: roundrobin}
  - {name: sticky, path: /sticky, kind: proxy, service: greeter-http, strategy: hash, hash_key: "cookie:session", strip_prefix: true}
  - {name: retry, path: /retry, kind: proxy, service: flaky-http, strategy: roundrobin, retries: 1, strip_prefix: true}
`)

	t.Run("paths", func(t *testing.T) {
		tests := []struct{ name, path, wantPath, wantQuery string }{
			{"strip", "/http/a/b?x=1", "/a/b", "x=1"},
			{"strip to root", "/http", "/", ""},
			{"rewrite", "/v1/a?y=2", "/legacy/a", "y=2"},
			{"keep", "/keep/a", "/keep/a", ""},
			{"dynamic HTTP service", "/greeter-http/a/b", "/a/b", ""},
			{"escaped", "/http/a%2Fb", "/a/b", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code, _, body := do(t, "GET", g.url+tt.path, "")
				e := echoOf(t, code, body)
				if e.Path != tt.wantPath || e.Query != tt.wantQuery {
					t.Fatalf("upstream got %q ? %q", e.Path, e.Query)
				}
			})
		}
	})
	t.Run("roundrobin", func(t *testing.T) {
		got := map[string]int{}
		for range 6 {
			code, _, body := do(t, "GET", g.url+"/http/x", "")
			got[echoOf(t, code, body).NodeID]++
		}
		if got["h1"] != 3 || got["h2"] != 3 {
			t.Fatalf("%v", got)
		}
	})
	t.Run("sticky cookie", func(t *testing.T) {
		for _, s := range []string{"a", "b", "c"} {
			first := ""
			for range 3 {
				code, _, body := do(t, "GET", g.url+"/sticky/x", "", "Cookie", "session="+s)
				n := echoOf(t, code, body).NodeID
				if first != "" && n != first {
					t.Fatalf("session %s moved", s)
				}
				first = n
			}
		}
	})
	t.Run("forwarded headers cannot be spoofed", func(t *testing.T) {
		code, _, body := do(t, "GET", g.url+"/http/x", "", "X-Forwarded-For", "6.6.6.6", "X-Request-Id", "fw-1")
		e := echoOf(t, code, body)
		if e.XFF != "127.0.0.1" || e.RequestID != "fw-1" {
			t.Fatalf("upstream saw XFF %q request id %q", e.XFF, e.RequestID)
		}
	})
	t.Run("retry on a different node, body replayed", func(t *testing.T) {
		for i := range 4 {
			code, _, body := do(t, "POST", g.url+"/retry/x", `{"n":1}`)
			e := echoOf(t, code, body)
			if e.NodeID != "live" || e.Body != `{"n":1}` {
				t.Fatalf("attempt %d: %+v", i, e)
			}
		}
	})
	t.Run("streaming is flushed as it arrives", func(t *testing.T) {
		rsp, err := http.Get(g.url + "/http/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer rsp.Body.Close()
		br := bufio.NewReader(rsp.Body)
		if _, err := br.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		first := time.Now()
		rest, _ := io.ReadAll(br)
		if strings.Count(string(rest), "\n") != 2 || time.Since(first) < 15*time.Millisecond {
			t.Fatalf("first line came with the rest (%v): %q", time.Since(first), rest)
		}
	})
	t.Run("websocket upgrade", func(t *testing.T) {
		conn := dial(t, g.addr)
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, "GET /sticky/ws HTTP/1.1\r\nHost: x\r\nCookie: session=a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
		br := bufio.NewReader(conn)
		rsp, err := http.ReadResponse(br, nil)
		if err != nil || rsp.StatusCode != 101 {
			t.Fatalf("%v %v", rsp, err)
		}
		io.WriteString(conn, "ping")
		buf := make([]byte, 64)
		n, err := br.Read(buf)
		if err != nil || !strings.HasSuffix(string(buf[:n]), ":ping") {
			t.Fatalf("echo %q %v", buf[:n], err)
		}
	})
	_ = h1
}
