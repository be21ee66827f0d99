// Package pairs schedules A/B runs alternately and reduces them to ratios
// taken within each pair, so that the slow drift of a noisy machine cancels
// out instead of favouring whichever target ran in a quiet moment.
package pairs

import (
	"cmp"
	"iter"
	"math"
	"slices"
	"time"
)

// Slot is one A/B pair of the schedule: repetition Rep (from 0), the target
// Other compared with the base, and whether the base runs first.
type Slot struct {
	Rep       int
	Other     string
	BaseFirst bool
}

// Schedule returns the run order comparing each of others with base over
// reps repetitions: one pair per repetition and target, with the base first
// in even repetitions and second in odd ones (A B, B A, A B, ...).
func Schedule(base string, others []string, reps int) []Slot {
	var s []Slot
	for rep := range reps {
		for _, o := range others {
			if o == base {
				continue
			}
			s = append(s, Slot{Rep: rep, Other: o, BaseFirst: rep%2 == 0})
		}
	}
	return s
}

// Sample is one measured run of a target.
type Sample struct {
	RPS      float64
	P50, P99 time.Duration
	Errors   int64
}

// Pair is a base run and a target run measured back to back.
type Pair struct {
	Rep         int
	Target      string
	Base, Other Sample
}

// Ratio summarises one target against the base over its pairs. A ratio is
// NaN when no pair had a non-zero denominator.
// RPS is the median over the N pairs of Other.RPS / Base.RPS (RPSMin and
// RPSMax the extremes), P50 and P99 the medians of the latency ratios; Other
// and Base are medians of the absolute values, Errors the target's errors
// over all its runs.
type Ratio struct {
	Target                        string
	N                             int
	RPS, RPSMin, RPSMax, P50, P99 float64
	Other, Base                   Sample
	Errors                        int64
}

// Ratios reduces pairs to one Ratio per target, in order of first
// appearance.
func Ratios(ps []Pair) []Ratio {
	var out []Ratio
	for t, tps := range Group(ps, func(p Pair) string { return p.Target }) {
		out = append(out, ratio(t, tps))
	}
	return out
}

// Group yields the items of xs that share a key, for each key in order of
// its first appearance.
func Group[T any](xs []T, key func(T) string) iter.Seq2[string, []T] {
	return func(yield func(string, []T) bool) {
		var order []string
		by := map[string][]T{}
		for _, x := range xs {
			k := key(x)
			if _, ok := by[k]; !ok {
				order = append(order, k)
			}
			by[k] = append(by[k], x)
		}
		for _, k := range order {
			if !yield(k, by[k]) {
				return
			}
		}
	}
}

func ratio(target string, ps []Pair) Ratio {
	r := Ratio{Target: target, N: len(ps)}
	var rps, p50, p99 []float64
	var others, bases []Sample
	for _, p := range ps {
		rps = appendRatio(rps, p.Other.RPS, p.Base.RPS)
		p50 = appendRatio(p50, float64(p.Other.P50), float64(p.Base.P50))
		p99 = appendRatio(p99, float64(p.Other.P99), float64(p.Base.P99))
		others, bases = append(others, p.Other), append(bases, p.Base)
		r.Errors += p.Other.Errors
	}
	r.RPS, r.P50, r.P99 = Median(rps), Median(p50), Median(p99)
	r.RPSMin, r.RPSMax = math.NaN(), math.NaN()
	if len(rps) > 0 {
		r.RPSMin, r.RPSMax = slices.Min(rps), slices.Max(rps)
	}
	r.Other, r.Base = MedianSample(others), MedianSample(bases)
	return r
}

// MedianSample is the medians of ss's requests/s, p50 and p99 (Errors 0).
func MedianSample(ss []Sample) Sample {
	var rps, p50, p99 []float64
	for _, s := range ss {
		rps, p50, p99 = append(rps, s.RPS), append(p50, float64(s.P50)), append(p99, float64(s.P99))
	}
	return Sample{RPS: Median(rps), P50: time.Duration(Median(p50)), P99: time.Duration(Median(p99))}
}

func appendRatio(xs []float64, num, den float64) []float64 {
	if den == 0 {
		return xs
	}
	return append(xs, num/den)
}

// Median returns the median of xs (the mean of the middle two for an even
// count), or NaN for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// Percentile returns the nearest-rank percentile of xs, given in tenths of
// a percent (990 for p99, 999 for p99.9): the smallest value with at least
// that share of the values at or below it, so p99 of 20 values is the
// largest and p99.9 of 1000 the 999th. It counts in integers, where
// 0.999*1000 in floating point would round up to 1000. It returns the zero
// value for none.
func Percentile[T cmp.Ordered](xs []T, perMille int) T {
	if len(xs) == 0 {
		var zero T
		return zero
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(max((len(s)*perMille+999)/1000, 1), len(s))-1]
}
