// Package load is a small closed-loop HTTP load generator for the failover
// stage, where wrk's totals are not enough: it records every request's start,
// latency, outcome and serving node, so the seconds around an event can be
// looked at on their own. Runs are bounded by a duration.
package load

import (
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
)

// Config describes one run.
type Config struct {
	// Method, URL, Body and ContentType make the request.
	Method, URL, Body, ContentType string
	// Conns is the number of concurrent closed-loop workers.
	Conns int
	// Duration bounds the run.
	Duration time.Duration
	// Timeout bounds one request.
	Timeout time.Duration
}

// Record is one request.
type Record struct {
	// Start is when the request started, since the run's start.
	Start time.Duration
	// Latency is the time to the end of the response body.
	Latency time.Duration
	// Status is the HTTP status, 0 on a transport error.
	Status int
	// Node is the "node_id" of a JSON answer, when it has one.
	Node string
	// Err describes a failure: "HTTP 502", or the transport error.
	Err string
	// Lag is how late after Start an open-loop request was sent (0 in
	// closed-loop runs).
	Lag time.Duration
}

// Failed reports whether the client saw an error: a transport error or a
// status other than 2xx.
func (r Record) Failed() bool { return r.Status/100 != 2 }

// Run sends requests from cfg.Conns workers until cfg.Duration has passed or
// ctx ends, and returns the run's start time and every request, ordered by
// worker and then start.
func Run(ctx context.Context, cfg Config) (time.Time, []Record) {
	tr := &http.Transport{MaxIdleConns: cfg.Conns, MaxIdleConnsPerHost: cfg.Conns, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: cfg.Timeout}
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
				all[w] = append(all[w], one(c, cfg, t0))
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

// one sends one request. It does not use the run's context, so a request in
// flight when the run ends completes (within cfg.Timeout) instead of being
// counted as an error the harness caused.
func one(c *http.Client, cfg Config, t0 time.Time) Record {
	start := time.Now()
	r := send(context.Background(), c, cfg.Method, cfg.URL, cfg.ContentType, cfg.Body, start, false)
	r.Start = start.Sub(t0)
	return r
}

// send sends one request and records its outcome, with its latency counted
// from since: a transport error, a non-2xx status (with the answer's
// go-micro error detail when detail is set), or the serving node.
func send(ctx context.Context, c *http.Client, method, url, contentType, body string, since time.Time, detail bool) Record {
	var r Record
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	answer, status, err := do(c, req)
	r.Latency = time.Since(since)
	switch {
	case err != nil:
		r.Err = shortErr(err)
	case status/100 != 2:
		r.Status, r.Err = status, "HTTP "+strconv.Itoa(status)
		var e struct {
			Detail string `json:"detail"`
		}
		if detail && json.Unmarshal(answer, &e) == nil && e.Detail != "" {
			r.Err += ": " + trunc(e.Detail, 80)
		}
	default:
		r.Status = status
		var v struct {
			NodeID string `json:"node_id"`
		}
		if json.Unmarshal(answer, &v) == nil {
			r.Node = v.NodeID
		}
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
