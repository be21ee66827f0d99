package gateway

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-micro/plugins/v4/registry/consul"
	"github.com/golang-jwt/jwt/v5"
	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/internal/consultest"
)

func waitNodes(t *testing.T, reg registry.Registry, name string, n int) []*registry.Node {
	t.Helper()
	var nodes []*registry.Node
	deadline := time.Now().Add(20 * time.Second)
	for {
		nodes = nodes[:0]
		svcs, _ := reg.GetService(name)
		for _, s := range svcs {
			nodes = append(nodes, s.Nodes...)
		}
		if len(nodes) == n {
			return nodes
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d nodes, want %d", name, len(nodes), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const e2eYAML = `
defaults: {retries: 0}
cors: {allow_origins: ["http://localhost:3000"]}
auth:
  api_keys: [{name: demo, key: demo-key-0123456789, scopes: [greeter.read]}]
  jwt: {hs256_secret: "` + jwtSecret + `"}
routes:
  - {name: rr, path: /rr, service: greeter, strategy: roundrobin, retries: 2}
  - {name: once, path: /once, service: greeter, strategy: roundrobin}
  - {name: wrr, path: /wrr, service: greeter, strategy: weighted}
  - {name: random, path: /random, service: greeter, strategy: random}
  - {name: ll, path: /ll, service: greeter, strategy: leastloaded}
  - {name: hash, path: /hash, service: greeter, strategy: hash, hash_key: "header:X-User"}
  - {name: http, path: /http, kind: proxy, service: greeter-http, strip_prefix: true, strategy: roundrobin, retries: 2}
  - {name: legacy, path: /v1, kind: proxy, service: greeter-http, rewrite: /legacy, strategy: weighted}
  - {name: small, path: /small, service: greeter, max_body_bytes: 16}
  - {name: limited, path: /limited, service: greeter, rate_limit: {rps: 0.01, burst: 2}}
  - {name: keyed, path: /keyed, service: private.greeter, auth: {mode: api_key, scopes: [greeter.write]}}
  - {name: jwt, path: /jwt, service: private.greeter, auth: {mode: jwt}}
  - {name: missing, path: /missing, service: nobody}
  - {name: slow, path: /slow, service: slowgreeter, timeout: 150ms}
  - {name: failer, path: /failer, service: failer}
`

// TestE2E runs the gateway against real producers registered in a real
// Consul: every route kind and strategy, the error table, streaming, CORS,
// rate limiting, JWT, metrics, and retries after kill -9.
func TestE2E(t *testing.T) {
	agent := consultest.Start(t)
	needProducer(t)
	reg := consul.NewRegistry(registry.Addrs(agent.Addr))
	var ps []*producer
	for i, w := range []string{"1", "2", "3"} {
		ps = append(ps, startProducer(t, agent.Addr, "--weight", w, "--zone", fmt.Sprint("z", i%2), "--version", "v1"))
	}
	startProducer(t, agent.Addr, "--server_name", "slowgreeter", "--latency", "400ms")
	startProducer(t, agent.Addr, "--server_name", "failer", "--fail_rate", "1")
	// Routes with auth protect private.greeter, so the dynamic route guards
	// it and greeter stays open (issue 11).
	startProducer(t, agent.Addr, "--server_name", "private.greeter")
	greeters := waitNodes(t, reg, "greeter", 3)
	waitNodes(t, reg, "greeter-http", 3)
	waitNodes(t, reg, "slowgreeter", 1)
	waitNodes(t, reg, "failer", 1)
	waitNodes(t, reg, "private.greeter", 1)
	g := newTestGateway(t, reg, e2eYAML)

	hello := func(path string, hdr ...string) string {
		code, _, body := do(t, "GET", g.url+path, "", hdr...)
		return nodeOf(t, code, body)
	}
	t.Run("strategies", func(t *testing.T) {
		rr := map[string]int{}
		for range 30 {
			rr[hello("/rr/hello?name=e2e")]++
		}
		if len(rr) != 3 || rr[greeters[0].Id] != 10 || rr[greeters[1].Id] != 10 {
			t.Fatalf("roundrobin %v", rr)
		}
		wrr := map[string]int{}
		for range 60 {
			wrr[hello("/wrr/hello?name=e2e")]++
		}
		counts := []int{}
		for _, n := range wrr {
			counts = append(counts, n)
		}
		if len(wrr) != 3 || !(contains(counts, 10) && contains(counts, 20) && contains(counts, 30)) {
			t.Fatalf("weighted %v, want 10/20/30", wrr)
		}
		for _, p := range []string{"/random/hello?name=e2e", "/ll/hello?name=e2e"} {
			seen := map[string]int{}
			for range 30 {
				seen[hello(p)]++
			}
			if len(seen) < 2 {
				t.Fatalf("%s used %v", p, seen)
			}
		}
		for i := range 5 {
			u := fmt.Sprint("user-", i)
			first := hello("/hash/hello", "X-User", u)
			for range 3 {
				if n := hello("/hash/hello", "X-User", u); n != first {
					t.Fatalf("%s moved from %s to %s", u, first, n)
				}
			}
		}
		// The dynamic route: no configuration needed.
		hello("/greeter/hello?name=dynamic")
		hello("/greeter/greeter/hello?name=dynamic")
	})
	t.Run("proxy", func(t *testing.T) {
		seen := map[string]bool{}
		for range 6 {
			code, _, body := do(t, "GET", g.url+"/http/whoami", "")
			var e struct {
				NodeID string `json:"node_id"`
				Path   string `json:"path"`
			}
			if code != 200 || jsonDecode(body, &e) != nil || e.Path != "/whoami" {
				t.Fatalf("%d %s", code, body)
			}
			seen[e.NodeID] = true
		}
		if len(seen) != 3 {
			t.Fatalf("roundrobin proxy reached %v", seen)
		}
		if code, _, body := do(t, "GET", g.url+"/v1/x", ""); code != 200 || !strings.Contains(body, `"path":"/legacy/x"`) {
			t.Fatalf("rewrite: %d %s", code, body)
		}
		if code, _, body := do(t, "GET", g.url+"/greeter-http/y", ""); code != 200 || !strings.Contains(body, `"path":"/y"`) {
			t.Fatalf("dynamic proxy: %d %s", code, body)
		}
	})
	t.Run("streaming", func(t *testing.T) {
		rsp := openSSE(t, g.url+"/greeter/stream?name=s&count=3")
		readSeqEvents(t, bufio.NewReader(rsp.Body), 3, "")
		rsp.Body.Close()
		code, hdr, body := do(t, "POST", g.url+"/greeter/stream", `{"name":"n","count":2}`)
		if code != 200 || hdr.Get("Content-Type") != "application/x-ndjson" || strings.Count(body, "\n") != 2 {
			t.Fatalf("ndjson: %d %q", code, body)
		}
		code, _, body = do(t, "GET", g.url+"/http/stream?n=3", "")
		if code != 200 || strings.Count(body, "\n") != 3 {
			t.Fatalf("proxied stream: %d %q", code, body)
		}
	})
	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name, method, path, body string
			hdr                      []string
			want                     int
			gateway                  bool // the error's id is microlb.gateway
		}{
			{"400 malformed JSON", "POST", "/greeter/hello", `{"name"`, nil, 400, true},
			{"400 wrong type", "POST", "/greeter/hello", `{"name":5}`, nil, 400, true},
			{"404 unknown service", "GET", "/nosuch/hello", "", nil, 404, true},
			{"404 unknown method", "GET", "/greeter/nope", "", nil, 404, true},
			{"405 method", "DELETE", "/greeter/hello", "", nil, 405, true},
			{"413 body", "POST", "/small/hello", `{"name":"0123456789abcdef"}`, nil, 413, true},
			{"401 no key", "GET", "/keyed/hello", "", nil, 401, true},
			{"403 scope", "GET", "/keyed/hello", "", []string{"X-API-Key", "demo-key-0123456789"}, 403, true},
			{"503 no node", "GET", "/missing/hello", "", nil, 503, true},
			{"504 timeout", "GET", "/slow/greeter/hello", "", nil, 504, true},
			{"handler's own code", "GET", "/failer/greeter/hello", "", nil, 500, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code, hdr, body := do(t, tt.method, g.url+tt.path, tt.body, tt.hdr...)
				e := microError(t, body)
				if code != tt.want || int(e.Code) != tt.want || hdr.Get("Content-Type") != "application/json" || (e.Id == "microlb.gateway") != tt.gateway {
					t.Fatalf("%d %v %s", code, hdr, body)
				}
			})
		}
		// 429 after the burst of 2.
		for i := range 3 {
			code, hdr, _ := do(t, "GET", g.url+"/limited/hello", "")
			if i < 2 && code != 200 || i == 2 && (code != 429 || hdr.Get("Retry-After") == "") {
				t.Fatalf("request %d: %d", i, code)
			}
		}
	})
	t.Run("CORS preflight", func(t *testing.T) {
		code, hdr, _ := do(t, "OPTIONS", g.url+"/keyed/hello", "", "Origin", "http://localhost:3000", "Access-Control-Request-Method", "GET")
		if code != 204 || hdr.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
			t.Fatalf("%d %v", code, hdr)
		}
		if code, _, _ := do(t, "OPTIONS", g.url+"/keyed/hello", "", "Origin", "http://evil.test", "Access-Control-Request-Method", "GET"); code != 403 {
			t.Fatalf("foreign origin: %d", code)
		}
	})
	t.Run("JWT", func(t *testing.T) {
		good, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "e2e", "exp": time.Now().Add(time.Minute).Unix()}).SignedString([]byte(jwtSecret))
		expired, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "e2e", "exp": time.Now().Add(-time.Minute).Unix()}).SignedString([]byte(jwtSecret))
		none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "e2e", "exp": time.Now().Add(time.Minute).Unix()}).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if code, _, body := do(t, "GET", g.url+"/jwt/hello?name=j", "", "Authorization", "Bearer "+good); code != 200 {
			t.Fatalf("valid token: %d %s", code, body)
		}
		for _, tok := range []string{expired, none, good + "x"} {
			if code, _, _ := do(t, "GET", g.url+"/jwt/hello", "", "Authorization", "Bearer "+tok); code != 401 {
				t.Fatalf("bad token accepted: %d", code)
			}
		}
	})
	t.Run("metrics after traffic", func(t *testing.T) {
		m := scrape(t, g)
		for _, want := range []string{
			`microlb_gateway_requests_total{code="200",method="GET",node="` + greeters[0].Id + `",route="rr",service="greeter"} 10`,
			`microlb_gateway_requests_total{code="504",method="GET",node=`,
			`microlb_gateway_requests_total{code="429",method="GET",node="",route="limited",service="greeter"} 1`,
			`microlb_selector_picks_total{node="` + greeters[0].Id + `",service="greeter",strategy="roundrobin"}`,
			`microlb_gateway_request_duration_seconds_bucket{code="200",route="wrr",service="greeter",le="+Inf"} 60`,
		} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	t.Run("retries after kill -9", func(t *testing.T) {
		ps[2].kill9(t) // still registered: Consul's TTL has not run out
		retried, noRetry502 := 0, 0
		for range 9 {
			code, _, body := do(t, "GET", g.url+"/rr/hello?name=k", "")
			nodeOf(t, code, body)
		}
		for _, l := range g.logs.lines("request") {
			if l["route"] == "rr" && l["attempts"].(float64) >= 2 && l["status"] == float64(200) {
				retried++
			}
		}
		for range 6 {
			if code, _, _ := do(t, "GET", g.url+"/once/hello?name=k", ""); code == 502 {
				noRetry502++
			}
		}
		if retried == 0 {
			t.Fatal("no request was retried on another node after kill -9")
		}
		if noRetry502 == 0 {
			t.Log("the dead node was already ejected for /once (no 502 seen)")
		}
		// Every answer after the kill came from a live node.
		code, _, body := do(t, "GET", g.admin+"/admin/api/services", "")
		if code != 200 || !strings.Contains(body, `"name": "greeter"`) {
			t.Fatalf("services: %d", code)
		}
	})
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func jsonDecode(s string, v any) error { return jsonUnmarshal([]byte(s), v) }
