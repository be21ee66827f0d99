package load

import (
	"encoding/json"
	"time"

	"github.com/microlb/microlb/bench/internal/pairs"
)

// LateThreshold is how late after its scheduled time a request may be
// sent before Summarise counts it as Late: a generator that falls behind (a
// busy machine, its own GC) adds its lag to the latencies it records.
const LateThreshold = 10 * time.Millisecond

// Summary describes a set of requests.
type Summary struct {
	Requests, Failed int64
	// Success is the share of requests answered 2xx, 0..1.
	Success float64
	// Late counts requests sent LateThreshold or more after their
	// scheduled time (open loop); MaxLag is the most any was.
	Late   int64
	MaxLag time.Duration
	// Nearest-rank percentiles of every request's latency, failed ones
	// included.
	P50, P99, P999, Max time.Duration
	// Nodes counts successful answers per serving node.
	Nodes map[string]int64
	// ErrorKinds counts failures by Record.Err.
	ErrorKinds map[string]int64
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
