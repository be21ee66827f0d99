package load

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// OpenConfig describes one open-loop run: requests are sent at a fixed
// rate whatever the answers do, so a slow server makes requests queue
// instead of slowing the load down (a closed loop's coordinated omission).
type OpenConfig struct {
	// Method, URL, Body and ContentType make the request.
	Method, URL, Body, ContentType string
	// Rate is the requests per second, Duration the length of the schedule.
	Rate     float64
	Duration time.Duration
	// Timeout bounds one request, from its scheduled start.
	Timeout time.Duration
	// MaxInFlight bounds the requests outstanding at once; a request
	// whose turn comes when MaxInFlight are outstanding is not sent and
	// is recorded as failed ("dropped: too many in flight"). 0: 10 000.
	MaxInFlight int
}

// errDropped is the Record.Err of a request the generator could not send.
const errDropped = "dropped: too many in flight"

// RunOpen sends request i at cfg.Rate's i-th tick after the start, each on
// its own goroutine, until cfg.Duration has passed or ctx ends, and returns
// the run's start and every request in schedule order. A Record's Start is
// the scheduled time and its Latency runs from there to the end of the
// answer, so time a request waited behind a late sender counts. A non-2xx
// answer's Err carries the go-micro error's detail, when it has one.
func RunOpen(ctx context.Context, cfg OpenConfig) (time.Time, []Record) {
	limit := cfg.MaxInFlight
	if limit <= 0 {
		limit = 10000
	}
	tr := &http.Transport{MaxIdleConns: limit, MaxIdleConnsPerHost: limit, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	n := int(cfg.Rate * cfg.Duration.Seconds())
	recs := make([]Record, n)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	t0 := time.Now()
	sent := 0
	for i := range n {
		at := time.Duration(float64(i) / cfg.Rate * float64(time.Second))
		if d := time.Until(t0.Add(at)); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
		if ctx.Err() != nil {
			break
		}
		sent++
		lag := time.Since(t0.Add(at))
		select {
		case sem <- struct{}{}:
		default:
			recs[i] = Record{Start: at, Err: errDropped, Lag: lag}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			recs[i] = oneOpen(c, cfg, t0, at)
			recs[i].Lag = lag
		}()
	}
	wg.Wait()
	return t0, recs[:sent]
}

// oneOpen sends the request scheduled at t0+at, bounded by cfg.Timeout from
// then; its latency counts from then too.
func oneOpen(c *http.Client, cfg OpenConfig, t0 time.Time, at time.Duration) Record {
	sched := t0.Add(at)
	ctx, cancel := context.WithDeadline(context.Background(), sched.Add(cfg.Timeout))
	defer cancel()
	r := send(ctx, c, cfg.Method, cfg.URL, cfg.ContentType, cfg.Body, sched, true)
	r.Start = at
	return r
}

// trunc shortens s to at most n bytes, marking a cut with "…".
func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
