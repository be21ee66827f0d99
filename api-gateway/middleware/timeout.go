package middleware

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/microlb/microlb/api-gateway/apierr"
)

// ErrTimeout is the cancellation cause when a route's timeout passes before
// the response started.
var ErrTimeout = errors.New("route timeout")

// ErrStreamTimeout is the cancellation cause when a response outlives the
// route's stream timeout.
var ErrStreamTimeout = errors.New("route stream timeout")

// Timeout applies the route's two deadlines. Timeout bounds the time until
// the response starts: when it passes first, the layer claims the response,
// cancels the request's context with cause ErrTimeout and, once the handler
// returned, answers 504. StreamTimeout bounds the whole response, streams
// included; when it passes, the context is cancelled with ErrStreamTimeout
// and a started response ends where it is. The handlers watch the context,
// so a timed-out upstream call is abandoned at once.
func Timeout() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			info := InfoFrom(r.Context())
			if info == nil || info.Route == nil {
				next.ServeHTTP(w, r)
				return
			}
			rt := info.Route
			ctx, cancel := context.WithCancelCause(r.Context())
			defer cancel(nil)
			if rt.StreamTimeout > 0 {
				var stop context.CancelFunc
				ctx, stop = context.WithTimeoutCause(ctx, rt.StreamTimeout, ErrStreamTimeout)
				defer stop()
			}
			var timer *time.Timer
			if rt.Timeout > 0 {
				info.Writer.ExtendDeadlineFor(rt.Timeout)
				timer = time.AfterFunc(rt.Timeout, func() {
					if info.Writer.claim() {
						cancel(ErrTimeout)
					}
				})
			}
			next.ServeHTTP(w, r.WithContext(ctx))
			if timer != nil {
				timer.Stop()
			}
			if errors.Is(context.Cause(ctx), ErrTimeout) {
				info.Writer.writeClaimed(func(w http.ResponseWriter) {
					apierr.Write(w, http.StatusGatewayTimeout, "upstream did not answer within "+rt.Timeout.String())
				})
				return
			}
			if r.Context().Err() != nil {
				info.Writer.setStatus(apierr.StatusClientClosed)
			}
		})
	}
}

// TimedOut reports whether ctx ended because of a route timeout (either
// kind), as opposed to the client going away.
func TimedOut(ctx context.Context) bool {
	c := context.Cause(ctx)
	return errors.Is(c, ErrTimeout) || errors.Is(c, ErrStreamTimeout) || errors.Is(c, context.DeadlineExceeded)
}
