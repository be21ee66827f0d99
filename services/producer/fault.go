package main

import (
	"fmt"
	"net"
	"sync"
)

// The --fail_mode values.
const (
	failError = "error" // answer with a go-micro 500
	failDrop  = "drop"  // close the connection without a reply
)

// faults decides which calls fail, for the --fail_rate demo knob.
type faults struct {
	rate float64        // fraction of calls that fail, 0..1
	mode string         // failError or failDrop
	draw func() float64 // uniform in [0, 1); safe for concurrent use
}

// parseFailMode checks a --fail_mode value.
func parseFailMode(s string) (string, error) {
	switch s {
	case failError, failDrop:
		return s, nil
	}
	return "", fmt.Errorf("fail_mode %q: want %s or %s", s, failError, failDrop)
}

// checkFailRate checks a --fail_rate value.
func checkFailRate(r float64) error {
	if !(r >= 0 && r <= 1) { // also rejects NaN
		return fmt.Errorf("fail_rate %v: want a fraction between 0 and 1", r)
	}
	return nil
}

// fail reports whether the next call fails: it draws once and fails when the
// draw is below the rate, so rate 0 never fails and rate 1 always does.
func (f faults) fail() bool {
	return f.rate > 0 && f.draw() < f.rate
}

// connTracker is the RPC server's listener. It remembers every open
// connection by its remote address, so that a handler can drop the
// connection its call came in on (--fail_mode drop). go-micro's HTTP
// transport hijacks these connections and gives the handler only the remote
// address, in the "Remote" metadata.
type connTracker struct {
	net.Listener
	conns sync.Map // remote address -> *trackedConn
}

// Accept accepts a connection and tracks it until it is closed.
func (l *connTracker) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l, remote: c.RemoteAddr().String(), done: make(chan struct{})}
	l.conns.Store(tc.remote, tc)
	return tc, nil
}

// drop closes the connection from remote without writing anything more on
// it, so the caller sees the connection end before any reply. It reports
// whether there was such a connection.
func (l *connTracker) drop(remote string) bool {
	v, ok := l.conns.Load(remote)
	if !ok {
		return false
	}
	v.(*trackedConn).Close()
	return true
}

// closed returns a channel that is closed when the connection from remote
// closes, or nil (never ready) if there is no such connection.
func (l *connTracker) closed(remote string) <-chan struct{} {
	v, ok := l.conns.Load(remote)
	if !ok {
		return nil
	}
	return v.(*trackedConn).done
}

// open returns the number of tracked connections.
func (l *connTracker) open() int {
	n := 0
	l.conns.Range(func(any, any) bool { n++; return true })
	return n
}

// trackedConn is a connection that leaves its tracker when closed.
type trackedConn struct {
	net.Conn
	l      *connTracker
	remote string
	done   chan struct{} // closed by Close
	once   sync.Once
}

// Close untracks and closes the connection.
func (c *trackedConn) Close() error {
	c.l.conns.CompareAndDelete(c.remote, c)
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}
