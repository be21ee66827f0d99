package middleware

import (
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/microlb/microlb/api-gateway/apierr"
)

// Recover turns a panic in an inner layer into a 500 with the request ID in
// its detail, logged with the stack, so that the client gets an answer and
// the connection stays up. http.ErrAbortHandler is re-panicked: it is the
// deliberate way to abort a response.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				info := InfoFrom(r.Context())
				id := ""
				if info != nil {
					id = info.RequestID
				}
				log.ErrorContext(r.Context(), "panic", "request_id", id, "panic", v, "stack", string(debug.Stack()))
				if info != nil && info.Writer.Started() {
					return // the status is out; the truncated body ends here
				}
				apierr.Write(w, http.StatusInternalServerError, "internal error; request id "+id)
			}()
			next.ServeHTTP(w, r)
		})
	}
}
