package gateway

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/internal/testutil"
)

// statusCase is a request to path with the header pairs hdr, and the
// status it should get.
type statusCase struct {
	name, path string
	hdr        []string
	want       int
}

// The tests of issue 11 (secure by default). docs/security.md lists each
// attack with the test that proves it closed.

const guardsYAML = `
auth:
  api_keys: [{name: k, key: key-0123456789abcdef, scopes: [w]}, {name: r, key: read-0123456789abcdef}]
  jwt: {hs256_secret: "` + jwtSecret + `"}
routes:
  - {name: keyed, path: /secure/greeter, service: private.greeter, auth: {mode: api_key, scopes: [w]}}
  - {name: web, path: /secure/web, kind: proxy, service: private-http, strip_prefix: true, auth: {mode: jwt}}
  - {name: ns, path: /ns}
  - {name: nsjwt, path: /nsjwt, auth: {mode: jwt}}
`

// TestDefaultRouteGuards tries every less protected path to a service that
// a route with auth protects: the default route (service/method and
// service/handler/method forms, other letter case) and the configured
// routes that take the service from the path, with and without auth of
// their own. Each answers 401 (or 403 for a key without the scope) until
// the protecting route's credentials come along; an unprotected service
// stays open.
func TestDefaultRouteGuards(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	startGreeter(t, reg, "a", nil)
	startGreeterAs(t, reg, privateGreeter, "p", nil)
	startHTTP(t, reg, "private-http", "h1")
	g := newTestGateway(t, reg, guardsYAML)
	key := []string{"X-API-Key", "key-0123456789abcdef"}
	readKey := []string{"X-API-Key", "read-0123456789abcdef"}
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(jwtSecret))
	bearer := []string{"Authorization", "Bearer " + tok}
	both := append(append([]string{}, key...), bearer...)
	tests := []statusCase{
		// The front doors.
		{"keyed route without a key", "/secure/greeter/hello", nil, 401},
		{"keyed route with the key", "/secure/greeter/hello", key, 200},
		{"jwt proxy route without a token", "/secure/web/x", nil, 401},
		{"jwt proxy route with a token", "/secure/web/x", bearer, 200},
		// keyed × the default route.
		{"default route, service/method", "/private.greeter/hello", nil, 401},
		{"default route, service/handler/method", "/private.greeter/greeter/hello", nil, 401},
		{"default route, other case", "/PRIVATE.Greeter/hello", nil, 401},
		{"default route, key without the scope", "/private.greeter/hello", readKey, 403},
		{"default route, a JWT is not the key", "/private.greeter/hello", bearer, 401},
		{"default route with the key", "/private.greeter/hello", key, 200},
		// keyed × a path-named route without auth, and with auth of its own.
		{"path-named route", "/ns/private.greeter/hello", nil, 401},
		{"path-named route with the key", "/ns/private.greeter/hello", key, 200},
		{"path-named jwt route with a token only", "/nsjwt/private.greeter/hello", bearer, 401},
		{"path-named jwt route with the key only", "/nsjwt/private.greeter/hello", key, 401},
		{"path-named jwt route with both", "/nsjwt/private.greeter/hello", both, 200},
		// web (a proxy route, jwt) × the default route and a path-named route.
		{"HTTP service by the default route", "/private-http/x", nil, 401},
		{"HTTP service by the default route, key instead of token", "/private-http/x", key, 401},
		{"HTTP service by the default route with a token", "/private-http/x", bearer, 200},
		{"HTTP service by a path-named route", "/ns/private-http/x", nil, 401},
		{"HTTP service by a path-named route with a token", "/ns/private-http/x", bearer, 200},
		{"HTTP service by a path-named jwt route without a token", "/nsjwt/private-http/x", key, 401},
		{"HTTP service by a path-named jwt route with a token", "/nsjwt/private-http/x", bearer, 200},
		// An unprotected service stays open.
		{"open service", "/greeter/hello", nil, 200},
		{"open service by a path-named route", "/ns/greeter/hello", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := do(t, "GET", g.url+tt.path+"?name=x", "", tt.hdr...)
			if code != tt.want {
				t.Fatalf("%d, want %d: %s", code, tt.want, body)
			}
			if code != 200 && (microError(t, body).Code != int32(code) || hdr.Get("Content-Type") != "application/json") {
				t.Fatalf("not a go-micro error: %s", body)
			}
		})
	}
}

// TestForeignServicesUnpublished registers what is not a go-micro service
// and did not opt in as HTTP (Consul itself, a plain registration, a node
// with other metadata): the default route answers 404 as for an unknown
// name and never contacts it; an HTTP service with protocol: http is
// proxied, and a configured route may still name a foreign service.
func TestForeignServicesUnpublished(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	startGreeter(t, reg, "a", nil)
	var hits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `{"secret":"internal"}`)
	}))
	t.Cleanup(foreign.Close)
	addr := foreign.Listener.Addr().String()
	register(t, reg, "consul", "consul-1", addr, nil)
	register(t, reg, "vault", "vault-1", addr, map[string]string{"version": "1.15"})
	register(t, reg, "admin-ui", "ui-1", addr, map[string]string{"transport": "http", "server": "nginx"})
	register(t, reg, "named", "named-1", addr, nil)
	startHTTP(t, reg, "opted-in", "o1")
	g := newTestGateway(t, reg, "routes: [{name: named, path: /named, kind: proxy, service: named, strip_prefix: true}]")
	for _, p := range []string{"/consul/v1/agent/self", "/vault/x", "/admin-ui/", "/named/x", "/consul/hello"} {
		t.Run(p, func(t *testing.T) {
			code, _, body := do(t, "GET", g.url+"/"+strings.TrimPrefix(p, "/"), "")
			if p == "/named/x" { // the configured route
				if code != 200 {
					t.Fatalf("%d %s", code, body)
				}
				return
			}
			svc := strings.Split(p, "/")[1]
			if e := microError(t, body); code != 404 || e.Detail != "unknown service "+svc {
				t.Fatalf("%d %s, want 404 unknown service", code, body)
			}
		})
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("the foreign node got %d requests, want only the configured route's", n)
	}
	if code, _, body := do(t, "GET", g.url+"/opted-in/x", ""); code != 200 || !strings.Contains(body, `"node_id":"o1"`) {
		t.Fatalf("opted-in HTTP service: %d %s", code, body)
	}
	if code, _, body := do(t, "GET", g.url+"/greeter/hello?name=x", ""); code != 200 {
		t.Fatalf("go-micro service: %d %s", code, body)
	}
	// test-calls refuse a foreign service too.
	code, _, body := do(t, "POST", g.admin+"/admin/api/test-calls", `{"service":"consul","strategy":"random","n":1}`)
	if e := microError(t, body); code != 400 || !strings.Contains(e.Detail, "neither a go-micro service nor an HTTP service") {
		t.Fatalf("test-calls to consul: %d %s", code, body)
	}
}

// TestRegistryDownUnknownKind: while the registry cannot be asked, a
// service the catalog never saw might be anything, so the dynamic route
// answers 503 instead of calling it.
func TestRegistryDownUnknownKind(t *testing.T) {
	reg := &outageRegistry{Registry: registry.NewMemoryRegistry()}
	startGreeter(t, reg.Registry, "a", nil)
	g := newTestGateway(t, reg, "")
	reg.down.Store(true)
	code, _, body := do(t, "GET", g.url+"/greeter/hello?name=x", "")
	if e := microError(t, body); code != 503 || !strings.Contains(e.Detail, "registry unavailable") {
		t.Fatalf("%d %s, want 503", code, body)
	}
	// The metrics' service label never takes a raw path segment.
	for i := range 5 {
		do(t, "GET", g.url+fmt.Sprintf("/random-%d/hello", i), "")
	}
	if m := scrape(t, g); strings.Contains(m, "random-") || !strings.Contains(m, `microlb_gateway_requests_total{code="503",method="GET",node="",route="default",service=""} 6`) {
		t.Fatalf("metrics:\n%s", testutil.Grep(m, "microlb_gateway_requests_total"))
	}
}

// TestAdminHostAndOrigin: DNS rebinding (a foreign Host) gets 421, a
// cross-site POST (text/plain, or a foreign Origin) is refused before it
// starts anything, and test-calls run one at a time.
func TestAdminHostAndOrigin(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	startGreeter(t, reg, "a", nil)
	g := newTestGateway(t, reg, "admin_hosts: [gw.internal]")
	adminHost := strings.TrimPrefix(g.admin, "http://")
	_, port, _ := net.SplitHostPort(adminHost)
	run := `{"service":"greeter","strategy":"random","n":1}`
	json := "application/json"
	tests := []struct {
		name, method, path, host, ct, origin, body string
		want                                       int
		detail                                     string
	}{
		{"rebinding Host", "GET", "/admin/api/services", "attacker.example", "", "", "", 421, `does not answer to host "attacker.example"`},
		{"rebinding Host with port", "GET", "/admin/api/services", "attacker.example:" + port, "", "", "", 421, "does not answer to host"},
		{"rebinding Host on healthz", "GET", "/healthz", "attacker.example", "", "", "", 421, ""},
		{"rebinding Host on metrics", "GET", "/metrics", "evil.localhost.example", "", "", "", 421, ""},
		{"loopback address", "GET", "/admin/api/services", adminHost, "", "", "", 200, ""},
		{"localhost", "GET", "/admin/api/services", "localhost:" + port, "", "", "", 200, ""},
		{"IPv6 loopback", "GET", "/admin/api/services", "[::1]:" + port, "", "", "", 200, ""},
		{"an IP literal", "GET", "/healthz", "10.1.2.3:" + port, "", "", "", 200, ""},
		{"admin_hosts", "GET", "/admin/api/services", "gw.internal:" + port, "", "", "", 200, ""},
		{"admin_hosts, other case", "GET", "/healthz", "GW.Internal", "", "", "", 200, ""},
		{"cross-site text/plain POST", "POST", "/admin/api/test-calls", adminHost, "text/plain", "https://attacker.example", run, 415, "need Content-Type: application/json"},
		{"form POST", "POST", "/admin/api/test-calls", adminHost, "application/x-www-form-urlencoded", "", run, 415, ""},
		{"POST without a Content-Type", "POST", "/admin/api/test-calls", adminHost, "", "", run, 415, ""},
		{"JSON from a foreign Origin", "POST", "/admin/api/test-calls", adminHost, json, "https://attacker.example", run, 403, "cross-origin admin request refused"},
		{"JSON from a foreign port", "POST", "/admin/api/test-calls", adminHost, json, "http://127.0.0.1:1", run, 403, ""},
		{"JSON with Origin null", "POST", "/admin/api/test-calls", adminHost, json, "null", run, 403, ""},
		{"JSON, same origin", "POST", "/admin/api/test-calls", adminHost, json, "http://" + adminHost, run, 200, ""},
		{"JSON, no Origin", "POST", "/admin/api/test-calls", adminHost, json + "; charset=utf-8", "", run, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, g.admin+tt.path, strings.NewReader(tt.body))
			req.Host = tt.host
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			rsp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rsp.Body)
			rsp.Body.Close()
			if rsp.StatusCode != tt.want {
				t.Fatalf("%d, want %d: %s", rsp.StatusCode, tt.want, b)
			}
			if tt.want >= 400 {
				if e := microError(t, string(b)); int(e.Code) != tt.want || !strings.Contains(e.Detail, tt.detail) || rsp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("%s, want detail %q", b, tt.detail)
				}
			}
		})
	}

	// One run at a time: while one is under way, another gets 409.
	g.testRun.Store(true)
	code, _, body := do(t, "POST", g.admin+"/admin/api/test-calls", run)
	if e := microError(t, body); code != 409 || e.Code != 409 || !strings.Contains(e.Detail, "one at a time") {
		t.Fatalf("second run: %d %s", code, body)
	}
	g.testRun.Store(false)
	if code, _, body := do(t, "POST", g.admin+"/admin/api/test-calls", run); code != 200 {
		t.Fatalf("after the run: %d %s", code, body)
	}
	if code, _, body := do(t, "POST", g.admin+"/admin/api/test-calls", `{"service":"greeter","strategy":"random","n":10001}`); code != 400 {
		t.Fatalf("n over 10,000: %d %s", code, body)
	}
}

// TestAdminTokenStillRequired: the Host and Origin checks come on top of
// the bearer token, never instead of it.
func TestAdminTokenStillRequired(t *testing.T) {
	g := newTestGateway(t, registry.NewMemoryRegistry(), "admin_token: tok-0123456789")
	if code, _, body := do(t, "GET", g.admin+"/admin/api/services", ""); code != 401 {
		t.Fatalf("no token: %d %s", code, body)
	}
	if code, _, body := do(t, "GET", g.admin+"/admin/api/services", "", "Authorization", "Bearer tok-0123456789"); code != 200 {
		t.Fatalf("token: %d %s", code, body)
	}
}

// TestProxyHeaderHygiene sends the headers a client must not set for the
// upstream: the upstream sees the gateway's own values or nothing, and the
// credentials auth consumed only on a route with forward_credentials.
func TestProxyHeaderHygiene(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	headerEcho(t, reg, "echo-http")
	g := newTestGateway(t, reg, `
auth:
  api_keys: [{name: k, key: key-0123456789abcdef}]
  jwt: {hs256_secret: "`+jwtSecret+`"}
routes:
  - {name: open, path: /open, kind: proxy, service: echo-http, strip_prefix: true}
  - {name: keyed, path: /keyed, kind: proxy, service: echo-http, strip_prefix: true, auth: {mode: api_key}}
  - {name: jwt, path: /jwt, kind: proxy, service: echo-http, rewrite: /v1, auth: {mode: jwt}}
  - {name: fwd, path: /fwd, kind: proxy, service: echo-http, auth: {mode: any}, forward_credentials: true}
`)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(g.url, "http://"))
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(jwtSecret))
	spoof := []string{
		"X-Real-Ip", "6.6.6.6", "True-Client-Ip", "6.6.6.6", "X-Auth-Principal", "admin",
		"X-Forwarded-Prefix", "/evil", "X-Forwarded-Port", "6666",
	}
	with := func(hdr ...string) []string { return append(append([]string{}, spoof...), hdr...) }
	tests := []struct {
		name, path string
		hdr        []string
		want       map[string]string // header → value the upstream sees ("" absent)
	}{
		{"no auth", "/open/x", with("Authorization", "Basic upstream-own", "X-Api-Key", "upstream-own"), map[string]string{
			"X-Real-Ip": "127.0.0.1", "True-Client-Ip": "", "X-Auth-Principal": "", "X-Forwarded-Prefix": "/open", "X-Forwarded-Port": port,
			"Authorization": "Basic upstream-own", "X-Api-Key": "upstream-own"}},
		{"api key consumed", "/keyed/x", with("X-Api-Key", "key-0123456789abcdef"), map[string]string{
			"X-Real-Ip": "127.0.0.1", "True-Client-Ip": "", "X-Auth-Principal": "apikey:k", "X-Forwarded-Prefix": "/keyed", "X-Forwarded-Port": port,
			"X-Api-Key": "", "Authorization": ""}},
		{"api key in Authorization consumed", "/keyed/x", with("Authorization", "ApiKey key-0123456789abcdef"), map[string]string{
			"X-Auth-Principal": "apikey:k", "Authorization": ""}},
		{"JWT consumed", "/jwt/x", with("Authorization", "Bearer "+tok), map[string]string{
			"X-Auth-Principal": "jwt:alice", "Authorization": "", "X-Forwarded-Prefix": "/jwt"}},
		{"forward_credentials", "/fwd/x", with("Authorization", "Bearer "+tok), map[string]string{
			"X-Auth-Principal": "jwt:alice", "Authorization": "Bearer " + tok, "X-Forwarded-Prefix": "", "True-Client-Ip": ""}},
		{"forward_credentials, API key", "/fwd/x", with("X-Api-Key", "key-0123456789abcdef"), map[string]string{
			"X-Auth-Principal": "apikey:k", "X-Api-Key": "key-0123456789abcdef"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := do(t, "GET", g.url+tt.path, "", tt.hdr...)
			var e echoed
			if code != 200 || json.Unmarshal([]byte(body), &e) != nil {
				t.Fatalf("%d %s", code, body)
			}
			for k, v := range tt.want {
				if got := strings.Join(e.Headers.Values(k), ","); got != v {
					t.Errorf("upstream got %s %q, want %q", k, got, v)
				}
			}
			if strings.Contains(body, "6.6.6.6") || strings.Contains(body, "/evil") || strings.Contains(body, "6666") || strings.Contains(body, `"admin"`) {
				t.Errorf("a spoofed value reached the upstream: %s", body)
			}
		})
	}
}

// TestRateLimitByIdentity: by api_key and by principal count the identity
// that auth established. Random or invalid keys get 401 and take no token,
// so they cannot drain or dodge a bucket; each valid key or JWT subject
// has its own bucket, whatever token it comes with.
func TestRateLimitByIdentity(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	startGreeter(t, reg, "a", nil)
	startGreeterAs(t, reg, privateGreeter, "p", nil)
	g := newTestGateway(t, reg, `
auth:
  api_keys: [{name: k1, key: key1-0123456789abcdef}, {name: k2, key: key2-0123456789abcdef}]
  jwt: {hs256_secret: "`+jwtSecret+`"}
routes:
  - {name: bykey, path: /bykey, service: private.greeter, auth: {mode: api_key}, rate_limit: {rps: 0.01, burst: 1, by: api_key}}
  - {name: bysub, path: /bysub, service: private.greeter, auth: {mode: jwt}, rate_limit: {rps: 0.01, burst: 1, by: principal}}
  - {name: open, path: /open, service: greeter, rate_limit: {rps: 0.01, burst: 1, by: principal}}
`)
	sign := func(sub string, iat int64) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": sub, "iat": iat, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(jwtSecret))
		return s
	}
	now := time.Now().Unix()
	tests := []struct {
		path string
		hdr  []string
		want int
	}{
		{"/bykey/hello", []string{"X-API-Key", "random-1"}, 401},
		{"/bykey/hello", []string{"X-API-Key", "random-2"}, 401},
		{"/bykey/hello", []string{"X-API-Key", "key1-0123456789abcdef"}, 200},
		{"/bykey/hello", []string{"X-API-Key", "key1-0123456789abcdef"}, 429},
		{"/bykey/hello", []string{"Authorization", "ApiKey key1-0123456789abcdef"}, 429},
		{"/bykey/hello", []string{"X-API-Key", "random-3"}, 401},
		{"/bykey/hello", []string{"X-API-Key", "key2-0123456789abcdef"}, 200},
		{"/bysub/hello", []string{"Authorization", "Bearer " + sign("alice", now)}, 200},
		{"/bysub/hello", []string{"Authorization", "Bearer " + sign("alice", now-1)}, 429}, // another token, same subject
		{"/bysub/hello", []string{"Authorization", "Bearer " + sign("bob", now)}, 200},
		{"/open/hello", []string{"X-API-Key", "anything-1"}, 200},
		{"/open/hello", []string{"X-API-Key", "anything-2"}, 429}, // no auth: the client IP counts
	}
	for i, tt := range tests {
		code, _, body := do(t, "GET", g.url+tt.path+"?name=x", "", tt.hdr...)
		if code != tt.want {
			t.Fatalf("request %d %s %v: %d, want %d: %s", i, tt.path, tt.hdr[:1], code, tt.want, body)
		}
	}
}

// TestPreflightKeepsMethods: OPTIONS with preflight headers does not get
// past a route's methods: on a route without CORS it is a plain OPTIONS
// (405), and on a route with CORS a preflight for a method the route does
// not allow is refused (403); neither reaches the upstream.
func TestPreflightKeepsMethods(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	_, seen := headerEcho(t, reg, "echo-http")
	g := newTestGateway(t, reg, `
routes:
  - {name: ro, path: /ro, kind: proxy, service: echo-http, methods: [GET]}
  - {name: rocors, path: /rocors, kind: proxy, service: echo-http, methods: [GET], cors: {allow_origins: ["https://app.example"]}}
`)
	pre := []string{"Origin", "https://app.example", "Access-Control-Request-Method", "DELETE"}
	tests := []statusCase{
		{"preflight, no CORS", "/ro/x", pre, 405},
		{"plain OPTIONS, no CORS", "/ro/x", nil, 405},
		{"preflight for a method the route refuses", "/rocors/x", pre, 403},
		{"preflight for an allowed method", "/rocors/x", []string{"Origin", "https://app.example", "Access-Control-Request-Method", "GET"}, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, body := do(t, "OPTIONS", g.url+tt.path, "", tt.hdr...); code != tt.want {
				t.Fatalf("%d, want %d: %s", code, tt.want, body)
			}
		})
	}
	if got := seen(); len(got) != 0 {
		t.Fatalf("the upstream got %v", got)
	}
}

// TestPanicAfterStatusAborts: a panic after the status line went out cuts
// the connection, so that the client sees a broken body, not a short one
// that looks complete; the access log still has the request.
func TestPanicAfterStatusAborts(t *testing.T) {
	g := newTestGateway(t, registry.NewMemoryRegistry(), "")
	h := Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200) // chunked: ending the handler normally would end the body cleanly
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic("boom")
	}), g.Layers()...)
	srv := httptest.NewServer(h)
	srv.Config.ErrorLog = nil
	defer srv.Close()
	rsp, err := http.Get(srv.URL + "/greeter/hello")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rsp.Body)
	rsp.Body.Close()
	if rsp.StatusCode != 200 || string(b) != "partial" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("%d %q %v, want 200, the partial body and an unexpected EOF", rsp.StatusCode, b, err)
	}
	if lines := g.logs.lines("request"); len(lines) != 1 || lines[0]["status"] != float64(200) {
		t.Fatalf("access log %v", lines)
	}
	if len(g.logs.lines("panic")) != 1 {
		t.Fatal("the panic was not logged")
	}
}

// TestJSONErrorsLeaveBodiesAlone: an upstream whose body, flushed on its
// own, is exactly net/http's plain-text 400 reaches the client byte for
// byte; only net/http's own answers are rewritten.
func TestJSONErrorsLeaveBodiesAlone(t *testing.T) {
	const plain = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"
	reg := registry.NewMemoryRegistry()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(plain)))
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		time.Sleep(50 * time.Millisecond) // the gateway flushes the header on its own
		io.WriteString(w, plain)
	}))
	t.Cleanup(up.Close)
	register(t, reg, "mimic", "m1", up.Listener.Addr().String(), map[string]string{"protocol": "http"})
	g := newTestGateway(t, reg, "")
	for i := range 2 { // on a fresh connection and on a kept-alive one
		conn := dial(t, g.addr)
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		for j := range i + 1 {
			fmt.Fprintf(conn, "GET /mimic/x HTTP/1.1\r\nHost: x\r\n\r\n")
			rsp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rsp.Body)
			rsp.Body.Close()
			if rsp.StatusCode != 200 || string(b) != plain {
				t.Fatalf("connection %d request %d: %d %q, want the upstream's bytes", i, j, rsp.StatusCode, b)
			}
		}
		// net/http's own answer on the same connection is still JSON.
		fmt.Fprintf(conn, "GET /x HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
		rsp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rsp.Body)
		if e := microError(t, string(b)); rsp.StatusCode != 400 || e.Code != 400 {
			t.Fatalf("malformed request after a response: %d %s", rsp.StatusCode, b)
		}
		conn.Close()
	}
}

// TestOpenSideDoorWarned: a configured route without auth to a service
// that another configured route protects is served as written, with a
// warning at startup naming both.
func TestOpenSideDoorWarned(t *testing.T) {
	g := newTestGateway(t, registry.NewMemoryRegistry(), `
auth: {api_keys: [{name: k, key: key-0123456789abcdef}]}
routes:
  - {name: keyed, path: /keyed, service: greeter, auth: {mode: api_key}}
  - {name: open, path: /open, service: greeter}
  - {name: other, path: /other, service: other}
`)
	lines := g.logs.lines("a route without auth reaches a service that another route protects with auth")
	if len(lines) != 1 || lines[0]["route"] != "open" || lines[0]["protected_by"] != "keyed" || lines[0]["level"] != "WARN" {
		t.Fatalf("warnings %v", lines)
	}
}
