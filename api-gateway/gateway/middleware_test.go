package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/internal/testutil"
)

// TestLayersFollowOrder checks the names of Layers, outermost first,
// against the order documented on Layers and in docs/gateway.md.
func TestLayersFollowOrder(t *testing.T) {
	g := newTestGateway(t, registry.NewMemoryRegistry(), "")
	order := []string{
		"request_id", "tracing", "access_log", "metrics", "recover", "route",
		"cors", "body_limit", "auth", "rate_limit", "timeout",
	}
	var names []string
	for _, l := range g.Layers() {
		if l.Wrap == nil {
			t.Fatalf("layer %s has no implementation", l.Name)
		}
		names = append(names, l.Name)
	}
	if !slices.Equal(names, order) {
		t.Fatalf("layers %v, want %v", names, order)
	}
}

func TestChainOutermostFirst(t *testing.T) {
	var trace []string
	layer := func(name string) Layer {
		return Layer{Name: name, Wrap: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				trace = append(trace, name+">")
				next.ServeHTTP(w, r)
				trace = append(trace, "<"+name)
			})
		}}
	}
	h := Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { trace = append(trace, "h") }), layer("a"), layer("b"), layer("c"))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	want := []string{"a>", "b>", "c>", "h", "<c", "<b", "<a"}
	if !slices.Equal(trace, want) {
		t.Fatalf("trace %v, want %v", trace, want)
	}
}

const orderYAML = `
cors: {allow_origins: ["https://app.example.com"], max_age: 1m}
auth: {api_keys: [{name: k, key: key-0123456789abcdef}]}
routes:
  - {name: guarded, path: /guarded, service: greeter, max_body_bytes: 32,
     auth: {mode: api_key}, rate_limit: {rps: 0.01, burst: 2}}
`

// TestMiddlewareOrder checks the consequences of the layer order on real requests.
func TestMiddlewareOrder(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	startGreeter(t, reg, "a", nil)
	g := newTestGateway(t, reg, orderYAML)
	origin := []string{"Origin", "https://app.example.com"}

	// cors before rate_limit and auth: preflights need no key and take no token.
	for range 3 {
		code, hdr, _ := do(t, "OPTIONS", g.url+"/guarded/hello", "", "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST")
		if code != 204 || hdr.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
			t.Fatalf("preflight: %d %v", code, hdr)
		}
	}
	// body_limit before rate_limit and auth: 413 without a key, no token taken.
	if code, _, _ := do(t, "POST", g.url+"/guarded/hello", `{"name":"`+strings.Repeat("x", 40)+`"}`); code != 413 {
		t.Fatalf("oversized: %d", code)
	}
	// auth before rate_limit (issue 11: the limiter counts the identity
	// auth established): unauthenticated requests take no token from the
	// bucket (burst 2), whose two tokens go to the keyed requests.
	for range 3 {
		if code, hdr, _ := do(t, "POST", g.url+"/guarded/hello", `{}`, origin...); code != 401 || hdr.Get("Access-Control-Allow-Origin") == "" {
			t.Fatalf("no key: %d, CORS %q (errors must carry CORS headers)", code, hdr.Get("Access-Control-Allow-Origin"))
		}
	}
	for i := range 2 {
		if code, _, _ := do(t, "POST", g.url+"/guarded/hello", `{}`, "X-API-Key", "key-0123456789abcdef"); code != 200 {
			t.Fatalf("with key %d: %d", i, code)
		}
	}
	if code, _, _ := do(t, "POST", g.url+"/guarded/hello", `{}`, "X-API-Key", "key-0123456789abcdef"); code != 429 {
		t.Fatalf("third: %d, want 429", code)
	}
	// request_id outermost: even a 404 for no method carries it.
	if _, hdr, _ := do(t, "GET", g.url+"/", ""); hdr.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id on a 404")
	}
	// An incoming request ID is kept, echoed and passed on as metadata.
	if _, hdr, _ := do(t, "GET", g.url+"/greeter/hello?name=x", "", "X-Request-Id", "req-42"); hdr.Get("X-Request-Id") != "req-42" {
		t.Fatalf("request id %q", hdr.Get("X-Request-Id"))
	}
}

// TestRecoverInsideLogAndMetrics panics below the chain: the client gets a
// 500 with the request id, and the access log and metrics (outside recover)
// record the 500.
func TestRecoverInsideLogAndMetrics(t *testing.T) {
	g := newTestGateway(t, registry.NewMemoryRegistry(), "")
	h := Chain(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), g.Layers()...)
	srv := httptest.NewServer(h)
	defer srv.Close()
	code, hdr, body := do(t, "GET", srv.URL+"/greeter/hello", "")
	e := microError(t, body)
	if code != 500 || e.Detail != "internal error; request id "+hdr.Get("X-Request-Id") {
		t.Fatalf("%d %s", code, body)
	}
	lines := g.logs.lines("request")
	if len(lines) != 1 || lines[0]["status"] != float64(500) {
		t.Fatalf("access log %v", lines)
	}
	if len(g.logs.lines("panic")) != 1 {
		t.Fatal("the panic was not logged")
	}
	if m := scrape(t, g); !strings.Contains(m, `microlb_gateway_requests_total{code="500",method="GET",node="",route="default",service=""} 1`) {
		t.Fatalf("metrics:\n%s", testutil.Grep(m, "microlb_gateway_requests_total"))
	}
}

func TestCORS(t *testing.T) {
	g := newTestGateway(t, registry.NewMemoryRegistry(), `
cors: {allow_origins: ["https://app.example.com", "https://*.example.org"], allow_headers: [Content-Type, X-User], expose_headers: [X-Request-Id], max_age: 10m}
routes:
  - {name: open, path: /open, service: s, cors: {allow_origins: ["*"]}}
`)
	tests := []struct {
		name, path, origin, method, headers string
		want                                int
		wantOrigin, wantHeaders             string
	}{
		{name: "allowed", path: "/greeter/hello", origin: "https://app.example.com", method: "POST", headers: "content-type, x-user", want: 204, wantOrigin: "https://app.example.com", wantHeaders: "content-type, x-user"},
		{name: "wildcard subdomain", path: "/greeter/hello", origin: "https://a.example.org", method: "GET", want: 204, wantOrigin: "https://a.example.org"},
		{name: "wildcard does not cross dots into paths", path: "/greeter/hello", origin: "https://evil.com/.example.org", method: "GET", want: 403},
		{name: "origin refused", path: "/greeter/hello", origin: "https://evil.com", method: "POST", want: 403},
		{name: "method refused", path: "/greeter/hello", origin: "https://app.example.com", method: "TRACE", want: 403},
		{name: "header refused", path: "/greeter/hello", origin: "https://app.example.com", method: "POST", headers: "X-Secret", want: 403},
		{name: "route policy star", path: "/open/x", origin: "https://anything.test", method: "GET", want: 204, wantOrigin: "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{"Origin", tt.origin, "Access-Control-Request-Method", tt.method}
			if tt.headers != "" {
				hdr = append(hdr, "Access-Control-Request-Headers", tt.headers)
			}
			code, h, body := do(t, "OPTIONS", g.url+tt.path, "", hdr...)
			if code != tt.want {
				t.Fatalf("%d, want %d: %s", code, tt.want, body)
			}
			if code != 204 {
				if h.Get("Access-Control-Allow-Origin") != "" {
					t.Fatal("refused preflight carries Access-Control-Allow-Origin")
				}
				return
			}
			if h.Get("Access-Control-Allow-Origin") != tt.wantOrigin || h.Get("Access-Control-Allow-Headers") != tt.wantHeaders {
				t.Fatalf("headers %v", h)
			}
			if tt.path == "/greeter/hello" && (h.Get("Access-Control-Max-Age") != "600" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST")) {
				t.Fatalf("headers %v", h)
			}
			if !slices.Contains(h.Values("Vary"), "Origin") {
				t.Fatalf("Vary %v", h.Values("Vary"))
			}
		})
	}
	// A simple request gets the expose list; a plain OPTIONS is not a preflight.
	_, h, _ := do(t, "GET", g.url+"/nosuch/x", "", "Origin", "https://app.example.com")
	if h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || h.Get("Access-Control-Expose-Headers") != "X-Request-Id" {
		t.Fatalf("simple request headers %v", h)
	}
	if code, _, _ := do(t, "OPTIONS", g.url+"/greeter/hello", ""); code == 204 {
		t.Fatalf("plain OPTIONS: %d", code)
	}
}

const jwtSecret = "0123456789abcdef0123456789abcdef"

func TestJWT(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	startGreeter(t, reg, "a", nil)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pubFile := filepath.Join(t.TempDir(), "jwt.pub")
	testutil.WriteFile(t, pubFile, pubPEM)
	g := newTestGateway(t, reg, `
auth:
  jwt: {hs256_secret: "`+jwtSecret+`", rs256_public_key_file: "`+pubFile+`", issuer: microlb-test, audience: gateway}
routes:
  - {name: jwt, path: /jwt, service: greeter, auth: {mode: jwt}}
  - {name: writers, path: /writers, service: greeter, auth: {mode: jwt, scopes: [greeter.write]}}
`)
	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "alice", "iss": "microlb-test", "aud": "gateway", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	hs := func(c jwt.MapClaims, secret string) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rs := func(c jwt.MapClaims, k *rsa.PrivateKey) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, claims(nil)).SignedString([]byte(jwtSecret))
	tests := []struct {
		name, path, token string
		want              int
		wantDetail        string
	}{
		{name: "HS256 accepted", path: "/jwt/hello", token: hs(claims(nil), jwtSecret), want: 200},
		{name: "RS256 accepted", path: "/jwt/hello", token: rs(claims(nil), rsaKey), want: 200},
		{name: "scope granted", path: "/writers/hello", token: hs(claims(func(c jwt.MapClaims) { c["scope"] = "greeter.read greeter.write" }), jwtSecret), want: 200},
		{name: "scope missing", path: "/writers/hello", token: hs(claims(func(c jwt.MapClaims) { c["scope"] = "greeter.read" }), jwtSecret), want: 403, wantDetail: `missing scope "greeter.write"`},
		{name: "alg none", path: "/jwt/hello", token: none, want: 401, wantDetail: "invalid token: signing method not accepted"},
		{name: "HS512 not configured", path: "/jwt/hello", token: hs512, want: 401, wantDetail: "invalid token: signing method not accepted"},
		{name: "wrong HS256 secret", path: "/jwt/hello", token: hs(claims(nil), "another-secret-another-secret!!"), want: 401, wantDetail: "invalid token: bad signature"},
		{name: "wrong RS256 key", path: "/jwt/hello", token: rs(claims(nil), otherKey), want: 401, wantDetail: "invalid token: bad signature"},
		{name: "HS256 signed with the RSA public key", path: "/jwt/hello", token: hs(claims(nil), string(pubPEM)), want: 401, wantDetail: "invalid token: bad signature"},
		{name: "expired", path: "/jwt/hello", token: hs(claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() }), jwtSecret), want: 401, wantDetail: "invalid token: expired"},
		{name: "missing exp", path: "/jwt/hello", token: hs(claims(func(c jwt.MapClaims) { delete(c, "exp") }), jwtSecret), want: 401, wantDetail: "invalid token: a required claim (exp) is missing"},
		{name: "not yet valid", path: "/jwt/hello", token: hs(claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }), jwtSecret), want: 401, wantDetail: "invalid token: not valid yet"},
		{name: "wrong issuer", path: "/jwt/hello", token: hs(claims(func(c jwt.MapClaims) { c["iss"] = "evil" }), jwtSecret), want: 401, wantDetail: "invalid token: wrong issuer"},
		{name: "wrong audience", path: "/jwt/hello", token: hs(claims(func(c jwt.MapClaims) { c["aud"] = "other" }), jwtSecret), want: 401, wantDetail: "invalid token: wrong audience"},
		{name: "malformed", path: "/jwt/hello", token: "abc.def", want: 401, wantDetail: "invalid token: malformed"},
		{name: "missing", path: "/jwt/hello", token: "", want: 401, wantDetail: "missing bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.token != "" {
				hdr = []string{"Authorization", "Bearer " + tt.token}
			}
			code, h, body := do(t, "POST", g.url+tt.path, `{"name":"jwt"}`, hdr...)
			if code != tt.want {
				t.Fatalf("%d, want %d: %s", code, tt.want, body)
			}
			if tt.want == 200 {
				return
			}
			if e := microError(t, body); e.Detail != tt.wantDetail || e.Id != "microlb.gateway" {
				t.Fatalf("detail %q, want %q", e.Detail, tt.wantDetail)
			}
			if tt.want == 401 && h.Get("WWW-Authenticate") != `Bearer realm="microlb"` {
				t.Fatalf("WWW-Authenticate %q", h.Get("WWW-Authenticate"))
			}
		})
	}
}
