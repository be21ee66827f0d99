package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/microlb/microlb/internal/tick"
)

// Progress display settings.
const (
	progressTick     = 200 * time.Millisecond // terminal refresh; shorter runs show nothing
	progressMinLines = 1000                   // requests before a non-terminal gets lines
)

// progress reports a run's progress on stderr: on a terminal, one line
// rewritten in place every 200 ms and erased when the run ends; otherwise a
// line at every 10 % of runs of 1000 requests or more. It writes only while a
// run is going, and results go to stdout only after finish, so the two never
// interleave.
type progress struct {
	w   io.Writer
	tty bool

	label  string
	total  int64
	done   atomic.Int64
	decile atomic.Int64 // last 10 % step printed (non-terminal)

	mu   sync.Mutex // serialises writes
	drew bool       // the terminal line is showing
	stop chan struct{}
	wg   sync.WaitGroup
}

// newProgress returns a progress writing to w, a terminal or not.
func newProgress(w io.Writer, tty bool) *progress { return &progress{w: w, tty: tty} }

// start begins a run of total requests called label.
func (p *progress) start(label string, total int) {
	p.label, p.total = label, int64(total)
	p.done.Store(0)
	p.decile.Store(0)
	if !p.tty {
		return
	}
	p.stop = make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick.Every(p.stop, progressTick, func() bool { p.draw(); return true })
	}()
}

// add counts one finished request.
func (p *progress) add() {
	done := p.done.Add(1)
	if p.tty || p.total < progressMinLines {
		return
	}
	d := done * 10 / p.total
	if last := p.decile.Load(); d > last && d < 10 && p.decile.CompareAndSwap(last, d) {
		p.mu.Lock()
		fmt.Fprintf(p.w, "consumer: %s %d%% (%d/%d)\n", p.label, d*10, done, p.total)
		p.mu.Unlock()
	}
}

// draw rewrites the terminal line.
func (p *progress) draw() {
	done := p.done.Load()
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K%s %d/%d (%d%%)", p.label, done, p.total, done*100/max(p.total, 1))
	p.drew = true
}

// finish ends the run and erases the terminal line.
func (p *progress) finish() {
	if !p.tty {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drew {
		fmt.Fprint(p.w, "\r\033[K")
		p.drew = false
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
