package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go-micro.dev/v4/client"

	pb "github.com/microlb/microlb/proto/greeter"
	"github.com/microlb/microlb/selector"
)

// result is the outcome of one strategy's run.
type result struct {
	Strategy    selector.Strategy
	Service     string
	Requests    int
	Errors      int
	Concurrency int
	Retries     int
	Elapsed     time.Duration
	Nodes       []nodeCount // sorted by id
	P50, P99    time.Duration
	Keys        map[string]string // hash key -> node id; nil unless --key/--keys
	FirstError  string
}

// nodeCount is how many calls one node served.
type nodeCount struct {
	ID     string
	Weight int
	Count  int
}

// call is the outcome of one request.
type call struct {
	node   string // serving node id; "" on error
	weight int
	took   time.Duration
	err    error
}

// load sends cfg.requests Greeter.Hello calls with strategy s from
// cfg.concurrency workers and sums them up. Request i carries hash key
// keyFor(i), if any. It stops early when ctx ends; the calls not sent count
// as errors.
func load(ctx context.Context, svc pb.GreeterService, sel *selector.Selector, cfg *config, s selector.Strategy, prog *progress) *result {
	keyFor := keyFunc(cfg, s)
	calls := make([]call, cfg.requests)
	var next atomic.Int64
	var wg sync.WaitGroup
	prog.start(string(s), cfg.requests)
	start := time.Now()
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(calls) {
					return
				}
				if err := ctx.Err(); err != nil {
					calls[i].err = err
					continue
				}
				opts := []client.CallOption{client.WithSelectOption(selector.UseStrategy(s))}
				if key, ok := keyFor(i); ok {
					opts = append(opts, client.WithSelectOption(selector.WithKey(key)))
				}
				t0 := time.Now()
				rsp, err := svc.Hello(ctx, &pb.HelloRequest{Name: "consumer"}, opts...)
				c := call{took: time.Since(t0), err: err}
				if err == nil {
					c.node, c.weight = rsp.NodeId, int(rsp.Weight)
				}
				calls[i] = c
				prog.add()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	prog.finish()

	res := summarize(cfg, s, calls, keyFor)
	res.Elapsed = elapsed
	addIdleNodes(res, sel.Stats())
	return res
}

// keyFunc returns the hash key of request i: --key, or key-<i mod N> with
// --keys N, or (Hash only) a random key per request; ok is false for none.
func keyFunc(cfg *config, s selector.Strategy) func(i int) (key string, ok bool) {
	switch {
	case cfg.key != "":
		return func(int) (string, bool) { return cfg.key, true }
	case cfg.keys > 0:
		return func(i int) (string, bool) { return fmt.Sprintf("key-%d", i%cfg.keys), true }
	case s == selector.Hash:
		return func(int) (string, bool) { return fmt.Sprintf("%016x", rand.Uint64()), true }
	}
	return func(int) (string, bool) { return "", false }
}

// summarize counts the calls per node, the errors and the latency
// percentiles. With --key or --keys it also maps each key to the node that
// served its last successful request.
func summarize(cfg *config, s selector.Strategy, calls []call, keyFor func(int) (string, bool)) *result {
	res := &result{
		Strategy:    s,
		Service:     cfg.service,
		Requests:    len(calls),
		Concurrency: cfg.concurrency,
		Retries:     cfg.retries,
	}
	if cfg.key != "" || cfg.keys > 0 {
		res.Keys = map[string]string{}
	}
	byID := map[string]*nodeCount{}
	took := make([]time.Duration, 0, len(calls))
	for i, c := range calls {
		if c.err != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = c.err.Error()
			}
			continue
		}
		took = append(took, c.took)
		n := byID[c.node]
		if n == nil {
			n = &nodeCount{ID: c.node, Weight: c.weight}
			byID[c.node] = n
		}
		n.Count++
		if res.Keys != nil {
			if key, ok := keyFor(i); ok {
				res.Keys[key] = c.node
			}
		}
	}
	for _, n := range byID {
		res.Nodes = append(res.Nodes, *n)
	}
	sortNodes(res.Nodes)
	slices.Sort(took)
	res.P50, res.P99 = percentile(took, 50), percentile(took, 99)
	return res
}

// addIdleNodes adds the service's known nodes that served no call, from the
// selector's view, so that the table shows them too.
func addIdleNodes(res *result, stats []selector.ServiceStats) {
	seen := map[string]bool{}
	for _, n := range res.Nodes {
		seen[n.ID] = true
	}
	for _, ss := range stats {
		if ss.Name != res.Service {
			continue
		}
		for _, n := range ss.Nodes {
			if !seen[n.ID] {
				res.Nodes = append(res.Nodes, nodeCount{ID: n.ID, Weight: n.Weight})
			}
		}
	}
	sortNodes(res.Nodes)
}

func sortNodes(nodes []nodeCount) {
	slices.SortFunc(nodes, func(a, b nodeCount) int { return strings.Compare(a.ID, b.ID) })
}

// percentile returns the p-th percentile of sorted by the nearest-rank
// method, or 0 for no samples.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 × n)
	return sorted[max(rank, 1)-1]
}
