package load

import (
	"math"
	"time"

	"github.com/microlb/microlb/bench/internal/pairs"
)

// Summary describes a set of requests.
type Summary struct {
	Requests, Errors int64
	P50, P99, Max    time.Duration
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
	var lat []float64
	for _, r := range rs {
		if end := r.Start + r.Latency; end < from || end >= to {
			continue
		}
		s.Requests++
		if r.Failed() {
			s.Errors++
			s.ErrorKinds[r.Err]++
		} else if r.Node != "" {
			s.Nodes[r.Node]++
		}
		lat = append(lat, float64(r.Latency))
		s.Max = max(s.Max, r.Latency)
	}
	s.P50 = dur(pairs.Percentile(lat, 50))
	s.P99 = dur(pairs.Percentile(lat, 99))
	return s
}

func dur(v float64) time.Duration {
	if math.IsNaN(v) {
		return 0
	}
	return time.Duration(v)
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
