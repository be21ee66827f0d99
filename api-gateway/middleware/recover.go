package middleware

import (
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/reqinfo"
)

// Recover turns a panic in an inner layer into a 500 with the request ID in
// its detail, logged with the stack, so that the client gets an answer and
// the connection stays up. A panic after the status line went out is
// logged and becomes http.ErrAbortHandler: net/http then cuts the
// connection (no terminating chunk, a short Content-Length), so the client
// sees a broken response rather than a truncated body that looks complete.
// http.ErrAbortHandler is re-panicked: it is the deliberate way to abort a
// response.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return layer(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			info := reqinfo.FromContext(r.Context())
			id := ""
			if info != nil {
				id = info.RequestID
			}
			log.ErrorContext(r.Context(), "panic", "request_id", id, "panic", v, "stack", string(debug.Stack()))
			if info != nil && info.Writer.Started() {
				panic(http.ErrAbortHandler) // the status is out: abort, never end the body cleanly
			}
			apierr.Write(w, http.StatusInternalServerError, "internal error; request id "+id)
		}()
		next.ServeHTTP(w, r)
	})
}
