package load

import (
	"context"
	"net/http"
	"slices"
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

// LateThreshold is how late after its scheduled time a request may be
// sent before Tail counts it as Late: a generator that falls behind (a
// busy machine, its own GC) adds its lag to the latencies it records.
const LateThreshold = 10 * time.Millisecond

// Tail is the latency and success of a set of requests.
type Tail struct {
	Requests, Failed int64
	// Late counts requests sent LateThreshold or more after their
	// scheduled time; MaxLag is the most any was.
	Late   int64
	MaxLag time.Duration
	// Success is the share of requests answered 2xx, 0..1.
	Success float64
	// Percentiles of every request's latency, failed ones included.
	P50, P99, P999, Max time.Duration
	// ErrorKinds counts failures by Record.Err.
	ErrorKinds map[string]int64
}

// SummariseTail returns the Tail of rs.
func SummariseTail(rs []Record) Tail {
	t := Tail{ErrorKinds: map[string]int64{}}
	lat := make([]time.Duration, 0, len(rs))
	for _, r := range rs {
		t.Requests++
		if r.Failed() {
			t.Failed++
			t.ErrorKinds[r.Err]++
		}
		lat = append(lat, r.Latency)
		t.Max = max(t.Max, r.Latency)
		t.MaxLag = max(t.MaxLag, r.Lag)
		if r.Lag >= LateThreshold {
			t.Late++
		}
	}
	if t.Requests > 0 {
		t.Success = float64(t.Requests-t.Failed) / float64(t.Requests)
	}
	slices.Sort(lat)
	t.P50, t.P99, t.P999 = rank(lat, 500), rank(lat, 990), rank(lat, 999)
	return t
}

// rank is the nearest-rank percentile of the sorted lat, given in tenths
// of a percent (999 for p99.9), in integers so that p99.9 of 1000 values
// is the 999th; 0 when lat is empty.
func rank(lat []time.Duration, perMille int) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	return lat[max((len(lat)*perMille+999)/1000, 1)-1]
}
