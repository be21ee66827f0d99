package middleware

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/microlb/microlb/api-gateway/reqinfo"
)

// RequestIDHeader carries the request ID in both directions.
const RequestIDHeader = "X-Request-Id"

// RequestID is the outermost layer. It accepts the client's X-Request-Id
// when it is a sane token (1–128 characters of letters, digits and ._:-)
// and generates a UUID otherwise, echoes it in the response, finds the
// client IP (believing X-Forwarded-For only from trusted proxies), and
// creates the request's Info and Writer that every inner layer shares
// (request.New).
func RequestID(trusted []netip.Prefix, writeTimeout time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(RequestIDHeader)
			generated := !validRequestID(id)
			if generated {
				id = newRequestID()
			}
			idv := []string{id}
			if generated {
				// One slice for the request's and the response's header:
				// both hold exactly this value, and Header.Add appends to
				// a full slice by copying it, so neither changes the other.
				r.Header[RequestIDHeader] = idv
			}
			info := reqinfo.New(rw, writeTimeout)
			info.RequestID, info.ClientIP = id, ClientIP(r, trusted)
			w := info.Writer
			w.Header()[RequestIDHeader] = idv
			next.ServeHTTP(w, r.WithContext(reqinfo.NewContext(r.Context(), info)))
		})
	}
}

// newRequestID returns a random (version 4) UUID.
func newRequestID() string { return uuid.NewString() }

func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// ClientIP returns the address of the client: the connection's peer, or,
// when the peer is a trusted proxy, the right-most address in
// X-Forwarded-For that is not itself a trusted proxy.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !isTrusted(a, trusted) {
			return a.String()
		}
	}
	return host
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
