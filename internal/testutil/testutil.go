// Package testutil holds the helpers that several test packages share: a
// log buffer safe for concurrent writes, a poll-until-true wait, a
// go-micro error decoder, a settable clock, a line filter, an atomic file
// write and a heap measure. It is imported by tests only.
package testutil

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	merrors "go-micro.dev/v4/errors"
)

// SyncBuffer is a bytes.Buffer safe for concurrent use: a log sink that
// goroutines write to while the test reads it. The zero value is empty and
// ready.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// PollInterval is how often WaitFor calls its condition.
const PollInterval = 10 * time.Millisecond

// WaitFor calls cond every PollInterval until it returns true, and fails t
// with "timed out after <timeout> waiting for <what>" if it has not by then.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(PollInterval)
	}
}

// MicroError decodes body as a go-micro error. ok is false when body is not
// one: not JSON, or without an id or a code.
func MicroError(body string) (e *merrors.Error, ok bool) {
	e = new(merrors.Error)
	if json.Unmarshal([]byte(body), e) != nil || e.Code == 0 || e.Id == "" {
		return nil, false
	}
	return e, true
}

// MustMicroError is MicroError that fails t when body is not a go-micro
// error.
func MustMicroError(t testing.TB, body string) *merrors.Error {
	t.Helper()
	e, ok := MicroError(body)
	if !ok {
		t.Fatalf("not a go-micro error: %q", body)
	}
	return e
}

// Listen returns a TCP listener on a free loopback port, failing t when
// there is none.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Clock is a settable clock, safe for concurrent use: pass its Now where
// code takes a clock, and move it with Advance.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a Clock that reads start.
func NewClock(start time.Time) *Clock {
	c := new(Clock)
	c.ns.Store(start.UnixNano())
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Grep returns the lines of s that contain substr, joined by newlines.
func Grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
