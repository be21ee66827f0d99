package route

import (
	"net/url"
	"strings"
)

// PathError is a path the gateway refuses to route (400): it could mean
// something else to a backend than to the gateway.
type PathError struct{ Reason string }

func (e *PathError) Error() string { return e.Reason }

// ErrDotSegment rejects paths with "." or ".." segments (also when they
// arrive percent-encoded, once or more, or with ";params" as in "..;"):
// they would climb out of a route's prefix.
var ErrDotSegment = &PathError{"path contains a dot segment"}

// The other paths CheckPath refuses.
var (
	ErrEmptySegment = &PathError{"path contains an empty segment (//)"}
	ErrBackslash    = &PathError{"path contains a backslash"}
	ErrSemicolon    = &PathError{"path contains a ';'"}
	ErrControl      = &PathError{"path contains a control character"}
	ErrEncodedSlash = &PathError{"path contains a multiply-encoded '/' or '\\'"}
)

// NotFoundError says why a path names no service or endpoint (404).
type NotFoundError struct{ Reason string }

func (e *NotFoundError) Error() string { return e.Reason }

func notFound(format string, a ...string) error {
	for _, s := range a {
		format = strings.Replace(format, "%s", quote(s), 1)
	}
	return &NotFoundError{Reason: format}
}

// quote shortens and quotes a user-provided segment for an error detail.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "\uFFFD") + `"`
}

// maxUnescapes bounds how many layers of percent-encoding CheckPath peels.
const maxUnescapes = 8

// CheckPath refuses a path that a backend could read differently from the
// gateway: dot segments, empty segments ("//", except a trailing slash),
// backslashes, ';' (matrix parameters, as in Tomcat's "..;"), control
// characters, and a '/' or '\' that arrives encoded twice or more. path is
// the decoded URL path; a segment that still holds percent-encoding
// ("%2e%2e" sent as "%252e%252e") is decoded again, layer by layer, since a
// backend or a later hop that decodes once more would see what it hides.
// It returns a *PathError.
func CheckPath(path string) error {
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if seg == "" && i > 0 && i < len(segs)-1 {
			return ErrEmptySegment
		}
		for layer := range maxUnescapes {
			if seg == "." || seg == ".." {
				return ErrDotSegment
			}
			if layer > 0 && strings.ContainsAny(seg, "/\\") {
				return ErrEncodedSlash
			}
			if err := checkChars(seg); err != nil {
				return err
			}
			if !strings.Contains(seg, "%") {
				break
			}
			dec, err := url.PathUnescape(seg)
			if err != nil || dec == seg {
				break
			}
			seg = dec
		}
	}
	return nil
}

// checkChars refuses the characters some backend reads as structure.
func checkChars(seg string) error {
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case c == '\\':
			return ErrBackslash
		case c == ';':
			if p, _, _ := strings.Cut(seg, ";"); p == "." || p == ".." {
				return ErrDotSegment
			}
			return ErrSemicolon
		case c < 0x20 || c == 0x7f:
			return ErrControl
		}
	}
	return nil
}

// Target is what an RPC request resolved to.
type Target struct {
	// Service is the registry name, namespace included.
	Service string
	// Endpoint is "Handler.Method".
	Endpoint string
	// Segment is the path segment that named the service ("" when the route
	// fixes it); Rest is the path below it, for proxying to an HTTP service
	// reached through the dynamic route.
	Segment, Rest string
}

// Resolve maps the path of a request on an RPC route to its service and
// endpoint. It returns a *NotFoundError for a path that names no valid
// service or endpoint, and a *PathError for a path CheckPath refuses.
func (r *Route) Resolve(path, namespace string) (Target, error) {
	if err := CheckPath(path); err != nil {
		return Target{}, err
	}
	rest := strings.Trim(r.Rest(path), "/")
	var segs []string
	if rest != "" {
		segs = strings.Split(rest, "/")
	}
	var t Target
	service := r.Service
	if service == "" {
		if len(segs) == 0 {
			return Target{}, notFound("no service in the path; use /{service}/{method}")
		}
		seg := segs[0]
		if !validService(seg) {
			return Target{}, notFound("service %s is not a valid service name", seg)
		}
		t.Segment, t.Rest = seg, strings.TrimPrefix(r.Rest(path), "/"+seg)
		service, segs = namespace+seg, segs[1:]
	}
	t.Service = service
	if r.Endpoint != "" {
		if len(segs) > 0 {
			return Target{}, notFound("route %s has a fixed endpoint; unexpected path %s", r.Name, "/"+strings.Join(segs, "/"))
		}
		t.Endpoint = r.Endpoint
		return t, nil
	}
	switch len(segs) {
	case 0:
		return t, notFound("no method in the path; use /{service}/{method} or /{service}/{handler}/{method}")
	case 1:
		h := service
		if i := strings.LastIndexAny(h, "."); i >= 0 {
			h = h[i+1:]
		}
		handler, ok := camel(h)
		if !ok {
			return t, notFound("service %s has no default handler name; use /{service}/{handler}/{method}", service)
		}
		method, ok := camel(segs[0])
		if !ok {
			return t, notFound("method %s is not a valid method name", segs[0])
		}
		t.Endpoint = handler + "." + method
	case 2:
		handler, ok := camel(segs[0])
		if !ok {
			return t, notFound("handler %s is not a valid handler name", segs[0])
		}
		method, ok := camel(segs[1])
		if !ok {
			return t, notFound("method %s is not a valid method name", segs[1])
		}
		t.Endpoint = handler + "." + method
	default:
		return t, notFound("path %s has too many segments; use /{service}/{method} or /{service}/{handler}/{method}", "/"+strings.Join(segs, "/"))
	}
	return t, nil
}

// validService accepts registry-style names: letters, digits, '.', '-', '_'.
func validService(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// camel turns a path segment into an exported Go identifier: "say-hello",
// "say_hello" and "sayHello" all give "SayHello". ok is false for a segment
// that cannot be one (empty, a leading digit, other characters).
func camel(s string) (string, bool) {
	if s == "" || len(s) > 128 {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(s))
	upper := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == '_':
			upper = true
		case isAlnum(c):
			if b.Len() == 0 && c >= '0' && c <= '9' {
				return "", false
			}
			if upper && c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			b.WriteByte(c)
			upper = false
		default:
			return "", false
		}
	}
	if b.Len() == 0 {
		return "", false
	}
	return b.String(), true
}
