package middleware

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/reqinfo"
	"github.com/microlb/microlb/api-gateway/upstream"
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
	return layer(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		info := reqinfo.FromContext(r.Context())
		if info == nil || info.Route == nil {
			next.ServeHTTP(w, r)
			return
		}
		rt := info.Route
		ctx := newRouteCtx(r.Context(), info, rt.Timeout, rt.StreamTimeout)
		defer ctx.cancel(nil)
		if rt.Timeout > 0 {
			info.Writer.ExtendDeadlineFor(rt.Timeout)
		}
		outer := w.Header().Clone() // what the outer layers set (request id, CORS)
		next.ServeHTTP(w, r.WithContext(ctx))
		ctx.stop()
		// Ask the writer, not the context: the timer claims the response
		// before it cancels, and the handler may return in between.
		if info.Writer.Settle() {
			h := w.Header()
			clear(h) // drop what the handler set for its own, unsent answer
			maps.Copy(h, outer)
			info.Writer.WriteClaimed(func(w http.ResponseWriter) {
				apierr.WriteError(w, upstream.Timeout(info.Service, rt.Timeout))
			})
			return
		}
		if r.Context().Err() != nil {
			info.Writer.SetStatus(apierr.StatusClientClosed)
		}
	})
}

// routeCtx is the context of a request under a route's deadlines: a
// cancelable context (cancelled with the cause ErrTimeout or
// ErrStreamTimeout), whose Deadline is the stream deadline, with one timer
// for both deadlines. The timer first fires at the Timeout: it claims the
// response if it has not started and cancels, and otherwise waits on for
// the stream deadline. That is one allocation and one timer per request
// where a cancel context, a deadline context and a second timer were three
// and two. Children find the embedded cancel context through Value, so the
// context package links them to it directly (no goroutine).
type routeCtx struct {
	context.Context // from context.WithCancelCause
	cancel          context.CancelCauseFunc
	info            *reqinfo.Info
	stream          time.Time // the stream deadline; zero: none

	mu      sync.Mutex
	timer   *time.Timer
	ttfb    bool // the next firing is the Timeout's
	stopped bool
}

func newRouteCtx(parent context.Context, info *reqinfo.Info, timeout, streamTimeout time.Duration) *routeCtx {
	c := &routeCtx{info: info}
	c.Context, c.cancel = context.WithCancelCause(parent)
	now := time.Now()
	if streamTimeout > 0 {
		c.stream = now.Add(streamTimeout)
	}
	var first time.Duration
	switch {
	case timeout > 0 && (streamTimeout <= 0 || timeout < streamTimeout):
		first, c.ttfb = timeout, true
	case streamTimeout > 0:
		first = streamTimeout
	default:
		return c
	}
	c.mu.Lock() // fire waits until c.timer is set
	c.timer = time.AfterFunc(first, c.fire)
	c.mu.Unlock()
	return c
}

// Deadline is the stream deadline, or the parent's when there is none.
func (c *routeCtx) Deadline() (time.Time, bool) {
	if !c.stream.IsZero() {
		return c.stream, true
	}
	return c.Context.Deadline()
}

func (c *routeCtx) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.stopped:
	case !c.ttfb:
		c.cancel(ErrStreamTimeout)
	default:
		c.ttfb = false
		if c.info.Writer.Claim() {
			c.cancel(ErrTimeout)
		} else if !c.stream.IsZero() {
			c.timer.Reset(time.Until(c.stream)) // the response started: on to the stream deadline
		}
	}
}

// stop ends the timer: the handler returned.
func (c *routeCtx) stop() {
	c.mu.Lock()
	c.stopped = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
}

// TimedOut reports whether ctx ended because of a route timeout (either
// kind), as opposed to the client going away.
func TimedOut(ctx context.Context) bool {
	c := context.Cause(ctx)
	return errors.Is(c, ErrTimeout) || errors.Is(c, ErrStreamTimeout) || errors.Is(c, context.DeadlineExceeded)
}
