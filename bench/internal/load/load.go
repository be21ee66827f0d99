// Package load is a small HTTP load generator for the stages where wrk's
// totals are not enough: closed loop (Run) for the failover stage, open loop
// at a fixed rate (RunOpen) for the tail stage. It records every request's
// start, latency, outcome and serving node, so the seconds around an event
// can be looked at on their own (Summarise), and reads the gateway's pick
// counters (FindPicks). Runs are bounded by a duration.
package load

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/microlb/microlb/bench/internal/pairs"
)

// Config describes one run: the request (Method, URL, Body, ContentType),
// Duration bounding the run and Timeout bounding one request. Run uses
// Conns closed-loop workers; RunOpen sends Rate requests per second whatever
// the answers do (so a slow server makes requests queue instead of slowing
// the load down, a closed loop's coordinated omission), at most MaxInFlight
// outstanding (0: 10 000): a request whose turn comes when that many are
// outstanding is not sent and is recorded as failed ("dropped: too many in
// flight").
type Config struct {
	Method, URL, Body, ContentType string
	Conns, MaxInFlight             int
	Rate                           float64
	Duration, Timeout              time.Duration
}

// Record is one request: its Start since the run's start, its Latency to the
// end of the answer's body, the HTTP Status (0 on a transport error), the
// Node ("node_id") of a JSON answer, Err describing a failure ("HTTP 502",
// or the transport error), and Lag, how late after Start an open-loop
// request was sent.
type Record struct {
	Start, Latency, Lag time.Duration
	Status              int
	Node, Err           string
}

// Failed reports whether the client saw an error: a transport error or a
// status other than 2xx.
func (r Record) Failed() bool { return r.Status/100 != 2 }

// Run sends requests from cfg.Conns workers until cfg.Duration has passed or
// ctx ends, and returns the run's start time and every request, ordered by
// worker and then start. A request in flight when the run ends completes
// (within cfg.Timeout) instead of being counted as an error the harness
// caused.
func Run(ctx context.Context, cfg Config) (time.Time, []Record) {
	c, done := client(cfg.Conns, cfg.Timeout)
	defer done()
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	t0 := time.Now()
	all := make([][]Record, cfg.Conns)
	var wg sync.WaitGroup
	for w := range cfg.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				start := time.Now()
				r := send(context.Background(), c, cfg, start, false)
				r.Start = start.Sub(t0)
				all[w] = append(all[w], r)
			}
		}()
	}
	wg.Wait()
	var out []Record
	for _, rs := range all {
		out = append(out, rs...)
	}
	return t0, out
}

// client returns an HTTP client keeping up to conns idle connections, and
// the function that closes them.
func client(conns int, timeout time.Duration) (*http.Client, func()) {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	return &http.Client{Transport: tr, Timeout: timeout}, tr.CloseIdleConnections
}

// send sends cfg's request and records its outcome, with its latency counted
// from since: a transport error, a non-2xx status (with the answer's
// go-micro error detail when detail is set), or the serving node.
func send(ctx context.Context, c *http.Client, cfg Config, since time.Time, detail bool) (r Record) {
	req, err := http.NewRequestWithContext(ctx, cfg.Method, cfg.URL, strings.NewReader(cfg.Body))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	if cfg.ContentType != "" {
		req.Header.Set("Content-Type", cfg.ContentType)
	}
	answer, status, err := do(c, req)
	r.Latency = time.Since(since)
	var v struct {
		NodeID string `json:"node_id"`
		Detail string `json:"detail"`
	}
	json.Unmarshal(answer, &v)
	switch {
	case err != nil:
		r.Err = shortErr(err)
	case status/100 != 2:
		r.Status, r.Err = status, "HTTP "+strconv.Itoa(status)
		if detail && v.Detail != "" {
			r.Err += ": " + trunc(v.Detail, 80)
		}
	default:
		r.Status, r.Node = status, v.NodeID
	}
	return r
}

// do sends req and reads the answer's body.
func do(c *http.Client, req *http.Request) ([]byte, int, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return body, resp.StatusCode, err
}

// shortErr drops the request line that net/http puts around a transport
// error, so that errors of the same kind read alike.
func shortErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Op + ": " + oe.Err.Error()
	}
	return err.Error()
}

// errDropped is the Record.Err of a request the generator could not send.
const errDropped = "dropped: too many in flight"

// RunOpen sends request i at cfg.Rate's i-th tick after the start, each on
// its own goroutine, until cfg.Duration has passed or ctx ends, and returns
// the run's start and every request in schedule order. A Record's Start is
// the scheduled time and its Latency (bounded by cfg.Timeout) runs from
// there to the end of the answer, so time a request waited behind a late
// sender counts. A non-2xx answer's Err carries the go-micro error's
// detail, when it has one.
func RunOpen(ctx context.Context, cfg Config) (time.Time, []Record) {
	limit := cmp.Or(cfg.MaxInFlight, 10000)
	c, done := client(limit, 0)
	defer done()
	n := int(cfg.Rate * cfg.Duration.Seconds())
	recs := make([]Record, n)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	t0 := time.Now()
	sent := 0
	for i := range n {
		at := time.Duration(float64(i) / cfg.Rate * float64(time.Second))
		sched := t0.Add(at)
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(sched)):
		}
		if ctx.Err() != nil {
			break
		}
		sent++
		lag := time.Since(sched)
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
			ctx, cancel := context.WithDeadline(context.Background(), sched.Add(cfg.Timeout))
			defer cancel()
			recs[i] = send(ctx, c, cfg, sched, true)
			recs[i].Start, recs[i].Lag = at, lag
		}()
	}
	wg.Wait()
	return t0, recs[:sent]
}

// trunc shortens s to at most n bytes, marking a cut with "…".
func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// LateThreshold is how late after its scheduled time a request may be
// sent before Summarise counts it as Late: a generator that falls behind (a
// busy machine, its own GC) adds its lag to the latencies it records.
const LateThreshold = 10 * time.Millisecond

// Summary describes a set of requests: Success is the share answered 2xx
// (0..1); Late counts requests sent LateThreshold or more after their
// scheduled time (open loop), MaxLag the most any was; the nearest-rank
// percentiles are of every request's latency, failed ones included; Nodes
// counts successful answers per serving node, ErrorKinds failures by
// Record.Err.
type Summary struct {
	Requests, Failed, Late int64
	Success                float64
	MaxLag                 time.Duration
	P50, P99, P999, Max    time.Duration
	Nodes, ErrorKinds      map[string]int64
}

// Summarise returns the Summary of the records that ended in [from, to):
// a request is counted when its answer (or error) arrived, so an error
// caused by an event falls after the event.
func Summarise(rs []Record, from, to time.Duration) Summary {
	s := Summary{Nodes: map[string]int64{}, ErrorKinds: map[string]int64{}}
	var lat []time.Duration
	for _, r := range rs {
		if end := r.Start + r.Latency; end < from || end >= to {
			continue
		}
		s.Requests++
		if r.Failed() {
			s.Failed++
			s.ErrorKinds[r.Err]++
		} else if r.Node != "" {
			s.Nodes[r.Node]++
		}
		lat = append(lat, r.Latency)
		s.Max, s.MaxLag = max(s.Max, r.Latency), max(s.MaxLag, r.Lag)
		if r.Lag >= LateThreshold {
			s.Late++
		}
	}
	if s.Requests > 0 {
		s.Success = float64(s.Requests-s.Failed) / float64(s.Requests)
	}
	s.P50, s.P99, s.P999 = pairs.Percentile(lat, 500), pairs.Percentile(lat, 990), pairs.Percentile(lat, 999)
	return s
}

// PickSample is a reading of a node's pick counter at a time since the run's
// start.
type PickSample struct {
	At    time.Duration
	Picks int64
}

// LastPick returns the time of the last reading at or after from whose
// counter had grown since the reading before it, and how much it grew in
// total from from on. ok is false when it never grew after from.
func LastPick(samples []PickSample, from time.Duration) (last time.Duration, picks int64, ok bool) {
	for i := 1; i < len(samples); i++ {
		if samples[i].At < from {
			continue
		}
		if d := samples[i].Picks - samples[i-1].Picks; d > 0 {
			last, ok = samples[i].At, true
			picks += d
		}
	}
	return last, picks, ok
}

// FindPicks reads the gateway's /admin/api/services document and returns
// the pick counter of the node whose id or address is node: the sum of its
// picks per strategy.
func FindPicks(doc []byte, node string) (int64, bool) {
	var v struct {
		Services []struct {
			Nodes []struct {
				ID, Address string
				Picks       map[string]int64
			}
		}
	}
	if json.Unmarshal(doc, &v) != nil {
		return 0, false
	}
	for _, s := range v.Services {
		for _, n := range s.Nodes {
			if n.ID == node || n.Address == node {
				var sum int64
				for _, c := range n.Picks {
					sum += c
				}
				return sum, n.Picks != nil
			}
		}
	}
	return 0, false
}
