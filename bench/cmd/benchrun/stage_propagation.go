package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/go-micro/plugins/v4/registry/consul"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"

	"github.com/microlb/microlb/bench/internal/pairs"
	"github.com/microlb/microlb/bench/internal/report"
	"github.com/microlb/microlb/internal/consultest"
	mlb "github.com/microlb/microlb/selector"
)

// propService is the registry name of the propagation stage's nodes.
const propService = "bench-prop"

// pickPause is the pause between two picks while watching a node go.
const pickPause = 200 * time.Microsecond

// propagationStage deregisters one of three nodes through Consul's HTTP API
// and measures, for microlb's selector and for go-micro's default selector
// (both over go-micro's consul registry plugin, each with its own registry
// client), the time until the last pick of that node.
func (h *harness) propagationStage(st *report.Stage) error {
	agent, err := h.consul()
	if err != nil {
		return err
	}
	newReg := func() registry.Registry { return consul.NewRegistry(registry.Addrs(agent.Addr)) }
	nodes := make([]*registry.Node, 3)
	for i := range nodes {
		nodes[i] = &registry.Node{Id: fmt.Sprintf("%s-%d", propService, i+1),
			Address: fmt.Sprintf("127.0.0.1:%d", 1+i), Metadata: map[string]string{"weight": "1"}}
		if err := register(newReg(), nodes[i]); err != nil {
			return err
		}
	}
	sels := []namedSelector{
		{report.NameMicrolb, mlb.New(selector.Registry(newReg()), mlb.WithStrategy(mlb.RoundRobin))},
		{report.NameGoMicroSel, selector.NewSelector(selector.Registry(newReg()), selector.SetStrategy(selector.RoundRobin))},
	}
	defer func() {
		for _, s := range sels {
			s.sel.Close()
		}
	}()
	// Let both selectors load the service and start their watches before
	// the first deregistration: go-micro's registry cache merges its first
	// watch event into what it cached, so a node removed before the watch
	// is up would stay cached until the cache's 1-minute TTL.
	for _, n := range nodes {
		if err := pickedByAll(sels, n.Id); err != nil {
			return err
		}
	}
	time.Sleep(h.o.propQuiet)
	results := make([]report.Propagation, len(sels))
	for i, s := range sels {
		results[i] = report.Propagation{Selector: s.name, Limit: h.o.propMax}
	}
	for rep := range h.o.propReps {
		victim := nodes[rep%len(nodes)]
		if err := register(newReg(), victim); err != nil {
			return err
		}
		if err := pickedByAll(sels, victim.Id); err != nil {
			return err
		}
		if err := h.ctx.Err(); err != nil {
			return err
		}
		t0 := time.Now()
		if err := consultest.Deregister(h.ctx, agent.Addr, victim.Id); err != nil {
			return err
		}
		var wg sync.WaitGroup
		for i, s := range sels {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, censored := watchGone(s.sel, victim.Id, t0, h.o.propQuiet, h.o.propMax)
				results[i].Samples = append(results[i].Samples, d)
				if censored {
					results[i].Censored++
				}
			}()
		}
		wg.Wait()
		h.logf("rep %d/%d: %s last picked %v after the deregistration, %s %v", rep+1, h.o.propReps,
			sels[0].name, results[0].Samples[rep], sels[1].name, results[1].Samples[rep])
	}
	for i := range results {
		results[i].P50, results[i].P99 = pairs.Percentile(results[i].Samples, 500), pairs.Percentile(results[i].Samples, 990)
	}
	h.res.Propagation = results
	return nil
}

// register registers one node of propService. The consul plugin registers
// only a service's first node per call, and a registry value skips
// re-registering a service it registered recently (without a TTL), so every
// call needs a fresh registry value r.
func register(r registry.Registry, n *registry.Node) error {
	return r.Register(&registry.Service{Name: propService, Version: "bench", Nodes: []*registry.Node{n}})
}

// pickOnce picks one node of propService and returns its id, or "".
func pickOnce(s selector.Selector) string {
	if next, err := s.Select(propService); err == nil {
		if n, err := next(); err == nil {
			return n.Id
		}
	}
	return ""
}

// namedSelector is one selector under test.
type namedSelector struct {
	name string
	sel  selector.Selector
}

// pickedByAll returns an error unless each of sels picks node id within
// 10 s.
func pickedByAll(sels []namedSelector, id string) error {
	for _, s := range sels {
		picked := false
		for end := time.Now().Add(10 * time.Second); !picked && time.Now().Before(end); time.Sleep(pickPause) {
			picked = pickOnce(s.sel) == id
		}
		if !picked {
			return fmt.Errorf("%s never picked node %s", s.name, id)
		}
	}
	return nil
}

// watchGone picks from s until node id has not been picked for quiet (or
// max has passed since t0), and returns the time from t0 to its last pick
// (0 if it was never picked after t0). censored is true when max ended the
// watch while the node was still being picked.
func watchGone(s selector.Selector, id string, t0 time.Time, quiet, max time.Duration) (d time.Duration, censored bool) {
	lastPick := t0
	for {
		now := time.Now()
		if pickOnce(s) == id {
			lastPick = now
		}
		if now.Sub(lastPick) >= quiet {
			return lastPick.Sub(t0), false
		}
		if now.Sub(t0) >= max {
			return lastPick.Sub(t0), true
		}
		time.Sleep(pickPause)
	}
}
