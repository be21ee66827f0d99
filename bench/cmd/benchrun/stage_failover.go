package main

import (
	"fmt"
	"math"
	"time"

	"github.com/microlb/microlb/bench/internal/load"
	"github.com/microlb/microlb/bench/internal/report"
	"github.com/microlb/microlb/bench/peers"
)

// adminServices is the gateway's admin endpoint with per-node pick counters.
const adminServices = "/admin/api/services"

// pollEvery is how often the failover stage reads the pick counters.
const pollEvery = 50 * time.Millisecond

// failoverStage loads Greeter.Hello (GET with a query: a read) through the
// gateway in front of 3 producers, kill -9s one of them part-way, and
// reports the client's errors, when the gateway last picked the dead node,
// and latency around the kill.
func (h *harness) failoverStage(st *report.Stage) error {
	if err := h.need(binProducer, binGateway); err != nil {
		return err
	}
	ps, addrs, err := h.startProducers(3)
	if err != nil {
		return err
	}
	gw, url, admin, err := h.startGateway("gateway-rpc.yaml.tmpl", peers.Params{})
	if err != nil {
		return err
	}
	nodes, err := h.waitHello(gw, report.NameGateway, url+rpcPath, 3)
	if err != nil {
		return err
	}
	victim, victimAddr := ps[0], addrs[0]
	ids := []string{victimAddr}
	if id := nodes[victimAddr]; id != "" {
		ids = append([]string{id}, ids...)
	}
	h.logf("%v of load from %d clients; kill -9 of producer %s at %v", h.o.failDur, h.o.failConns, victimAddr, h.o.killAt)

	// The killed node's pick counter (the first of ids found), read every
	// pollEvery; pollNote says why there is no reading.
	var picks []timedPicks
	pollNote, adminURL := "no reading yet", "http://"+admin+adminServices
	stopPoll := every(pollEvery, func() {
		body, err := fetch("GET", adminURL, "", time.Second)
		at := time.Now()
		if err != nil {
			pollNote = fmt.Sprintf("reading %s: %v", adminURL, err)
			return
		}
		for _, id := range ids {
			if n, ok := load.FindPicks(body, id); ok {
				picks = append(picks, timedPicks{at, n})
				return
			}
		}
		pollNote = fmt.Sprintf("%s has no pick counter for %v", adminURL, ids)
	})
	killed := make(chan time.Time, 1)
	timer := time.AfterFunc(h.o.killAt, func() { killed <- time.Now(); victim.Kill() })
	// A read (GET, idempotent): a call in flight to the killed node fails
	// with a reset, and the gateway retries it on another node (the
	// route's default of one retry). A POST is not retried once it may
	// have reached the node, so the same moment would cost client errors;
	// a user wanting that for a POST sets retry_non_idempotent on its route.
	t0, recs := load.Run(h.ctx, load.Config{Method: "GET", URL: url + rpcPath + rpcReadQuery,
		Conns: h.o.failConns, Duration: h.o.failDur, Timeout: 5 * time.Second})
	timer.Stop()
	stopPoll()
	if err := h.ctx.Err(); err != nil {
		return err
	}
	var killAt time.Time
	select {
	case killAt = <-killed:
	default:
		return fmt.Errorf("the run ended before the kill")
	}
	if len(recs) == 0 {
		return fmt.Errorf("the client completed no request")
	}
	f := analyseFailover(recs, picks, killAt.Sub(t0), h.o.window, t0)
	f.Duration, f.Killed = h.o.failDur, victimAddr
	if !f.UnpickedKnown {
		f.UnpickedNote = pollNote
	}
	h.res.Failover = f
	h.logf("%d requests, %d errors (%d after the kill); p99 before %v, during the event %v",
		f.Requests, f.Errors, f.ErrorsAfterKill, f.P99Before, f.P99Event)
	if f.UnpickedKnown {
		h.logf("killed node last picked %v after the kill (%d picks after it)", f.Unpicked, f.PicksAfterKill)
	} else {
		h.logf("killed node's picks unknown: %s", pollNote)
	}
	return nil
}

// analyseFailover reduces the client's records and the pick readings.
func analyseFailover(recs []load.Record, picks []timedPicks, killAt, window time.Duration, t0 time.Time) *report.Failover {
	all := load.Summarise(recs, 0, math.MaxInt64)
	before := load.Summarise(recs, 0, killAt)
	event := load.Summarise(recs, killAt, killAt+window)
	after := load.Summarise(recs, killAt, math.MaxInt64)
	f := &report.Failover{KillAt: killAt, Window: window, Requests: all.Requests, Errors: all.Failed,
		ErrorsAfterKill: after.Failed, P99Before: before.P99, P99Event: event.P99, P99All: all.P99,
		MaxEvent: event.Max, NodesBefore: before.Nodes, NodesAfter: after.Nodes, ErrorKinds: all.ErrorKinds}
	var samples []load.PickSample
	for _, p := range picks {
		samples = append(samples, load.PickSample{At: p.at.Sub(t0), Picks: p.picks})
	}
	if len(samples) > 0 {
		f.UnpickedKnown = true
		if last, n, ok := load.LastPick(samples, killAt); ok {
			f.Unpicked, f.PicksAfterKill = last-killAt, n
		}
	}
	return f
}

// timedPicks is one reading of the killed node's pick counter.
type timedPicks struct {
	at    time.Time
	picks int64
}
