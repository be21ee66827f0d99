package gateway

import (
	"net/http"
	"strings"
	"testing"

	"go-micro.dev/v4/registry"
)

const errorsYAML = `
defaults: {retries: 0}
auth:
  api_keys:
    - {name: reader, key: read-key-0123456789, scopes: [r]}
    - {name: writer, key: write-key-0123456789, scopes: [w]}
routes:
  - {name: small, path: /small, service: greeter, max_body_bytes: 16}
  - {name: limited, path: /limited, service: greeter, rate_limit: {rps: 0.01, burst: 1}}
  - {name: keyed, path: /keyed, service: private.greeter, auth: {mode: api_key, scopes: [w]}}
  - {name: dead, path: /dead, kind: proxy, service: dead-http}
  - {name: gone, path: /gone, kind: proxy, service: nobody}
  - {name: gonerpc, path: /gonerpc, service: nobody}
  - {name: deadrpc, path: /deadrpc, service: dead-rpc}
  - {name: slow, path: /slow, service: greeter, timeout: 150ms}
  - {name: slowhttp, path: /slowhttp, kind: proxy, service: greeter-http, strip_prefix: true, timeout: 150ms}
  - {name: getonly, path: /getonly, kind: proxy, service: greeter-http, methods: [GET]}
`

// errorsFixture is one greeter node, one HTTP node, a dead HTTP node and a
// dead RPC node, behind a gateway configured with errorsYAML.
func errorsFixture(t *testing.T) *testGateway {
	reg := registry.NewMemoryRegistry()
	startGreeter(t, reg, "a", nil)
	startGreeterAs(t, reg, privateGreeter, "p", nil)
	startHTTP(t, reg, "greeter-http", "h1")
	register(t, reg, "dead-http", "dead-h", deadAddr(t), map[string]string{"protocol": "http"})
	register(t, reg, "dead-rpc", "dead-r", deadAddr(t), map[string]string{"protocol": "mucp", "server": "mucp"})
	return newTestGateway(t, reg, errorsYAML)
}

// TestErrorTable checks every row of the error table: the exact
// status, Content-Type application/json and the go-micro error body.
func TestErrorTable(t *testing.T) {
	g := errorsFixture(t)
	long := strings.Repeat("x", 64)
	tests := []struct {
		name, method, path, body string
		hdr                      []string
		want                     int
		wantID                   string // default microlb.gateway
		wantDetail               string // exact, or a prefix when it ends in "…"
		wantHeader               [2]string
	}{
		{name: "400 malformed JSON", method: "POST", path: "/greeter/hello", body: `{"name":`,
			want: 400, wantDetail: "malformed JSON at byte 8: unexpected end of JSON input"},
		{name: "400 wrong field type", method: "POST", path: "/greeter/hello", body: `{"name":5}`,
			want: 400, wantDetail: "request does not match Greeter.Hello: json: cannot unmarshal number into Go value of type string"},
		{name: "400 unknown field", method: "POST", path: "/greeter/hello", body: `{"nope":1}`,
			want: 400, wantDetail: `request does not match Greeter.Hello: unknown field "nope" in greeter.HelloRequest`},
		{name: "400 invalid UTF-8 body", method: "POST", path: "/greeter/hello", body: "{\"name\":\"\xff\"}",
			want: 400, wantDetail: "malformed JSON: the body is not valid UTF-8"},
		{name: "400 malformed query", method: "GET", path: "/greeter/hello?name=%zz",
			want: 400, wantDetail: "malformed query: invalid URL escape \"%zz\""},
		{name: "404 unknown service", method: "POST", path: "/nosuch/hello", body: `{}`,
			want: 404, wantDetail: "unknown service nosuch"},
		{name: "404 unknown method", method: "POST", path: "/greeter/nope", body: `{}`,
			want: 404, wantDetail: "unknown endpoint Greeter.Nope on service greeter"},
		{name: "404 unnamed method", method: "GET", path: "/greeter",
			want: 404, wantDetail: "no method in the path; use /{service}/{method} or /{service}/{handler}/{method}"},
		{name: "404 invalid UTF-8 path", method: "GET", path: "/greeter/h%FFllo",
			want: 404, wantDetail: "method \"h\uFFFDllo\" is not a valid method name"},
		{name: "405 RPC method", method: "PUT", path: "/greeter/hello", body: `{}`,
			want: 405, wantDetail: "method PUT not allowed for RPC", wantHeader: [2]string{"Allow", "GET, POST"}},
		{name: "405 route method", method: "DELETE", path: "/getonly/x",
			want: 405, wantDetail: "method DELETE not allowed on route getonly", wantHeader: [2]string{"Allow", "GET"}},
		{name: "413 declared length", method: "POST", path: "/small/hello", body: `{"name":"` + long + `"}`,
			want: 413, wantDetail: "request body larger than 16 bytes"},
		{name: "415 content type", method: "POST", path: "/greeter/hello", body: `<name>Bob</name>`, hdr: []string{"Content-Type", "application/xml"},
			want: 415, wantDetail: `unsupported Content-Type "application/xml": send application/json`},
		{name: "401 missing key", method: "POST", path: "/keyed/hello", body: `{}`,
			want: 401, wantDetail: "missing API key (X-API-Key header)", wantHeader: [2]string{"WWW-Authenticate", `ApiKey realm="microlb", header="X-API-Key"`}},
		{name: "401 wrong key", method: "POST", path: "/keyed/hello", body: `{}`, hdr: []string{"X-API-Key", "nope"},
			want: 401, wantDetail: "invalid API key"},
		{name: "403 missing scope", method: "POST", path: "/keyed/hello", body: `{}`, hdr: []string{"X-API-Key", "read-key-0123456789"},
			want: 403, wantDetail: `missing scope "w"`},
		{name: "200 with scope", method: "POST", path: "/keyed/hello", body: `{"name":"k"}`, hdr: []string{"X-API-Key", "write-key-0123456789"},
			want: 200},
		{name: "502 proxy refused", method: "GET", path: "/dead/x",
			want: 502, wantDetail: "upstream dead-http refused the connection"},
		{name: "502 rpc refused", method: "POST", path: "/deadrpc/hello", body: `{}`,
			want: 502, wantDetail: "upstream dead-rpc refused the connection"},
		{name: "503 proxy no node", method: "GET", path: "/gone/x",
			want: 503, wantDetail: "service nobody has no registered node"},
		{name: "503 rpc no node", method: "POST", path: "/gonerpc/hello", body: `{}`,
			want: 503, wantDetail: "service nobody has no registered node"},
		{name: "504 rpc timeout", method: "POST", path: "/slow/hello", body: `{"name":"slow"}`,
			want: 504, wantDetail: "upstream did not answer within 150ms"},
		{name: "504 proxy timeout", method: "GET", path: "/slowhttp/slow",
			want: 504, wantDetail: "upstream did not answer within 150ms"},
		{name: "handler 404", method: "POST", path: "/greeter/hello", body: `{"name":"notfound"}`,
			want: 404, wantID: "greeter.hello", wantDetail: "no such person"},
		{name: "handler 418", method: "POST", path: "/greeter/hello", body: `{"name":"teapot"}`,
			want: 418, wantID: "greeter.hello", wantDetail: "I am a teapot"},
		{name: "handler plain error", method: "POST", path: "/greeter/hello", body: `{"name":"plain"}`,
			want: 500, wantID: "greeter", wantDetail: "something broke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := do(t, tt.method, g.url+tt.path, tt.body, tt.hdr...)
			if code != tt.want {
				t.Fatalf("status %d, want %d; body %s", code, tt.want, body)
			}
			if h := tt.wantHeader; h[0] != "" && hdr.Get(h[0]) != h[1] {
				t.Fatalf("%s: %q, want %q", h[0], hdr.Get(h[0]), h[1])
			}
			if code == 200 {
				return
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			e := microError(t, body)
			wantID := tt.wantID
			if wantID == "" {
				wantID = "microlb.gateway"
			}
			if e.Id != wantID || int(e.Code) != tt.want || e.Status != http.StatusText(tt.want) {
				t.Fatalf("error %+v, want id %s code %d status %q", e, wantID, tt.want, http.StatusText(tt.want))
			}
			if p, ok := strings.CutSuffix(tt.wantDetail, "…"); ok && !strings.HasPrefix(e.Detail, p) || !ok && e.Detail != tt.wantDetail {
				t.Fatalf("detail %q, want %q", e.Detail, tt.wantDetail)
			}
		})
	}
}

func TestRateLimitedHasRetryAfter(t *testing.T) {
	g := errorsFixture(t)
	if code, _, body := do(t, "GET", g.url+"/limited/hello?name=a", ""); code != 200 {
		t.Fatalf("first request: %d %s", code, body)
	}
	code, hdr, body := do(t, "GET", g.url+"/limited/hello?name=a", "")
	if code != 429 || hdr.Get("Retry-After") != "100" || hdr.Get("X-RateLimit-Limit") != "0.01" || hdr.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("second request: %d %v", code, hdr)
	}
	if e := microError(t, body); e.Code != 429 || e.Detail != "rate limit exceeded; retry after 100s" || e.Status != "Too Many Requests" {
		t.Fatalf("body %+v", e)
	}
}

func TestUnknownRouteWithoutDefault(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	g := newTestGateway(t, reg, "disable_default_route: true\nroutes: [{path: /x, service: s}]")
	code, _, body := do(t, "GET", g.url+"/greeter/hello", "")
	if e := microError(t, body); code != 404 || e.Detail != `no route for "/greeter/hello"` || e.Id != "microlb.gateway" {
		t.Fatalf("%d %s", code, body)
	}
}

// TestHostileInput sends what must never panic nor be a 500.
func TestHostileInput(t *testing.T) {
	g := errorsFixture(t)
	huge := strings.Repeat("a", 128<<10)
	tests := []struct {
		name, req string
		want      int
	}{
		{"dot dot", "GET /greeter/../admin HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"encoded dot dot", "GET /greeter/%2e%2e/admin HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"encoded dot dot proxy", "GET /getonly/%2E%2E/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"huge header", "GET /greeter/hello HTTP/1.1\r\nHost: x\r\nX-Big: " + huge + "\r\n\r\n", 431},
		{"invalid UTF-8 path", "GET /\xff\xfe/hello HTTP/1.1\r\nHost: x\r\n\r\n", 404},
		{"empty body POST", "POST /greeter/hello HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n", 200},
		{"text body", "POST /greeter/hello HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", 415},
		{"form with JSON (curl -d)", "POST /greeter/hello HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 13\r\n\r\n{\"name\":\"Bo\"}", 200},
		{"form body", "POST /greeter/hello HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nname=Bo", 200},
		{"garbage content type", "POST /greeter/hello HTTP/1.1\r\nHost: x\r\nContent-Type: ;;;\r\nContent-Length: 2\r\n\r\n{}", 415},
		{"chunked over limit", "POST /small/hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n20\r\n" + strings.Repeat("a", 32) + "\r\n0\r\n\r\n", 413},
		{"odd method", "BREW /greeter/hello HTTP/1.1\r\nHost: x\r\n\r\n", 405},
		{"bad request id", "GET /greeter/hello?name=x HTTP/1.1\r\nHost: x\r\nX-Request-Id: a b\xff\r\n\r\n", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exchange(t, g.addr, tt.req, 1)
			if len(got) != 1 {
				t.Fatal("no answer (dropped connection?)")
			}
			if got[0].code != tt.want {
				t.Fatalf("status %d, want %d: %s", got[0].code, tt.want, got[0].body)
			}
		})
	}
	if strings.Contains(g.logs.String(), `"msg":"panic"`) {
		t.Fatalf("a request panicked:\n%s", g.logs.String())
	}
}
