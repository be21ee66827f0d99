package route

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/microlb/microlb/internal/configtest"
)

func table(t testing.TB, yaml string) *Table {
	t.Helper()
	tb, err := NewTable(configtest.Load(t, yaml))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

const routesYAML = `
namespace: ""
routes:
  - {name: hello, path: /api/hello, service: greeter, endpoint: Greeter.Hello}
  - {name: greet, path: /api/greet, service: go.micro.srv.greeter}
  - {name: http, path: /http, kind: proxy, service: greeter-http, strip_prefix: true}
  - {name: v2, path: /v2, kind: proxy, service: greeter-http, rewrite: /api/v2}
  - {name: ns, path: /ns}
`

func TestResolve(t *testing.T) {
	tb := table(t, routesYAML)
	tests := []struct {
		name, path, namespace string
		wantRoute             string
		wantService, wantEP   string
		wantErr               string // substring; "dot" for ErrDotSegment
		wantPathErr           error  // a *PathError other than ErrDotSegment
	}{
		{name: "service method", path: "/greeter/hello", wantRoute: "default", wantService: "greeter", wantEP: "Greeter.Hello"},
		{name: "service handler method", path: "/greeter/greeter/hello", wantRoute: "default", wantService: "greeter", wantEP: "Greeter.Hello"},
		{name: "camel case dashes", path: "/greeter/say-hello", wantRoute: "default", wantService: "greeter", wantEP: "Greeter.SayHello"},
		{name: "camel case underscores", path: "/my-svc/say_hello", wantRoute: "default", wantService: "my-svc", wantEP: "MySvc.SayHello"},
		{name: "lower camel kept", path: "/greeter/sayHello", wantRoute: "default", wantService: "greeter", wantEP: "Greeter.SayHello"},
		{name: "trailing slash", path: "/greeter/hello/", wantRoute: "default", wantService: "greeter", wantEP: "Greeter.Hello"},
		{name: "namespace", path: "/greeter/hello", namespace: "go.micro.srv.", wantRoute: "default", wantService: "go.micro.srv.greeter", wantEP: "Greeter.Hello"},
		{name: "dotted service uses last part", path: "/api/greet/hello", wantRoute: "greet", wantService: "go.micro.srv.greeter", wantEP: "Greeter.Hello"},
		{name: "fixed service handler form", path: "/api/greet/other/stream", wantRoute: "greet", wantService: "go.micro.srv.greeter", wantEP: "Other.Stream"},
		{name: "fixed endpoint", path: "/api/hello", wantRoute: "hello", wantService: "greeter", wantEP: "Greeter.Hello"},
		{name: "fixed endpoint rejects more", path: "/api/hello/x", wantRoute: "hello", wantErr: "fixed endpoint"},
		{name: "prefix route without service", path: "/ns/greeter/hello", wantRoute: "ns", wantService: "greeter", wantEP: "Greeter.Hello"},
		{name: "segment boundary", path: "/api/helloworld/x", wantRoute: "default", wantService: "api", wantEP: "Helloworld.X"},
		{name: "no method", path: "/greeter", wantRoute: "default", wantErr: "no method"},
		{name: "root", path: "/", wantRoute: "default", wantErr: "no service"},
		{name: "too many segments", path: "/a/b/c/d", wantRoute: "default", wantErr: "too many segments"},
		{name: "bad method char", path: "/greeter/hel$lo", wantRoute: "default", wantErr: "not a valid method"},
		{name: "leading digit method", path: "/greeter/1hello", wantRoute: "default", wantErr: "not a valid method"},
		{name: "bad service", path: "/gre eter/hello", wantRoute: "default", wantErr: "not a valid service"},
		{name: "invalid utf8", path: "/greeter/h\xffllo", wantRoute: "default", wantErr: "not a valid method"},
		{name: "dot dot", path: "/greeter/../admin", wantRoute: "default", wantErr: "dot"},
		{name: "dot", path: "/greeter/./hello", wantRoute: "default", wantErr: "dot"},
		{name: "dot dot decoded once, still encoded", path: "/greeter/%2e%2e/admin", wantRoute: "default", wantErr: "dot"},
		{name: "dot dot encoded three times", path: "/greeter/%25252E%25252e/admin", wantRoute: "default", wantErr: "dot"},
		{name: "encoded dot", path: "/greeter/%2E/hello", wantRoute: "default", wantErr: "dot"},
		{name: "percent that decodes to no dot", path: "/greeter/%41bc", wantRoute: "default", wantErr: "not a valid method"},
		{name: "broken escape", path: "/greeter/%zz", wantRoute: "default", wantErr: "not a valid method"},
		{name: "empty segment", path: "/greeter//hello", wantRoute: "default", wantPathErr: ErrEmptySegment},
		// Issue 11: every encoding of a dot segment, and what a backend
		// could read as structure.
		{name: "dot dot with params", path: "/greeter/..;/admin", wantRoute: "default", wantErr: "dot"},
		{name: "dot dot with params, encoded", path: "/greeter/%2e%2e;x/admin", wantRoute: "default", wantPathErr: ErrSemicolon},
		{name: "dot with params", path: "/greeter/.;/hello", wantRoute: "default", wantErr: "dot"},
		{name: "params", path: "/greeter;x/hello", wantRoute: "default", wantPathErr: ErrSemicolon},
		{name: "backslash", path: "/greeter/..\\admin", wantRoute: "default", wantPathErr: ErrBackslash},
		{name: "double-encoded slash", path: "/greeter/..%2f..%2fadmin", wantRoute: "default", wantPathErr: ErrEncodedSlash},
		{name: "double-encoded backslash", path: "/greeter/..%5cadmin", wantRoute: "default", wantPathErr: ErrEncodedSlash},
		{name: "NUL", path: "/greeter/he\x00llo", wantRoute: "default", wantPathErr: ErrControl},
		{name: "trailing slash kept", path: "/greeter/greeter/hello/", wantRoute: "default", wantService: "greeter", wantEP: "Greeter.Hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, ok := tb.Match(tt.path)
			if !ok {
				t.Fatalf("no route for %q", tt.path)
			}
			if rt.Name != tt.wantRoute {
				t.Fatalf("route %q, want %q", rt.Name, tt.wantRoute)
			}
			got, err := rt.Resolve(tt.path, tt.namespace)
			switch {
			case tt.wantPathErr != nil:
				if err != tt.wantPathErr {
					t.Fatalf("err %v, want %v", err, tt.wantPathErr)
				}
			case tt.wantErr == "dot":
				if !errors.Is(err, ErrDotSegment) {
					t.Fatalf("err %v, want ErrDotSegment", err)
				}
			case tt.wantErr != "":
				var nf *NotFoundError
				if !errors.As(err, &nf) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want NotFoundError with %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("unexpected error %v", err)
			default:
				if got.Service != tt.wantService || got.Endpoint != tt.wantEP {
					t.Fatalf("got %s %s, want %s %s", got.Service, got.Endpoint, tt.wantService, tt.wantEP)
				}
			}
		})
	}
}

func TestMatchLongestPrefix(t *testing.T) {
	tb := table(t, routesYAML)
	tests := []struct{ path, want string }{
		{"/http", "http"}, {"/http/x/y", "http"}, {"/httpx", "default"},
		{"/v2/a", "v2"}, {"/api/hello", "hello"}, {"/api/greet/x", "greet"}, {"/anything", "default"},
		// Case does not dodge a route (issue 11).
		{"/HTTP/x", "http"}, {"/Api/Hello", "hello"}, {"/HTTPX", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rt, ok := tb.Match(tt.path)
			if !ok || rt.Name != tt.want {
				t.Fatalf("Match(%q) = %v, want %s", tt.path, rt, tt.want)
			}
		})
	}
	tb = table(t, "disable_default_route: true\nroutes: [{path: /x, service: s}]")
	if _, ok := tb.Match("/y"); ok {
		t.Fatal("/y matched with the default route disabled")
	}
}

func TestRouteSettings(t *testing.T) {
	tb := table(t, `
defaults: {strategy: roundrobin, timeout: 2s, retries: 2}
routes:
  - {path: /a, service: a, strategy: hash, hash_key: "cookie:session", retries: 0, methods: [get]}
  - {path: /b, kind: proxy, service: b}
`)
	a, _ := tb.Match("/a")
	b, _ := tb.Match("/b")
	d, _ := tb.Match("/zzz")
	if a.Strategy != "hash" || a.HashKey.String() != "cookie:session" || a.Retries != 0 || a.Timeout.String() != "2s" {
		t.Fatalf("route a: %+v", a)
	}
	if !a.Allows("GET") || a.Allows("POST") || a.Allow() != "GET" {
		t.Fatalf("route a methods: %v", a.Allow())
	}
	if b.Strategy != "roundrobin" || b.Retries != 2 || !b.Allows("DELETE") {
		t.Fatalf("route b: %+v", b)
	}
	if !d.Dynamic || d.Strategy != "roundrobin" {
		t.Fatalf("default route: %+v", d)
	}
	if !b.Idempotent("GET") || b.Idempotent("POST") {
		t.Fatal("idempotency")
	}
}

// TestGuards: a route that takes the service from the path hands out, for a
// service a configured route protects, a copy carrying that protection
// (issue 11), whatever the case of the name; other services stay open.
func TestGuards(t *testing.T) {
	tb := table(t, `
namespace: go.micro.
auth: {api_keys: [{name: k, key: key-0123456789abcdef}], jwt: {hs256_secret: 0123456789abcdef}}
routes:
  - {name: keyed, path: /keyed, service: go.micro.greeter, auth: {mode: api_key, scopes: [w]}}
  - {name: jwt, path: /jwt, kind: proxy, service: go.micro.web, auth: {mode: jwt}}
  - {name: open, path: /open, service: go.micro.greeter}
  - {name: ns, path: /ns, auth: {mode: jwt}}
  - {name: fixed, path: /fixed, service: go.micro.other, max_response_bytes: 100, forward_credentials: true}
`)
	tests := []struct {
		path, wantRoute string
		wantPolicies    []string
	}{
		{"/greeter/hello", "default", []string{"api_key[w]"}},
		{"/GREETER/hello", "default", []string{"api_key[w]"}},
		{"/greeter", "default", []string{"api_key[w]"}},
		{"/web/x", "default", []string{"jwt[]"}},
		{"/ns/greeter/hello", "ns", []string{"jwt[]", "api_key[w]"}},
		{"/other/hello", "default", nil},
		{"/open/hello", "open", nil}, // a configured route says what it means
		{"/keyed/hello", "keyed", []string{"api_key[w]"}},
		{"/", "default", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rt, ok := tb.Match(tt.path)
			if !ok || rt.Name != tt.wantRoute {
				t.Fatalf("Match(%q) = %v, want %s", tt.path, rt, tt.wantRoute)
			}
			var got []string
			for _, p := range rt.AuthPolicies() {
				got = append(got, p.Mode+"["+strings.Join(p.Scopes, ",")+"]")
			}
			if strings.Join(got, " ") != strings.Join(tt.wantPolicies, " ") || rt.HasAuth() != (len(got) > 0) {
				t.Fatalf("policies %v (HasAuth %v), want %v", got, rt.HasAuth(), tt.wantPolicies)
			}
		})
	}
	fixed, _ := tb.Match("/fixed")
	def, _ := tb.Match("/x/y")
	if fixed.MaxResponseBytes != 100 || !fixed.ForwardCredentials || def.MaxResponseBytes != 8<<20 || def.ForwardCredentials {
		t.Fatalf("fixed %d %v, default %d %v", fixed.MaxResponseBytes, fixed.ForwardCredentials, def.MaxResponseBytes, def.ForwardCredentials)
	}
}

var endpointRE = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*\.[A-Z][A-Za-z0-9]*$`)

// FuzzRoute checks that any path maps to a route without panicking, and
// that every resolved endpoint is "Handler.Method" of exported identifiers
// on a service with a registry-safe name.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{"/greeter/hello", "/a/b/c", "/api/hello", "/http/x", "/%2e%2e/x", "/..", "/\xff/\x00", "//", "/a-b_c/d-e_f", "/ns/x/y/z",
		"/http/%252e%252e/x", "/greeter/%25%32%65%25%32%65", "/v2/%2e/..%2f"} {
		f.Add(s, "")
	}
	f.Add("/greeter/hello", "go.micro.srv.")
	tb := table(f, routesYAML)
	f.Fuzz(func(t *testing.T, path, namespace string) {
		rt, ok := tb.Match(path)
		if !strings.HasPrefix(path, "/") {
			if ok {
				t.Fatalf("matched %q without a leading slash", path)
			}
			return
		}
		if !ok {
			t.Fatalf("no route for %q", path)
		}
		tgt, err := rt.Resolve(path, namespace)
		if err != nil {
			return
		}
		if !endpointRE.MatchString(tgt.Endpoint) {
			t.Fatalf("%q → endpoint %q", path, tgt.Endpoint)
		}
		svc := strings.TrimPrefix(tgt.Service, namespace)
		if rt.Service == "" && !validService(svc) {
			t.Fatalf("%q → service %q", path, tgt.Service)
		}
		if CheckPath(path) != nil {
			t.Fatalf("%q has dot segments but resolved", path)
		}
	})
}
