package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/selector"
)

// Limits of one test run.
const (
	maxTestCalls     = 10000
	testCallWorkers  = 8
	testCallTimeout  = 5 * time.Second
	testCallProgress = 100 * time.Millisecond
)

// testCallsRequest is the body of POST /admin/api/test-calls.
type testCallsRequest struct {
	Service  string `json:"service"`
	Strategy string `json:"strategy"`
	N        int    `json:"n"`
}

// testCallsProgress is one NDJSON line of the answer: the counts so far, by
// the node that served each call. The last line has Final set.
type testCallsProgress struct {
	Done     int            `json:"done"`
	N        int            `json:"n"`
	Errors   int            `json:"errors"`
	Counts   map[string]int `json:"counts"`
	Endpoint string         `json:"endpoint,omitempty"`
	Final    bool           `json:"final,omitempty"`
	Error    string         `json:"last_error,omitempty"`
}

// testCalls makes N real calls to a service with one strategy, through the
// gateway's own selector and client, and streams the distribution as it
// fills in. An RPC service gets its first unary endpoint with an empty JSON
// body; an HTTP service gets GET /. Hash calls use a fresh key each. One
// run at a time: a second one while the first runs gets 409.
func (g *Gateway) testCalls(w http.ResponseWriter, r *http.Request) {
	if !g.testRun.CompareAndSwap(false, true) {
		apierr.Write(w, http.StatusConflict, "a test-calls run is already under way; one at a time")
		return
	}
	defer g.testRun.Store(false)
	var req testCallsRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		apierr.Write(w, http.StatusBadRequest, "test-calls body: "+err.Error())
		return
	}
	strategy, err := selector.ParseStrategy(req.Strategy)
	if err != nil {
		apierr.Write(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.N < 1 || req.N > maxTestCalls {
		apierr.Write(w, http.StatusBadRequest, fmt.Sprintf("n must be between 1 and %d", maxTestCalls))
		return
	}
	svc, err := g.catalog.Lookup(req.Service)
	if err != nil {
		apierr.Write(w, http.StatusNotFound, fmt.Sprintf("service %q: %v", req.Service, err))
		return
	}
	if svc.Foreign {
		apierr.Write(w, http.StatusBadRequest, fmt.Sprintf("service %q is neither a go-micro service nor an HTTP service (protocol: http); the gateway does not call it", svc.Name))
		return
	}
	call := g.testRPC(svc.Name, strategy)
	endpoint := ""
	if svc.HTTP {
		call, endpoint = g.testHTTP(svc.Name, strategy), "GET /"
	} else {
		for _, name := range slices.Sorted(maps.Keys(svc.Endpoints)) {
			if !svc.Endpoints[name].Stream {
				endpoint = name
				break
			}
		}
		if endpoint == "" {
			apierr.Write(w, http.StatusBadRequest, fmt.Sprintf("service %q has no unary endpoint to call", svc.Name))
			return
		}
	}

	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a long run outlives the write timeout

	var (
		mu      sync.Mutex
		counts  = map[string]int{}
		done    int
		errs    int
		lastErr string
		next    atomic.Int64
		wg      sync.WaitGroup
	)
	snapshot := func(final bool) testCallsProgress {
		mu.Lock()
		defer mu.Unlock()
		return testCallsProgress{Done: done, N: req.N, Errors: errs, Counts: maps.Clone(counts), Endpoint: endpoint, Final: final, Error: lastErr}
	}
	for range min(testCallWorkers, req.N) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)); i <= req.N && r.Context().Err() == nil; i = int(next.Add(1)) {
				node, err := call(r.Context(), endpoint, i)
				mu.Lock()
				done++
				if err != nil {
					errs++
					lastErr = err.Error()
				} else {
					counts[node]++
				}
				mu.Unlock()
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	enc := json.NewEncoder(w)
	tick := time.NewTicker(testCallProgress)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			_ = enc.Encode(snapshot(true))
			_ = rc.Flush()
			return
		case <-tick.C:
			if enc.Encode(snapshot(false)) != nil || rc.Flush() != nil {
				<-finished // the client left: the workers stop at their next call
				return
			}
		}
	}
}

// testRPC returns a function that calls endpoint of service once over RPC
// with the strategy and reports the node that answered.
func (g *Gateway) testRPC(service string, strategy selector.Strategy) func(context.Context, string, int) (string, error) {
	return func(ctx context.Context, endpoint string, i int) (string, error) {
		return g.rpc.Call(ctx, service, endpoint, []byte("{}"), strategy, "test-"+strconv.Itoa(i), testCallTimeout)
	}
}

// testHTTP returns a function that sends GET / to one node of an HTTP
// service picked with the strategy, and reports that node.
func (g *Gateway) testHTTP(service string, strategy selector.Strategy) func(context.Context, string, int) (string, error) {
	hc := &http.Client{Transport: g.httpRT, Timeout: testCallTimeout}
	return func(ctx context.Context, _ string, i int) (string, error) {
		next, err := g.sel.Select(service, selector.UseStrategy(strategy), selector.WithKey("test-"+strconv.Itoa(i)))
		if err != nil {
			return "", err
		}
		node, err := next()
		if err != nil {
			return "", err
		}
		done := g.sel.Track(service, node)
		defer done()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+node.Address+"/", nil)
		if err != nil {
			return "", err
		}
		rsp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, rsp.Body)
			rsp.Body.Close()
			if rsp.StatusCode >= 500 {
				err = fmt.Errorf("%s answered %s", node.Id, rsp.Status)
			}
		}
		g.sel.Mark(service, node, err)
		return node.Id, err
	}
}
