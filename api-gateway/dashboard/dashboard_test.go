package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	tests := []struct {
		name, path         string
		want               int
		wantType, contains string
	}{
		{name: "page", path: "/", want: 200, wantType: "text/html; charset=utf-8", contains: "send 1000 test calls"},
		{name: "script", path: "/static/app.js", want: 200, wantType: "text/javascript; charset=utf-8", contains: "/admin/api/services"},
		{name: "style", path: "/static/style.css", want: 200, wantType: "text/css; charset=utf-8", contains: ".bars"},
		{name: "unknown asset", path: "/static/nope.js", want: 404},
		{name: "unknown page", path: "/nope", want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.want {
				t.Fatalf("GET %s = %d, want %d", tt.path, rec.Code, tt.want)
			}
			if tt.want != 200 {
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tt.wantType {
				t.Fatalf("Content-Type = %q, want %q", got, tt.wantType)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Fatalf("CSP = %q", csp)
			}
			body, _ := io.ReadAll(rec.Body)
			if !strings.Contains(string(body), tt.contains) {
				t.Fatalf("GET %s does not contain %q", tt.path, tt.contains)
			}
		})
	}
}

// TestNoExternalReferences keeps the page free of network dependencies.
func TestNoExternalReferences(t *testing.T) {
	for _, name := range []string{"static/index.html", "static/app.js", "static/style.css"} {
		b, err := static.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn"} {
			if strings.Contains(string(b), bad) {
				t.Fatalf("%s references %q: everything must be served locally", name, bad)
			}
		}
	}
}
