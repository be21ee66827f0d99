package selector

import (
	"sync"
	"testing"
)

func TestRetryBudget(t *testing.T) {
	tests := []struct {
		name                string
		ratio               float64
		min, requests, want int // want: retries granted of requests+10 asked, none ending
	}{
		{name: "default, 100 requests: 20%", ratio: 0.2, min: 3, requests: 100, want: 20},
		{name: "default, 5 requests: the minimum 3", ratio: 0.2, min: 3, requests: 5, want: 3},
		{name: "default, no request: the minimum 3", ratio: 0.2, min: 3, requests: 0, want: 3},
		{name: "50%, 3 requests, no minimum: floor 1", ratio: 0.5, min: 0, requests: 3, want: 1},
		{name: "zero budget refuses all", ratio: 0, min: 0, requests: 10, want: 0},
		{name: "ratio above 1 is 1", ratio: 7, min: 0, requests: 4, want: 4},
		{name: "negative values are 0", ratio: -1, min: -5, requests: 4, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewRetryBudget(tt.ratio, tt.min)
			var ends []func()
			for range tt.requests {
				ends = append(ends, b.Begin())
			}
			granted := 0
			for range tt.requests + 10 {
				if ok, done := b.TryRetry(); ok {
					granted++
					ends = append(ends, done)
				}
			}
			if granted != tt.want {
				t.Fatalf("granted %d retries, want %d", granted, tt.want)
			}
			if req, ret := b.InFlight(); req != int64(tt.requests) || ret != int64(tt.want) {
				t.Fatalf("in flight = %d requests, %d retries; want %d, %d", req, ret, tt.requests, tt.want)
			}
			for _, end := range ends {
				end()
			}
			if req, ret := b.InFlight(); req != 0 || ret != 0 {
				t.Fatalf("after every end: %d requests, %d retries in flight", req, ret)
			}
		})
	}
}

func TestRetryBudgetReleaseGrantsAgain(t *testing.T) {
	b := NewRetryBudget(0, 1)
	ok1, done1 := b.TryRetry()
	ok2, _ := b.TryRetry()
	done1()
	ok3, done3 := b.TryRetry()
	defer done3()
	if got := [3]bool{ok1, ok2, ok3}; got != [3]bool{true, false, true} {
		t.Fatalf("grants = %v, want [true false true]", got)
	}
}

// TestRetryBudgetRace: 100 goroutines never hold more retries than the
// limit allows, and every count returns to zero.
func TestRetryBudgetRace(t *testing.T) {
	b := NewRetryBudget(0.2, 3)
	var wg sync.WaitGroup
	var mu sync.Mutex
	over := 0
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				end := b.Begin()
				if ok, done := b.TryRetry(); ok {
					req, ret := b.InFlight()
					// req may have dropped since the grant; the limit
					// at grant time was at most max(3, 0.2 × 100).
					if ret > 20 || req < 0 {
						mu.Lock()
						over++
						mu.Unlock()
					}
					done()
				}
				end()
			}
		}()
	}
	wg.Wait()
	if req, ret := b.InFlight(); req != 0 || ret != 0 || over != 0 {
		t.Fatalf("after the race: %d requests, %d retries in flight, %d over the limit", req, ret, over)
	}
}

func BenchmarkRetryBudget(b *testing.B) {
	budget := DefaultRetryBudget()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			end := budget.Begin()
			if ok, done := budget.TryRetry(); ok {
				done()
			}
			end()
		}
	})
}
