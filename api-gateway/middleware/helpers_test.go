package middleware

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/internal/testutil"
)

// request returns a GET with the header pairs set.
func request(hdr ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	return r
}

// TestCredentials: what APIKeyFrom and bearer each take from the same
// headers.
func TestCredentials(t *testing.T) {
	f := func(hdr []string) [2]string {
		r := request(hdr...)
		return [2]string{APIKeyFrom(r, "X-API-Key"), bearer(r)}
	}
	auth := func(v string) []string { return []string{"Authorization", v} }
	testutil.Table(t, "[APIKeyFrom, bearer]", f,
		testutil.Row("none", []string(nil), [2]string{}),
		testutil.Row("empty authorization", auth(""), [2]string{}),
		testutil.Row("header", []string{"X-Api-Key", "k1"}, [2]string{"k1", ""}),
		testutil.Row("authorization ApiKey", auth("ApiKey  k2 "), [2]string{"k2", ""}),
		testutil.Row("authorization apikey, any case", auth("apikey k3"), [2]string{"k3", ""}),
		testutil.Row("header wins", []string{"X-Api-Key", "k1", "Authorization", "ApiKey k2"}, [2]string{"k1", ""}),
		testutil.Row("api key is not a bearer token", auth("ApiKey abc"), [2]string{"abc", ""}),
		testutil.Row("scheme without credentials", auth("ApiKey"), [2]string{}),
		testutil.Row("bearer token is not a key", auth("Bearer t"), [2]string{"", "t"}),
		testutil.Row("bearer, any case, spaces", auth("bearer  abc "), [2]string{"", "abc"}),
		testutil.Row("bearer without token", auth("Bearer"), [2]string{}))
}

func TestJWTReason(t *testing.T) {
	testutil.Table(t, "jwtReason", jwtReason,
		testutil.Row("malformed", jwt.ErrTokenMalformed, "malformed"),
		testutil.Row("claim missing", jwt.ErrTokenRequiredClaimMissing, "a required claim (exp) is missing"),
		testutil.Row("expired", fmt.Errorf("%w: %w", jwt.ErrTokenInvalidClaims, jwt.ErrTokenExpired), "expired"),
		testutil.Row("not yet", jwt.ErrTokenNotValidYet, "not valid yet"),
		testutil.Row("used before issued", jwt.ErrTokenUsedBeforeIssued, "not valid yet"),
		testutil.Row("issuer", jwt.ErrTokenInvalidIssuer, "wrong issuer"),
		testutil.Row("audience", jwt.ErrTokenInvalidAudience, "wrong audience"),
		testutil.Row("signing method", fmt.Errorf("%w: signing method HS512 is invalid", jwt.ErrTokenSignatureInvalid), "signing method not accepted"),
		testutil.Row("signature", jwt.ErrTokenSignatureInvalid, "bad signature"),
		testutil.Row("unverifiable", jwt.ErrTokenUnverifiable, "signing method not accepted"),
		testutil.Row("other", errors.New("other"), "rejected"))
}

func TestScopesOf(t *testing.T) {
	testutil.Table(t, "scopesOf", scopesOf,
		testutil.Row("none", jwt.MapClaims{}, []string(nil)),
		testutil.Row("scope string", jwt.MapClaims{"scope": "read  write"}, []string{"read", "write"}),
		testutil.Row("scp list", jwt.MapClaims{"scp": []any{"a", 5, "b"}}, []string{"a", "b"}),
		testutil.Row("scopes string", jwt.MapClaims{"scopes": "x y"}, []string{"x", "y"}),
		testutil.Row("all three, in order", jwt.MapClaims{"scope": "a", "scopes": []any{"b"}, "scp": "c"}, []string{"a", "b", "c"}),
		testutil.Row("scope not a string", jwt.MapClaims{"scope": []any{"a"}}, []string(nil)))
}

func TestIsPreflight(t *testing.T) {
	f := func(in [3]string) bool {
		r := request("Origin", in[1], "Access-Control-Request-Method", in[2])
		r.Method = in[0]
		return isPreflight(r)
	}
	testutil.Table(t, "isPreflight", f,
		testutil.Row("preflight", [3]string{"OPTIONS", "https://a.example", "POST"}, true),
		testutil.Row("no origin", [3]string{"OPTIONS", "", "POST"}, false),
		testutil.Row("no request method", [3]string{"OPTIONS", "https://a.example", ""}, false),
		testutil.Row("not OPTIONS", [3]string{"POST", "https://a.example", "POST"}, false))
}

func TestOriginAllowed(t *testing.T) {
	type in struct {
		allowed []string
		origin  string
	}
	f := func(c in) bool { return originAllowed(&config.CORS{AllowOrigins: c.allowed}, c.origin) }
	sub := []string{"https://*.example.com"}
	testutil.Table(t, "originAllowed", f,
		testutil.Row("any", in{[]string{"*"}, "https://x.example"}, true),
		testutil.Row("exact", in{[]string{"https://a.example"}, "https://a.example"}, true),
		testutil.Row("exact, any case", in{[]string{"https://A.example"}, "https://a.example"}, true),
		testutil.Row("other host", in{[]string{"https://a.example"}, "https://b.example"}, false),
		testutil.Row("subdomain", in{sub, "https://api.example.com"}, true),
		testutil.Row("deeper subdomain", in{sub, "https://a.b.example.com"}, true),
		testutil.Row("the bare domain is not a subdomain", in{sub, "https://example.com"}, false),
		testutil.Row("wildcard never spans a port", in{sub, "https://evil:1.example.com"}, false),
		testutil.Row("wildcard never spans a path", in{sub, "https://evil.com/x.example.com"}, false),
		testutil.Row("other scheme", in{sub, "http://api.example.com"}, false),
		testutil.Row("none listed", in{nil, "https://a.example"}, false))
}

func TestSetAllowOrigin(t *testing.T) {
	f := func(p config.CORS) [2]string {
		h := http.Header{}
		setAllowOrigin(h, &p, "https://a.example")
		return [2]string{h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Credentials")}
	}
	testutil.Table(t, "setAllowOrigin", f,
		testutil.Row("star without credentials", config.CORS{AllowOrigins: []string{"*"}}, [2]string{"*", ""}),
		testutil.Row("star with credentials echoes the origin", config.CORS{AllowOrigins: []string{"*"}, AllowCredentials: true}, [2]string{"https://a.example", "true"}),
		testutil.Row("listed origin", config.CORS{AllowOrigins: []string{"https://a.example"}}, [2]string{"https://a.example", ""}))
}

func TestSplitListContainsFold(t *testing.T) {
	testutil.Table(t, "splitList", splitList,
		testutil.Row("two, blanks dropped", " Content-Type, ,X-Api-Key ,", []string{"Content-Type", "X-Api-Key"}),
		testutil.Row("empty", "", []string(nil)))
	list := []string{"Content-Type", "X-Api-Key"}
	f := func(s string) bool { return containsFold(list, s) }
	testutil.Table(t, "containsFold", f,
		testutil.Row("any case", "x-api-key", true),
		testutil.Row("a prefix is not a member", "x-api", false))
}

func TestQuoting(t *testing.T) {
	testutil.Table(t, "sanitize", sanitize,
		testutil.Row("controls", "a\x00b\x7fc\nd", "a?b?c?d"),
		testutil.Row("replacement char", "a\uFFFDb", "a?b"),
		testutil.Row("keeps unicode", "héllo", "héllo"))
	testutil.Table(t, "quoteHeader", quoteHeader,
		testutil.Row("short", "X-Foo", `"X-Foo"`),
		testutil.Row("long", strings.Repeat("h", 70), `"`+strings.Repeat("h", 64)+`…"`))
	testutil.Table(t, "quotePath", quotePath,
		testutil.Row("short", "/a\tb", `"/a?b"`),
		testutil.Row("long", "/"+strings.Repeat("p", 200), `"/`+strings.Repeat("p", 127)+`…"`))
}

func TestNormMethod(t *testing.T) {
	var cases []testutil.Case[string, string]
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"} {
		cases = append(cases, testutil.Row(m, m, m))
	}
	for _, m := range []string{"get", "PROPFIND", ""} {
		cases = append(cases, testutil.Row("other "+m, m, "OTHER"))
	}
	testutil.Table(t, "normMethod", normMethod, cases...)
}

func TestClientNet(t *testing.T) {
	testutil.Table(t, "clientNet", clientNet,
		testutil.Row("v4", "192.0.2.7", "192.0.2.7"),
		testutil.Row("v6 by /64", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
		testutil.Row("v4 in v6", "::ffff:192.0.2.7", "::ffff:192.0.2.7"),
		testutil.Row("not an IP", "not-an-ip", "not-an-ip"),
		testutil.Row("empty", "", ""))
}

func TestValidRequestID(t *testing.T) {
	testutil.Table(t, "validRequestID", validRequestID,
		testutil.Row("empty", "", false),
		testutil.Row("all allowed characters", "abc-DEF_0.9:x", true),
		testutil.Row("128 bytes", strings.Repeat("a", 128), true),
		testutil.Row("129 bytes", strings.Repeat("a", 129), false),
		testutil.Row("space", "a b", false),
		testutil.Row("newline", "a\nb", false),
		testutil.Row("non-ASCII", "é", false))
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	type in struct {
		remote string
		xff    []string
	}
	f := func(c in) string {
		r := request()
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		return ClientIP(r, trusted)
	}
	testutil.Table(t, "ClientIP", f,
		testutil.Row("untrusted peer ignores the header", in{"192.0.2.1:5000", []string{"198.51.100.9"}}, "192.0.2.1"),
		testutil.Row("trusted peer, one hop", in{"10.0.0.1:5000", []string{"198.51.100.9"}}, "198.51.100.9"),
		testutil.Row("right-most untrusted hop", in{"10.0.0.1:5000", []string{"203.0.113.5, 198.51.100.9, 10.0.0.2"}}, "198.51.100.9"),
		testutil.Row("several headers join", in{"10.0.0.1:5000", []string{"203.0.113.5", "198.51.100.9"}}, "198.51.100.9"),
		testutil.Row("garbage hop stops the walk", in{"10.0.0.1:5000", []string{"198.51.100.9, junk"}}, "10.0.0.1"),
		testutil.Row("all trusted", in{"10.0.0.1:5000", []string{"10.1.1.1"}}, "10.0.0.1"),
		testutil.Row("no header", in{"10.0.0.1:5000", nil}, "10.0.0.1"),
		testutil.Row("mapped trusted peer", in{"[::ffff:10.0.0.1]:5000", []string{"198.51.100.9"}}, "198.51.100.9"),
		testutil.Row("remote without port", in{"192.0.2.1", nil}, "192.0.2.1"))
}
