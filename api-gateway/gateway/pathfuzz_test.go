package gateway

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/internal/configtest"
)

// upstreamRecorder is a proxy transport that answers every request itself
// and remembers the path it would have sent upstream.
type upstreamRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (u *upstreamRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	u.mu.Lock()
	u.paths = append(u.paths, r.URL.EscapedPath())
	u.mu.Unlock()
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
}

func (u *upstreamRecorder) take() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.paths
	u.paths = nil
	return p
}

// hasDotSegment reports whether an upstream path holds a dot segment under
// any reading a backend might apply: percent-decoding up to eight times,
// '\' as a separator, ";params" cut off.
func hasDotSegment(p string) bool {
	for range 8 {
		for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
			seg, _, _ = strings.Cut(seg, ";")
			if seg == "." || seg == ".." {
				return true
			}
		}
		dec, err := url.PathUnescape(p)
		if err != nil || dec == p {
			return false
		}
		p = dec
	}
	return false
}

// FuzzNoDotSegmentUpstream sends any request target through the whole
// public handler (proxy routes with strip_prefix, rewrite and neither, and
// an HTTP service reached by the dynamic route) and checks that no request
// the gateway passes on carries a dot segment in any encoding. scripts/fuzz.sh
// finds it with every other Fuzz target.
func FuzzNoDotSegmentUpstream(f *testing.F) {
	for _, s := range []string{"/web/x", "/web/..;/admin", "/web/..%5cadmin", "/web/..%252f..%252fadmin", "/web/%2e%2e/x",
		"/v2/a/b", "/raw/%252e%252e", "/echo-http/..%2fx", "/echo-http/x;/..", "/WEB/%2E%2e", "/web/.%2e/x", "/web/%u002e%u002e",
		"/web//x", "/web/x/..", "/web/%c0%ae%c0%ae/x", "/web/..\\x", "/echo-http/%25%32%65%25%32%65"} {
		f.Add(s)
	}
	reg := registry.NewMemoryRegistry()
	register(f, reg, "echo-http", "e1", "127.0.0.1:1", map[string]string{"protocol": "http"})
	cfg := configtest.Load(f, `
routes:
  - {name: web, path: /web, kind: proxy, service: echo-http, strip_prefix: true}
  - {name: v2, path: /v2, kind: proxy, service: echo-http, rewrite: /api/v2}
  - {name: raw, path: /raw, kind: proxy, service: echo-http}
`)
	up := &upstreamRecorder{}
	g, err := New(Options{Config: cfg, Registry: reg, HTTPTransport: up, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { g.Close() })
	h := g.Handler()
	f.Fuzz(func(t *testing.T, target string) {
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")))
		if err != nil {
			return // net/http would refuse it before any handler
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		for _, p := range up.take() {
			if hasDotSegment(p) {
				t.Fatalf("target %q reached the upstream as %q", target, p)
			}
		}
	})
}
