package selector

import (
	"fmt"
	"testing"
	"time"

	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
)

// benchSizes are the node counts of the benchmarks.
var benchSizes = []int{3, 100, 1000}

// benchRegistry holds one service "svc" with n nodes, weights 1..3.
func benchRegistry(b *testing.B, n int) registry.Registry {
	r := registry.NewMemoryRegistry()
	ns := make([]*registry.Node, n)
	for i := range ns {
		ns[i] = &registry.Node{
			Id:       fmt.Sprintf("node-%04d", i),
			Address:  fmt.Sprintf("10.0.%d.%d:8080", i/256, i%256),
			Metadata: map[string]string{"weight": fmt.Sprint(1 + i%3), "zone": fmt.Sprintf("z%d", i%3)},
		}
	}
	if err := r.Register(&registry.Service{Name: "svc", Version: "1", Nodes: ns}); err != nil {
		b.Fatal(err)
	}
	return r
}

// benchSelect measures one Select and its first Next.
func benchSelect(b *testing.B, s selector.Selector, opts func(i int) []selector.SelectOption) {
	b.Helper()
	if _, err := s.Select("svc"); err != nil { // load and watch outside the timing
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		next, err := s.Select("svc", opts(i)...)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := next(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSelect measures Select+Next per strategy and node count, with
// go-micro v4's default selector (RoundRobin strategy) as the baseline in
// the same run. Hash keys are built outside the loop: building the option is
// the caller's cost under either selector.
func BenchmarkSelect(b *testing.B) {
	keys := make([][]selector.SelectOption, 1024)
	for i := range keys {
		keys[i] = []selector.SelectOption{WithKey(fmt.Sprintf("user-%d", i))}
	}
	none := func(int) []selector.SelectOption { return nil }
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("gomicro-default/%d", n), func(b *testing.B) {
			s := selector.NewSelector(selector.Registry(benchRegistry(b, n)), selector.SetStrategy(selector.RoundRobin))
			defer s.Close()
			benchSelect(b, s, none)
		})
		for _, strat := range Strategies {
			b.Run(fmt.Sprintf("%s/%d", strat, n), func(b *testing.B) {
				s := New(selector.Registry(benchRegistry(b, n)), WithStrategy(strat))
				defer s.Close()
				opts := none
				if strat == Hash {
					opts = func(i int) []selector.SelectOption { return keys[i%len(keys)] }
				}
				benchSelect(b, s, opts)
			})
		}
	}
}

// BenchmarkSelectFeatures measures Select+Next over 100 nodes with zone-aware
// routing on (a third of the nodes local), and while a node slow-starts.
func BenchmarkSelectFeatures(b *testing.B) {
	none := func(int) []selector.SelectOption { return nil }
	for _, strat := range []Strategy{Random, Weighted, LeastLoaded} {
		b.Run("zone/"+string(strat), func(b *testing.B) {
			s := New(selector.Registry(benchRegistry(b, 100)), WithStrategy(strat), WithZone("z0"))
			defer s.Close()
			benchSelect(b, s, none)
		})
		b.Run("slowstart/"+string(strat), func(b *testing.B) {
			r := benchRegistry(b, 100)
			s := New(selector.Registry(r), WithStrategy(strat), WithSlowStart(time.Hour))
			defer s.Close()
			if _, err := s.Select("svc"); err != nil {
				b.Fatal(err)
			}
			if err := r.Register(&registry.Service{Name: "svc", Version: "1", Nodes: []*registry.Node{{Id: "late", Address: "10.9.9.9:1"}}}); err != nil {
				b.Fatal(err)
			}
			waitFor(b, func() bool { return s.lookup("svc").snap.Load().lastJoin != 0 })
			benchSelect(b, s, none)
		})
	}
}

// BenchmarkSelectParallel is BenchmarkSelect's RoundRobin and Weighted under
// RunParallel, where the lock-free pick path matters.
func BenchmarkSelectParallel(b *testing.B) {
	for _, n := range []int{3, 1000} {
		b.Run(fmt.Sprintf("gomicro-default/%d", n), func(b *testing.B) {
			s := selector.NewSelector(selector.Registry(benchRegistry(b, n)), selector.SetStrategy(selector.RoundRobin))
			defer s.Close()
			benchParallel(b, s)
		})
		for _, strat := range []Strategy{RoundRobin, Weighted, LeastLoaded} {
			b.Run(fmt.Sprintf("%s/%d", strat, n), func(b *testing.B) {
				s := New(selector.Registry(benchRegistry(b, n)), WithStrategy(strat))
				defer s.Close()
				benchParallel(b, s)
			})
		}
	}
}

func benchParallel(b *testing.B, s selector.Selector) {
	if _, err := s.Select("svc"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			next, err := s.Select("svc")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := next(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRebuild measures a snapshot rebuild (weights, period and ring).
func BenchmarkRebuild(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			services, err := benchRegistry(b, n).GetService("svc")
			if err != nil {
				b.Fatal(err)
			}
			cfg, _ := newConfig(selector.Options{}, nil)
			states, warned := map[string]*nodeState{}, map[string]bool{}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				buildSnapshot(services, states, warned, cfg.log, 0)
			}
		})
	}
}
