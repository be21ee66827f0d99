package middleware

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/reqinfo"
)

// BodyLimit caps the request body at the route's MaxBodyBytes: a declared
// Content-Length above it is refused with 413 at once, and a longer body
// fails the read with *http.MaxBytesError, which the handlers turn into 413.
func BodyLimit() func(http.Handler) http.Handler {
	return layer(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rt := reqinfo.RouteOf(r)
		if rt == nil || rt.MaxBodyBytes <= 0 || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r) // nothing to limit (net/http gives a request without a body NoBody)
			return
		}
		if r.ContentLength > rt.MaxBodyBytes {
			w.Header().Set("Connection", "close")
			apierr.Write(w, http.StatusRequestEntityTooLarge, TooLarge(rt.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, rt.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// TooLarge is the detail of a 413.
func TooLarge(limit int64) string {
	return "request body larger than " + strconv.FormatInt(limit, 10) + " bytes"
}

// IsTooLarge reports whether err comes from reading past the body limit.
func IsTooLarge(err error) (limit int64, ok bool) {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return mb.Limit, true
	}
	return 0, false
}
