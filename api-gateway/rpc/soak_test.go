package rpc

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/api-gateway/route"
	"github.com/microlb/microlb/internal/tick"
)

// soakCalls is the soak's total when MICROLB_SOAK_CALLS does not say
// (`make test`); `make soak` runs 1,000,000. Under the race detector, which
// slows every call about tenfold, the default is soakCallsRace.
const (
	soakCalls     = 50000
	soakCallsRace = 4000
)

// soakLevels are the concurrencies the calls are split across, in turn.
var soakLevels = []int{1, 8, 64, 256}

// soakHang is how long one call may take before it counts as hung. The bug
// it guards against hangs a call forever; the bound is far beyond any
// answer of a loopback node, even on a loaded 2-core machine under the race
// detector, where the 256 connections a new level opens at once can queue
// calls for seconds.
const soakHang = 30 * time.Second

// TestSoakStockMucp sends soakCalls unary calls (soakCallsRace under the
// race detector; MICROLB_SOAK_CALLS overrides) through the handler's pooled connections to one unmodified
// go-micro v4.11.0 mucp node, a quarter at each concurrency of soakLevels.
// It requires 0 errors and 0 hangs (a call that outlives soakHang), and that
// the calls share connections rather than open one each. A progress line goes
// to stderr every 5 s.
func TestSoakStockMucp(t *testing.T) {
	total := soakCalls
	if raceEnabled {
		total = soakCallsRace
	}
	if v := os.Getenv("MICROLB_SOAK_CALLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < len(soakLevels) {
			t.Fatalf("MICROLB_SOAK_CALLS=%q: want a whole number >= %d", v, len(soakLevels))
		}
		total = n
	}
	reg := registry.NewMemoryRegistry()
	node := startStock(t, reg, "mucp", "soak")
	h := newTestHandler(t, reg)
	rt := &route.Route{Timeout: soakHang}
	start := time.Now()
	var sent, failed, hung atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	defer close(stop)
	go tick.Every(stop, 5*time.Second, func() bool {
		d := time.Since(start)
		fmt.Fprintf(os.Stderr, "soak: %d/%d calls, %d errors, %d hangs, %.0f calls/s\n",
			sent.Load(), total, failed.Load(), hung.Load(), float64(sent.Load())/d.Seconds())
		return true
	})
	per := total / len(soakLevels)
	for li, c := range soakLevels {
		n := per
		if li == len(soakLevels)-1 {
			n = total - per*(len(soakLevels)-1)
		}
		var next atomic.Int64
		var wg sync.WaitGroup
		for range c {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					body := []byte(`{"name":"soak"}`)
					ctx, cancel := context.WithTimeout(context.Background(), soakHang)
					_, _, err := h.unary(ctx, rt, &unaryCall{service: "greeter", endpoint: "Greeter.Hello", body: body,
						md: map[string]string{}, maxResponse: DefaultMaxResponse}, true, roundRobin)
					if err != nil {
						if ctx.Err() != nil {
							hung.Add(1)
						} else {
							failed.Add(1)
						}
						firstErr.CompareAndSwap(nil, err.Error())
					}
					cancel()
					sent.Add(1)
				}
			}()
		}
		wg.Wait()
	}
	d := time.Since(start)
	node.mu.Lock()
	conns := len(node.remotes)
	node.mu.Unlock()
	fmt.Fprintf(os.Stderr, "soak: done: %d calls at concurrency %v in %s (%.0f calls/s), %d errors, %d hangs, %d connections\n",
		sent.Load(), soakLevels, d.Round(time.Millisecond), float64(sent.Load())/d.Seconds(), failed.Load(), hung.Load(), conns)
	if failed.Load() != 0 || hung.Load() != 0 {
		t.Errorf("%d errors and %d hangs in %d calls, want none; first: %v", failed.Load(), hung.Load(), sent.Load(), firstErr.Load())
	}
	// Connections are shared: at most one per concurrent caller (plus a
	// few replaced ones), never one per call.
	if max := soakLevels[len(soakLevels)-1] * 2; conns > max {
		t.Errorf("%d calls used %d connections, want at most %d", sent.Load(), conns, max)
	}
}
