package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/api-gateway/proxy"
	"github.com/microlb/microlb/internal/configtest"
	"github.com/microlb/microlb/internal/testutil"
)

// headerEcho is an HTTP node that answers with every request header it got,
// its request line and its Host, registered as service name.
func headerEcho(t *testing.T, reg registry.Registry, name string) (addr string, seen func() []string) {
	t.Helper()
	var mu sync.Mutex
	var lines []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		lines = append(lines, r.Method+" "+r.RequestURI)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"headers": r.Header, "host": r.Host, "uri": r.RequestURI})
	}))
	t.Cleanup(srv.Close)
	addr = srv.Listener.Addr().String()
	register(t, reg, name, name+"-1", addr, map[string]string{"protocol": "http"})
	return addr, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(lines)
	}
}

type echoed struct {
	Headers http.Header `json:"headers"`
	Host    string      `json:"host"`
	URI     string      `json:"uri"`
}

// dialRecorder is the proxy's transport with every dialled address noted.
type dialRecorder struct {
	mu    sync.Mutex
	addrs []string
}

func (d *dialRecorder) transport() *http.Transport {
	tr := proxy.NewTransport()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		d.mu.Lock()
		d.addrs = append(d.addrs, addr)
		d.mu.Unlock()
		return dial(ctx, network, addr)
	}
	return tr
}

func (d *dialRecorder) dialled() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.addrs)
}

// TestForwardedHeadersStripped sends spoofed forwarding headers from an
// untrusted client: the proxied backend sees only what the gateway set
// (X-Forwarded-For is the client's address, X-Forwarded-Host the Host it
// asked for), the RPC backend's metadata carries the client's address, and
// the rate limiter counts the client, not the address it claims.
func TestForwardedHeadersStripped(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	a := startGreeter(t, reg, "a", nil)
	headerEcho(t, reg, "echo-http")
	g := newTestGateway(t, reg, `
routes:
  - {name: web, path: /web, kind: proxy, service: echo-http, strip_prefix: true}
  - {name: limited, path: /limited, kind: proxy, service: echo-http, strip_prefix: true, rate_limit: {rps: 0.01, burst: 1}}
`)
	spoof := []string{
		"X-Forwarded-For", "6.6.6.6",
		"X-Forwarded-Host", "evil.example",
		"X-Forwarded-Proto", "https",
		"Forwarded", "for=6.6.6.6;host=evil.example;proto=https",
		"X-Request-Id", "sec-1",
	}
	code, _, body := do(t, "GET", g.url+"/web/x", "", spoof...)
	var e echoed
	if code != 200 || json.Unmarshal([]byte(body), &e) != nil {
		t.Fatalf("%d %s", code, body)
	}
	host := strings.TrimPrefix(g.url, "http://")
	want := map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Host": host, "X-Forwarded-Proto": "http", "Forwarded": ""}
	for k, v := range want {
		if got := strings.Join(e.Headers.Values(k), ","); got != v {
			t.Errorf("backend got %s %q, want %q", k, got, v)
		}
	}
	if strings.Contains(body, "6.6.6.6") || strings.Contains(body, "evil.example") {
		t.Errorf("a spoofed value reached the backend: %s", body)
	}

	// RPC: the metadata says who asked, whatever the client claims.
	code, _, body = do(t, "GET", g.url+"/greeter/hello?name=x", "", spoof...)
	nodeOf(t, code, body)
	v, _ := a.md.Load("sec-1")
	md, _ := v.(metadata.Metadata)
	if md["X-Forwarded-For"] != "127.0.0.1" || md["X-Forwarded-Host"] != "" || md["Forwarded"] != "" {
		t.Errorf("RPC metadata %v", md)
	}

	// The rate limiter: a new X-Forwarded-For per request buys no new bucket.
	for i, xff := range []string{"1.1.1.1", "2.2.2.2"} {
		code, _, body := do(t, "GET", g.url+"/limited/x", "", "X-Forwarded-For", xff)
		if want := []int{200, 429}[i]; code != want {
			t.Fatalf("request %d from %s: %d, want %d: %s", i, xff, code, want, body)
		}
	}
	for _, l := range g.logs.lines("request") {
		if l["client_ip"] != "127.0.0.1" {
			t.Errorf("access log client_ip %v, want the peer 127.0.0.1", l["client_ip"])
		}
	}
}

// TestTrustedProxies configures 127.0.0.0/8 as a trusted proxy: its
// X-Forwarded-For is believed (the right-most address that is not a trusted
// proxy is the client), so each client gets its own rate-limit bucket and
// the backend sees the chain with the proxy appended; addresses to the left
// of the client's, which the client itself could have written, change
// nothing.
func TestTrustedProxies(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	headerEcho(t, reg, "echo-http")
	g := newTestGateway(t, reg, `
server: {trusted_proxies: [127.0.0.0/8, "::1/128"]}
routes:
  - {name: limited, path: /limited, kind: proxy, service: echo-http, strip_prefix: true, rate_limit: {rps: 0.01, burst: 1}}
`)
	tests := []struct {
		xff      string
		want     int
		wantXFF  string
		clientIP string
	}{
		{"1.1.1.1", 200, "1.1.1.1, 127.0.0.1", "1.1.1.1"},
		{"2.2.2.2", 200, "2.2.2.2, 127.0.0.1", "2.2.2.2"},
		{"1.1.1.1", 429, "", "1.1.1.1"},
		{"9.9.9.9, 1.1.1.1", 429, "", "1.1.1.1"}, // a spoofed hop to the left: still client 1.1.1.1
		{"3.3.3.3, 127.0.0.5", 200, "3.3.3.3, 127.0.0.5, 127.0.0.1", "3.3.3.3"},
		{"not-an-ip", 200, "", "127.0.0.1"}, // garbage: the peer is the client
	}
	for i, tt := range tests {
		code, _, body := do(t, "GET", g.url+"/limited/x", "", "X-Forwarded-For", tt.xff)
		if code != tt.want {
			t.Fatalf("request %d (XFF %q): %d, want %d: %s", i, tt.xff, code, tt.want, body)
		}
		if tt.wantXFF != "" {
			var e echoed
			json.Unmarshal([]byte(body), &e)
			if got := e.Headers.Get("X-Forwarded-For"); got != tt.wantXFF {
				t.Errorf("request %d: backend got X-Forwarded-For %q, want %q", i, got, tt.wantXFF)
			}
		}
	}
	lines := g.logs.lines("request")
	for i, tt := range tests {
		if lines[i]["client_ip"] != tt.clientIP {
			t.Errorf("request %d (XFF %q): client_ip %v, want %s", i, tt.xff, lines[i]["client_ip"], tt.clientIP)
		}
	}
}

// TestNotAnOpenProxy checks that only services in the registry are
// reachable: an absolute URL or a Host header naming another host is routed
// by its path like any request, a name that is not a registry service is a
// 404, and the proxy's transport dials nothing but registered nodes.
func TestNotAnOpenProxy(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	startGreeter(t, reg, "a", nil)
	echoAddr, seen := headerEcho(t, reg, "echo-http")
	dials := &dialRecorder{}
	g := newGatewayWith(t, reg, "", func(o *Options) { o.HTTPTransport = dials.transport() })
	tests := []struct {
		name, req string
		want      int
		detail    string
	}{
		{"absolute URL", "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n", 404, "no service in the path"},
		{"absolute URL with a path", "GET http://example.com/index.html HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n", 404, "unknown service index.html"},
		{"absolute URL to the admin port", "GET http://127.0.0.1:8081/metrics HTTP/1.1\r\nHost: 127.0.0.1:8081\r\nConnection: close\r\n\r\n", 404, "unknown service metrics"},
		{"host as the first segment", get1("/example.com/x"), 404, "unknown service example.com"},
		{"loopback address as the first segment", get1("/127.0.0.1:22/x"), 404, "not a valid service name"},
		{"CONNECT tunnel", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 404, "no route"},
		{"https absolute URL", "GET https://example.com/echo-http/x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n", 200, ""},
		{"Host header of another site", get1("/echo-http/y", "X-Forwarded-Host: evil.example\r\n"), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exchange(t, g.addr, strings.Replace(tt.req, "Host: x\r\n", "Host: example.com\r\n", 1), 1)
			if len(got) != 1 {
				t.Fatal("no answer")
			}
			checkError(t, got[0], tt.want, tt.detail)
			if tt.want == 200 {
				var e echoed
				json.Unmarshal([]byte(got[0].body), &e)
				// The node is addressed by its own address; X-Forwarded-Host
				// tells it which Host the client asked for, nothing more.
				if e.Host != echoAddr || e.Headers.Get("X-Forwarded-Host") != "example.com" || strings.Contains(got[0].body, "evil.example") {
					t.Fatalf("the backend saw Host %q: %s", e.Host, got[0].body)
				}
			}
		})
	}
	for _, a := range dials.dialled() {
		if a != echoAddr {
			t.Errorf("the proxy dialled %s, which is not a registered node", a)
		}
	}
	for _, l := range seen() {
		if strings.Contains(l, "example.com") || !strings.HasPrefix(l, "GET /") {
			t.Errorf("the backend got %q", l)
		}
	}
	if len(seen()) != 2 {
		t.Errorf("the backend got %v, want the two requests for echo-http", seen())
	}
}

// TestAdminListenerDefaults checks that the admin listener binds a
// loopback address unless told otherwise, that the gateway warns when it
// is told otherwise without a token, and that the token is required.
func TestAdminListenerDefaults(t *testing.T) {
	cfg, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	host, _, err := net.SplitHostPort(cfg.AdminAddress)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		t.Fatalf("default admin_address %q is not a loopback address", cfg.AdminAddress)
	}
	if !isLoopback(&net.TCPAddr{IP: net.IPv6loopback}) || isLoopback(&net.TCPAddr{IP: net.IPv4zero}) || isLoopback(&net.TCPAddr{IP: net.ParseIP("10.1.2.3")}) {
		t.Fatal("isLoopback")
	}

	serve := func(yaml string, adm net.Listener) string {
		t.Helper()
		cfg, _ := config.Parse([]byte(yaml))
		logs := &syncBuffer{}
		g, err := New(Options{Config: cfg, Registry: registry.NewMemoryRegistry(), Logger: slog.New(slog.NewJSONHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := net.Listen("tcp", "127.0.0.1:0")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- g.Serve(ctx, pub, adm) }()
		waitFor(t, "the listening line", func() bool { return len(logs.lines("api-gateway listening")) == 1 })
		cancel()
		<-done
		return logs.String()
	}
	lo, _ := net.Listen("tcp", "127.0.0.1:0")
	if out := serve("", lo); strings.Contains(out, "not on a loopback address") {
		t.Errorf("warned about a loopback admin listener:\n%s", out)
	}
	exposed, _ := net.Listen("tcp", "127.0.0.1:0")
	if out := serve("", fakeAddrListener{exposed, &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 8081}}); !strings.Contains(out, "not on a loopback address and has no admin_token") {
		t.Errorf("no warning for an exposed admin listener without a token:\n%s", out)
	}
	exposed, _ = net.Listen("tcp", "127.0.0.1:0")
	if out := serve("admin_token: tok-0123456789", fakeAddrListener{exposed, &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 8081}}); strings.Contains(out, "not on a loopback address") {
		t.Errorf("warned although a token is set:\n%s", out)
	}

	// The token: see also TestAdminToken.
	g := newTestGateway(t, registry.NewMemoryRegistry(), "admin_token: tok-0123456789")
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "tok-0123456789"}, {"Authorization", "Basic tok-0123456789"}} {
		code, h, body := do(t, "GET", g.admin+"/admin/api/services?token=tok-0123456789", "", hdr...)
		if e := microError(t, body); code != 401 || e.Code != 401 || h.Get("Content-Type") != "application/json" || h.Get("WWW-Authenticate") == "" {
			t.Errorf("%v: %d %s", hdr, code, body)
		}
	}
}

// fakeAddrListener reports another address than the one it listens on.
type fakeAddrListener struct {
	net.Listener
	addr net.Addr
}

func (l fakeAddrListener) Addr() net.Addr { return l.addr }

// TestSecretsNotLogged runs the auth paths (good and bad API keys, good,
// bad and expired JWTs, the admin token, Authorization on proxied and
// failing requests) and the startup of a gateway configured with secrets,
// and checks that none of them appears in its log or access log, nor in
// the RPC metadata.
func TestSecretsNotLogged(t *testing.T) {
	const (
		apiKey     = "apikey-SECRET-0123456789"
		wrongKey   = "apikey-WRONG-0123456789"
		adminToken = "admintoken-SECRET-0123456789"
		hsSecret   = "jwtsecret-SECRET-0123456789abcdef"
		basic      = "basic-SECRET-0123456789"
	)
	reg := registry.NewMemoryRegistry()
	a := startGreeter(t, reg, "a", nil)
	headerEcho(t, reg, "echo-http")
	register(t, reg, "dead-rpc", "dead-r", deadAddr(t), map[string]string{"protocol": "mucp", "server": "mucp"})
	yaml := `
admin_token: ` + adminToken + `
auth:
  api_keys: [{name: reader, key: ` + apiKey + `}]
  jwt: {hs256_secret: ` + hsSecret + `}
routes:
  - {name: keyed, path: /keyed, service: greeter, auth: {mode: api_key}}
  - {name: jwt, path: /jwt, service: greeter, auth: {mode: jwt}}
  - {name: any, path: /any, kind: proxy, service: echo-http, strip_prefix: true, auth: {mode: any}}
  - {name: dead, path: /dead, service: dead-rpc, auth: {mode: api_key}}
`
	logs := &syncBuffer{}
	g, err := New(Options{Config: configtest.Load(t, yaml), Registry: reg, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	pub, adm := testutil.Listen(t), testutil.Listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Serve(ctx, pub, adm) }()
	base, admin := "http://"+pub.Addr().String(), "http://"+adm.Addr().String()

	now := time.Now()
	sign := func(c jwt.MapClaims, secret string) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
		return s
	}
	good := sign(jwt.MapClaims{"sub": "alice", "exp": now.Add(time.Hour).Unix()}, hsSecret)
	expired := sign(jwt.MapClaims{"sub": "alice", "exp": now.Add(-time.Hour).Unix()}, hsSecret)
	forged := sign(jwt.MapClaims{"sub": "mallory", "exp": now.Add(time.Hour).Unix()}, "another-secret-0123456789abcdef")
	noExp := sign(jwt.MapClaims{"sub": "alice"}, hsSecret)
	requests := []struct {
		method, url string
		hdr         []string
		want        int
	}{
		{"GET", base + "/keyed/hello?name=k", []string{"X-API-Key", apiKey, "X-Request-Id", "secret-md"}, 200},
		{"GET", base + "/keyed/hello?name=k", []string{"Authorization", "ApiKey " + apiKey}, 200},
		{"GET", base + "/keyed/hello?name=k", []string{"X-API-Key", wrongKey}, 401},
		{"GET", base + "/jwt/hello?name=j", []string{"Authorization", "Bearer " + good}, 200},
		{"GET", base + "/jwt/hello?name=j", []string{"Authorization", "Bearer " + expired}, 401},
		{"GET", base + "/jwt/hello?name=j", []string{"Authorization", "Bearer " + forged}, 401},
		{"GET", base + "/jwt/hello?name=j", []string{"Authorization", "Bearer " + noExp}, 401},
		{"GET", base + "/jwt/hello?name=j", []string{"Authorization", "Bearer " + good + "x"}, 401},
		{"GET", base + "/any/x", []string{"Authorization", "Bearer " + good}, 200},
		{"GET", base + "/any/x", []string{"X-API-Key", wrongKey}, 401},
		{"GET", base + "/dead/hello", []string{"X-API-Key", apiKey}, 502}, // logged as a warning
		{"GET", base + "/nosuch/x", []string{"Authorization", "Basic " + basic}, 404},
		{"GET", admin + "/admin/api/services", []string{"Authorization", "Bearer " + adminToken}, 200},
		{"GET", admin + "/admin/api/services", []string{"Authorization", "Bearer " + adminToken + "x"}, 401},
		{"POST", admin + "/admin/api/test-calls", []string{"Authorization", "Bearer " + adminToken, "Content-Type", "application/json"}, 400},
	}
	for _, r := range requests {
		if code, _, body := do(t, r.method, r.url, "", r.hdr...); code != r.want {
			t.Errorf("%s %s %v: %d, want %d: %s", r.method, r.url, r.hdr, code, r.want, body)
		}
	}
	cancel()
	<-done

	out := logs.String()
	if len(logs.lines("request")) < len(requests)-3 || !strings.Contains(out, "api-gateway listening") || !strings.Contains(out, "rpc failed") {
		t.Fatalf("the log lacks what the test relies on:\n%s", out)
	}
	for _, s := range []string{apiKey, wrongKey, adminToken, hsSecret, basic, good, expired, forged, noExp, "Bearer ", "ApiKey "} {
		if strings.Contains(out, s) {
			t.Errorf("the log contains the secret %.20q…", s)
		}
	}
	v, _ := a.md.Load("secret-md")
	md, _ := v.(metadata.Metadata)
	for k, val := range md {
		if strings.Contains(val, "SECRET") || strings.EqualFold(k, "Authorization") || strings.EqualFold(k, "X-Api-Key") {
			t.Errorf("the RPC metadata carries %s: %q", k, val)
		}
	}
}
