package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/microlb/microlb/api-gateway/config"
)

func TestAPIKeyFrom(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		want   string
	}{
		{"none", nil, ""},
		{"header", []string{"X-Api-Key", "k1"}, "k1"},
		{"authorization ApiKey", []string{"Authorization", "ApiKey  k2 "}, "k2"},
		{"authorization apikey, any case", []string{"Authorization", "apikey k3"}, "k3"},
		{"header wins", []string{"X-Api-Key", "k1", "Authorization", "ApiKey k2"}, "k1"},
		{"bearer is not a key", []string{"Authorization", "Bearer t"}, ""},
		{"scheme without credentials", []string{"Authorization", "ApiKey"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for i := 0; i+1 < len(tt.header); i += 2 {
				r.Header.Set(tt.header[i], tt.header[i+1])
			}
			if got := APIKeyFrom(r, "X-API-Key"); got != tt.want {
				t.Fatalf("APIKeyFrom = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	tests := []struct{ auth, want string }{
		{"", ""},
		{"Bearer abc", "abc"},
		{"bearer  abc ", "abc"},
		{"ApiKey abc", ""},
		{"Bearer", ""},
	}
	for _, tt := range tests {
		t.Run(tt.auth, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", tt.auth)
			if got := bearer(r); got != tt.want {
				t.Fatalf("bearer(%q) = %q, want %q", tt.auth, got, tt.want)
			}
		})
	}
}

func TestJWTReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{jwt.ErrTokenMalformed, "malformed"},
		{jwt.ErrTokenRequiredClaimMissing, "a required claim (exp) is missing"},
		{fmt.Errorf("%w: %w", jwt.ErrTokenInvalidClaims, jwt.ErrTokenExpired), "expired"},
		{jwt.ErrTokenNotValidYet, "not valid yet"},
		{jwt.ErrTokenUsedBeforeIssued, "not valid yet"},
		{jwt.ErrTokenInvalidIssuer, "wrong issuer"},
		{jwt.ErrTokenInvalidAudience, "wrong audience"},
		{fmt.Errorf("%w: signing method HS512 is invalid", jwt.ErrTokenSignatureInvalid), "signing method not accepted"},
		{jwt.ErrTokenSignatureInvalid, "bad signature"},
		{jwt.ErrTokenUnverifiable, "signing method not accepted"},
		{errors.New("other"), "rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			if got := jwtReason(tt.err); got != tt.want {
				t.Fatalf("jwtReason(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestScopesOf(t *testing.T) {
	tests := []struct {
		name string
		c    jwt.MapClaims
		want []string
	}{
		{"none", jwt.MapClaims{}, nil},
		{"scope string", jwt.MapClaims{"scope": "read  write"}, []string{"read", "write"}},
		{"scp list", jwt.MapClaims{"scp": []any{"a", 5, "b"}}, []string{"a", "b"}},
		{"scopes string", jwt.MapClaims{"scopes": "x y"}, []string{"x", "y"}},
		{"all three, in order", jwt.MapClaims{"scope": "a", "scopes": []any{"b"}, "scp": "c"}, []string{"a", "b", "c"}},
		{"scope not a string", jwt.MapClaims{"scope": []any{"a"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scopesOf(tt.c); !slices.Equal(got, tt.want) {
				t.Fatalf("scopesOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIsPreflight(t *testing.T) {
	tests := []struct {
		name, method, origin, reqMethod string
		want                            bool
	}{
		{"preflight", "OPTIONS", "https://a.example", "POST", true},
		{"no origin", "OPTIONS", "", "POST", false},
		{"no request method", "OPTIONS", "https://a.example", "", false},
		{"not OPTIONS", "POST", "https://a.example", "POST", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.reqMethod != "" {
				r.Header.Set("Access-Control-Request-Method", tt.reqMethod)
			}
			if got := isPreflight(r); got != tt.want {
				t.Fatalf("isPreflight = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOriginAllowed(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		origin  string
		want    bool
	}{
		{"any", []string{"*"}, "https://x.example", true},
		{"exact", []string{"https://a.example"}, "https://a.example", true},
		{"exact, any case", []string{"https://A.example"}, "https://a.example", true},
		{"other host", []string{"https://a.example"}, "https://b.example", false},
		{"subdomain", []string{"https://*.example.com"}, "https://api.example.com", true},
		{"deeper subdomain", []string{"https://*.example.com"}, "https://a.b.example.com", true},
		{"the bare domain is not a subdomain", []string{"https://*.example.com"}, "https://example.com", false},
		{"wildcard never spans a port", []string{"https://*.example.com"}, "https://evil:1.example.com", false},
		{"wildcard never spans a path", []string{"https://*.example.com"}, "https://evil.com/x.example.com", false},
		{"other scheme", []string{"https://*.example.com"}, "http://api.example.com", false},
		{"none listed", nil, "https://a.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := originAllowed(&config.CORS{AllowOrigins: tt.allowed}, tt.origin); got != tt.want {
				t.Fatalf("originAllowed(%q, %q) = %v, want %v", tt.allowed, tt.origin, got, tt.want)
			}
		})
	}
}

func TestSetAllowOrigin(t *testing.T) {
	tests := []struct {
		name      string
		p         config.CORS
		wantAllow string
		wantCreds string
	}{
		{"star without credentials", config.CORS{AllowOrigins: []string{"*"}}, "*", ""},
		{"star with credentials echoes the origin", config.CORS{AllowOrigins: []string{"*"}, AllowCredentials: true}, "https://a.example", "true"},
		{"listed origin", config.CORS{AllowOrigins: []string{"https://a.example"}}, "https://a.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			setAllowOrigin(h, &tt.p, "https://a.example")
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
				t.Fatalf("Allow-Origin %q, want %q", got, tt.wantAllow)
			}
			if got := h.Get("Access-Control-Allow-Credentials"); got != tt.wantCreds {
				t.Fatalf("Allow-Credentials %q, want %q", got, tt.wantCreds)
			}
		})
	}
}

func TestSplitListContainsFold(t *testing.T) {
	got := splitList(" Content-Type, ,X-Api-Key ,")
	if want := []string{"Content-Type", "X-Api-Key"}; !slices.Equal(got, want) {
		t.Fatalf("splitList = %q, want %q", got, want)
	}
	if splitList("") != nil {
		t.Fatalf("splitList(\"\") is not nil")
	}
	if !containsFold(got, "x-api-key") || containsFold(got, "x-api") {
		t.Fatalf("containsFold is wrong on %q", got)
	}
}

func TestQuoting(t *testing.T) {
	tests := []struct{ name, got, want string }{
		{"sanitize controls", sanitize("a\x00b\x7fc\nd"), "a?b?c?d"},
		{"sanitize replacement char", sanitize("a\uFFFDb"), "a?b"},
		{"sanitize keeps unicode", sanitize("héllo"), "héllo"},
		{"quoteHeader short", quoteHeader("X-Foo"), `"X-Foo"`},
		{"quoteHeader long", quoteHeader(strings.Repeat("h", 70)), `"` + strings.Repeat("h", 64) + `…"`},
		{"quotePath short", quotePath("/a\tb"), `"/a?b"`},
		{"quotePath long", quotePath("/" + strings.Repeat("p", 200)), `"/` + strings.Repeat("p", 127) + `…"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestNormMethod(t *testing.T) {
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"} {
		if got := normMethod(m); got != m {
			t.Errorf("normMethod(%q) = %q", m, got)
		}
	}
	for _, m := range []string{"get", "PROPFIND", ""} {
		if got := normMethod(m); got != "OTHER" {
			t.Errorf("normMethod(%q) = %q, want OTHER", m, got)
		}
	}
}

func TestClientNet(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"::ffff:192.0.2.7", "::ffff:192.0.2.7"},
		{"not-an-ip", "not-an-ip"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := clientNet(tt.ip); got != tt.want {
				t.Fatalf("clientNet(%q) = %q, want %q", tt.ip, got, tt.want)
			}
		})
	}
}

func TestValidRequestID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"", false},
		{"abc-DEF_0.9:x", true},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{"a b", false},
		{"a\nb", false},
		{"é", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := validRequestID(tt.id); got != tt.want {
				t.Fatalf("validRequestID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"untrusted peer ignores the header", "192.0.2.1:5000", []string{"198.51.100.9"}, "192.0.2.1"},
		{"trusted peer, one hop", "10.0.0.1:5000", []string{"198.51.100.9"}, "198.51.100.9"},
		{"right-most untrusted hop", "10.0.0.1:5000", []string{"203.0.113.5, 198.51.100.9, 10.0.0.2"}, "198.51.100.9"},
		{"several headers join", "10.0.0.1:5000", []string{"203.0.113.5", "198.51.100.9"}, "198.51.100.9"},
		{"garbage hop stops the walk", "10.0.0.1:5000", []string{"198.51.100.9, junk"}, "10.0.0.1"},
		{"all trusted", "10.0.0.1:5000", []string{"10.1.1.1"}, "10.0.0.1"},
		{"no header", "10.0.0.1:5000", nil, "10.0.0.1"},
		{"mapped trusted peer", "[::ffff:10.0.0.1]:5000", []string{"198.51.100.9"}, "198.51.100.9"},
		{"remote without port", "192.0.2.1", nil, "192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, trusted); got != tt.want {
				t.Fatalf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}
