package rpc

import (
	"math"
	"sync/atomic"
	"time"
)

// latencyBuckets are the histogram's buckets: bucket i holds latencies up
// to latencyMin × latencyGrowth^i; the last one holds everything longer.
const (
	latencyBuckets = 64
	latencyMin     = 100 * time.Microsecond
	latencyGrowth  = 1.25
	// latencyWindow is how long one half of the histogram collects before
	// it is cleared: a quantile covers the last one to two windows.
	latencyWindow = 5 * time.Second
	// latencyMinSamples is how many samples a quantile needs; with fewer,
	// no hedge is sent on a percentile delay.
	latencyMinSamples = 50
)

// latencies is a lock-free histogram of a route's recent attempt latencies,
// in two halves that take turns: samples go to the current half, and when a
// window has passed the older half is cleared and becomes current. A
// quantile reads both.
type latencies struct {
	halves [2][latencyBuckets]atomic.Uint32
	cur    atomic.Uint32 // index of the current half
	turned atomic.Int64  // when the current half became current (unix ns)
	now    func() time.Time
}

func newLatencies() *latencies {
	l := &latencies{now: time.Now}
	l.turned.Store(l.now().UnixNano())
	return l
}

func bucketOf(d time.Duration) int {
	if d <= latencyMin {
		return 0
	}
	i := int(math.Ceil(math.Log(float64(d)/float64(latencyMin)) / math.Log(latencyGrowth)))
	return min(i, latencyBuckets-1)
}

func bucketBound(i int) time.Duration {
	return time.Duration(float64(latencyMin) * math.Pow(latencyGrowth, float64(i)))
}

// observe records one attempt's latency.
func (l *latencies) observe(d time.Duration) {
	now := l.now().UnixNano()
	if t := l.turned.Load(); now-t > int64(latencyWindow) && l.turned.CompareAndSwap(t, now) {
		next := 1 - l.cur.Load()
		for i := range l.halves[next] {
			l.halves[next][i].Store(0)
		}
		l.cur.Store(next)
	}
	l.halves[l.cur.Load()][bucketOf(d)].Add(1)
}

// quantile returns the upper bound of the bucket holding the q-th
// percentile (q in 0..100) of the recent samples, and false when there are
// fewer than latencyMinSamples.
func (l *latencies) quantile(q float64) (time.Duration, bool) {
	var counts [latencyBuckets]uint64
	var total uint64
	for h := range l.halves {
		for i := range counts {
			c := uint64(l.halves[h][i].Load())
			counts[i] += c
			total += c
		}
	}
	if total < latencyMinSamples {
		return 0, false
	}
	rank := uint64(math.Ceil(q / 100 * float64(total)))
	var seen uint64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return bucketBound(i), true
		}
	}
	return bucketBound(latencyBuckets - 1), true
}
