package route

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/microlb/microlb/api-gateway/config"
)

// FuzzKeySource checks hash key extraction on any key source and request:
// a source parses only in its configuration syntax and prints back to
// itself; the key is exactly the named part of the request, never more
// (so its length is bounded by that part), and "" when the part is absent.
func FuzzKeySource(f *testing.F) {
	f.Add("header:X-User", "alice", "session=s1", "user=bob", "/a/b", "10.0.0.1")
	f.Add("cookie:session", "", "session=s1; other=2", "", "/", "::1")
	f.Add("query:user", "", "", "user=%FF&user=2", "/x", "")
	f.Add("path", "", "", "", "/greeter/%2e%2e", "")
	f.Add("client_ip", "", "", "", "/", "203.0.113.9")
	f.Add("header:", "x", "", "", "/", "")
	f.Add("bogus:thing", "x", "", "", "/", "")
	f.Add(" header : x-user ", "v", "", "", "/", "")
	f.Fuzz(func(t *testing.T, spec, header, cookie, query, path, clientIP string) {
		ks, err := ParseKeySource(spec)
		if err != nil {
			if ks != (KeySource{}) {
				t.Fatalf("error %v with source %+v", err, ks)
			}
			return
		}
		if again, err := ParseKeySource(ks.String()); err != nil || again != ks {
			t.Fatalf("%q → %+v → %q → %+v, %v", spec, ks, ks.String(), again, err)
		}
		r := &http.Request{Header: http.Header{}, URL: &url.URL{Path: path, RawQuery: query}}
		if ks.Kind == config.KeyHeader {
			r.Header[ks.Name] = []string{header}
		}
		if cookie != "" {
			r.Header["Cookie"] = []string{cookie}
		}
		key := ks.Key(r, clientIP)
		var want string
		switch ks.Kind {
		case config.KeyHeader:
			want = header
		case config.KeyCookie:
			if c, err := r.Cookie(ks.Name); err == nil {
				want = c.Value
			}
			if !strings.Contains(cookie, key) {
				t.Fatalf("cookie key %q is not from the Cookie header %q", key, cookie)
			}
		case config.KeyQuery:
			want = r.URL.Query().Get(ks.Name)
			if len(key) > len(query) {
				t.Fatalf("query key %q longer than the query %q", key, query)
			}
		case config.KeyPath:
			want = path
		case config.KeyClientIP:
			want = clientIP
		default:
			t.Fatalf("parsed an unknown kind %q from %q", ks.Kind, spec)
		}
		if key != want {
			t.Fatalf("%s: key %q, want %q", ks, key, want)
		}
	})
}
