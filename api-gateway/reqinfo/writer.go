package reqinfo

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Writer wraps the server's ResponseWriter once per request. It records the
// status and byte count, pushes the write deadline forward on every flush so
// that streams outlive the server's WriteTimeout as long as they make
// progress, and, once the timeout layer has claimed the response (Claim),
// drops the handler's late writes so that the 504 is the only answer.
type Writer struct {
	rw           http.ResponseWriter
	rc           http.ResponseController
	writeTimeout time.Duration
	deadline     atomic.Int64 // the write deadline last set (unix ns; an upper bound of net/http's)

	mu       sync.Mutex
	status   int
	bytes    int64
	started  bool
	claimed  bool // the timeout layer owns the response
	settled  bool // the handler returned: the response can no longer be claimed
	hijacked bool
}

// progress is how far a response got: a copy of the Writer's fields.
type progress struct {
	status  int
	bytes   int64
	started bool
}

// progress returns how far the response got, read under the lock.
func (w *Writer) progress() progress {
	w.mu.Lock()
	defer w.mu.Unlock()
	return progress{w.status, w.bytes, w.started}
}

// ErrClaimed is returned by Write after the timeout layer took over.
var ErrClaimed = errors.New("response claimed by the gateway (timeout)")

// NewWriter wraps rw. writeTimeout is the server's WriteTimeout (0: none).
func NewWriter(rw http.ResponseWriter, writeTimeout time.Duration) *Writer {
	w := &Writer{}
	w.init(rw, writeTimeout)
	return w
}

// init sets up a zero Writer (one embedded in a larger allocation).
func (w *Writer) init(rw http.ResponseWriter, writeTimeout time.Duration) {
	w.rw, w.rc, w.writeTimeout = rw, *http.NewResponseController(rw), writeTimeout
	if writeTimeout > 0 {
		// net/http set the connection's write deadline to this (a little
		// earlier: when it finished reading the request's headers).
		w.deadline.Store(time.Now().Add(writeTimeout).UnixNano())
	}
}

// Header returns the response headers.
func (w *Writer) Header() http.Header { return w.rw.Header() }

// WriteHeader sends the status line unless the response already started or
// was claimed. 1xx statuses other than 101 are passed through as
// informational.
func (w *Writer) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.claimed || w.started {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.rw.WriteHeader(code)
		return
	}
	w.status, w.started = code, true
	w.ExtendDeadline()
	w.rw.WriteHeader(code)
}

// Write writes body bytes, sending a 200 first if needed.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.claimed {
		w.mu.Unlock()
		return 0, ErrClaimed
	}
	if !w.started {
		w.status, w.started = http.StatusOK, true
	}
	w.mu.Unlock()
	n, err := w.rw.Write(p)
	w.mu.Lock()
	w.bytes += int64(n)
	w.mu.Unlock()
	return n, err
}

// Flush sends buffered data to the client and extends the write deadline.
func (w *Writer) Flush() { _ = w.FlushError() }

// FlushError is Flush returning the error, for http.ResponseController.
func (w *Writer) FlushError() error {
	w.mu.Lock()
	claimed := w.claimed
	if !claimed && !w.started {
		w.status, w.started = http.StatusOK, true
	}
	w.mu.Unlock()
	if claimed {
		return ErrClaimed
	}
	w.ExtendDeadline()
	return w.controller().Flush()
}

// ExtendDeadline pushes the connection's write deadline to now plus the
// server's WriteTimeout. Moving the deadline is not free (it re-arms a
// runtime timer), so a push of less than a sixteenth of the WriteTimeout
// (at most a second) is skipped: the deadline stays at least that close to
// now plus WriteTimeout, and a request answered at once moves it never.
func (w *Writer) ExtendDeadline() {
	if w.writeTimeout > 0 {
		w.setDeadline(time.Now().Add(w.writeTimeout))
	}
}

// ExtendDeadlineFor pushes the write deadline to now plus d plus the
// server's WriteTimeout, for a route whose timeout exceeds the server's.
// With d up to half the WriteTimeout, the deadline net/http set holds at
// least half a WriteTimeout after the route's timeout to write the answer
// (or, once the response starts, WriteHeader pushes it): nothing to do.
func (w *Writer) ExtendDeadlineFor(d time.Duration) {
	if w.writeTimeout > 0 && d > w.writeTimeout/2 {
		w.setDeadline(time.Now().Add(d + w.writeTimeout))
	}
}

// setDeadline moves the write deadline to t unless that is less than the
// slack past the last one set.
func (w *Writer) setDeadline(t time.Time) {
	slack := min(w.writeTimeout/16, time.Second)
	if last := w.deadline.Load(); t.UnixNano()-last < int64(slack) {
		return
	}
	w.deadline.Store(t.UnixNano())
	_ = w.controller().SetWriteDeadline(t)
}

func (w *Writer) controller() *http.ResponseController { return &w.rc }

// Hijack takes over the connection (WebSocket upgrades through the proxy).
func (w *Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := w.controller().Hijack()
	if err == nil {
		w.mu.Lock()
		w.status, w.started, w.hijacked = http.StatusSwitchingProtocols, true, true
		w.mu.Unlock()
	}
	return conn, brw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *Writer) Unwrap() http.ResponseWriter { return w.rw }

// Status returns the status sent, or 0 before the response started.
func (w *Writer) Status() int { return w.progress().status }

// Bytes returns the number of body bytes written.
func (w *Writer) Bytes() int64 { return w.progress().bytes }

// Started reports whether the status line was sent.
func (w *Writer) Started() bool { return w.progress().started }

// Claim hands the response to the timeout layer if it has not started and
// the handler has not returned; it reports whether it did. From then on the
// handler's writes are dropped. Only the timeout layer calls it.
func (w *Writer) Claim() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started || w.claimed || w.settled {
		return false
	}
	w.claimed = true
	return true
}

// Settle ends the handler's turn: Claim fails from now on. It reports
// whether the response was claimed before, in which case the claiming layer
// must send its answer with WriteClaimed (the handler's writes were
// dropped). Only the timeout layer calls it.
func (w *Writer) Settle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.settled = true
	return w.claimed
}

// WriteClaimed lets the layer that claimed the response send its own.
func (w *Writer) WriteClaimed(send func(http.ResponseWriter)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rec := &recorder{ResponseWriter: w.rw}
	send(rec)
	w.status, w.started, w.bytes = rec.status, true, rec.bytes
}

// SetStatus records a status that was not sent (the timeout layer's 499
// for a client that left); it does nothing once the response started.
func (w *Writer) SetStatus(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		w.status = code
	}
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }
func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}
