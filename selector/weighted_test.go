package selector

import (
	"strings"
	"testing"

	"go-micro.dev/v4/selector"
)

func TestWeightedSequence(t *testing.T) {
	tests := []struct {
		name    string
		weights []string // nodes a, b, c… in order
		want    string   // one period, repeated twice below
	}{
		{name: "5/1/1", weights: []string{"5", "1", "1"}, want: "aabacaa"},
		{name: "common divisor 10/2/2", weights: []string{"10", "2", "2"}, want: "aabacaa"},
		{name: "2/1", weights: []string{"2", "1"}, want: "aba"},
		{name: "4/2/6 reduces to 2/1/3", weights: []string{"4", "2", "6"}, want: "cabcac"},
		{name: "equal", weights: []string{"3", "3", "3"}, want: "abc"},
		{name: "no metadata is 1", weights: []string{"", "", ""}, want: "abc"},
		{name: "drained node never picked", weights: []string{"1", "0", "1"}, want: "ac"},
		{name: "single", weights: []string{"7"}, want: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ns []tnode
			for i, w := range tt.weights {
				ns = append(ns, tnode{id: string(rune('a' + i)), weight: w})
			}
			s := newTest(t, newRegistry(t, "svc", ns...), WithStrategy(Weighted))
			got := strings.Join(picks(t, s, "svc", 2*len(tt.want)), "")
			if want := tt.want + tt.want; got != want {
				t.Fatalf("sequence = %s, want %s", got, want)
			}
		})
	}
}

func TestWeightedExactShares(t *testing.T) {
	// Weights 10 and 20 give exactly 30 and 60 picks out of 90, from any start.
	r := newRegistry(t, "svc", tnode{id: "a", weight: "10"}, tnode{id: "b", weight: "20"})
	s := New(selector.Registry(r), WithStrategy(Weighted)) // random start offset
	defer s.Close()
	got := counts(picks(t, s, "svc", 90))
	if got["a"] != 30 || got["b"] != 60 {
		t.Fatalf("counts = %v, want a:30 b:60", got)
	}
}

func TestWeightedLongPeriodFallback(t *testing.T) {
	// A period above maxWRRPeriod runs nginx's loop under a mutex: still exact.
	w := newWRRTable([]int{maxWRRPeriod, 1}, false)
	if w.seq != nil {
		t.Fatalf("expected the fallback for period %d", maxWRRPeriod+1)
	}
	s := newTest(t, newRegistry(t, "svc", tnode{id: "a", weight: "9999"}, tnode{id: "b", weight: "9998"}, tnode{id: "c", weight: "9997"}, tnode{id: "d", weight: "9996"}, tnode{id: "e", weight: "9995"}, tnode{id: "f", weight: "9994"}, tnode{id: "g", weight: "9993"}))
	total := 9999 + 9998 + 9997 + 9996 + 9995 + 9994 + 9993
	got := counts(picks(t, s, "svc", total))
	want := map[string]int{"a": 9999, "b": 9998, "c": 9997, "d": 9996, "e": 9995, "f": 9994, "g": 9993}
	for id, n := range want {
		if got[id] != n {
			t.Fatalf("node %s: %d picks, want %d (all: %v)", id, got[id], n, got)
		}
	}
	if svc := s.lookup("svc"); wrrOf(svc.snap.Load()).seq != nil {
		t.Fatalf("period %d should use the fallback", total)
	}
}
