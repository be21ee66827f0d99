package selector

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"go-micro.dev/v4/registry"
)

// TestRace runs 100 goroutines selecting with every strategy while the
// registry changes and nodes are marked and tracked. Run it under -race.
func TestRace(t *testing.T) {
	r := newRegistry(t, "svc", nodes(5, "2")...)
	s := New(withRegistryOpt(r), WithFailureThreshold(3))
	defer s.Close()
	pick(t, s, "svc")

	var wg sync.WaitGroup
	var picked, failed atomic.Int64
	stop := make(chan struct{})
	for g := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				strat := Strategies[(g+i)%len(Strategies)]
				next, err := s.Select("svc", UseStrategy(strat), WithKey(fmt.Sprint(i)))
				if err != nil {
					failed.Add(1)
					continue
				}
				n, err := next()
				if err != nil {
					failed.Add(1)
					continue
				}
				done := s.Track("svc", n)
				if i%7 == 0 {
					s.Mark("svc", n, io.EOF)
				} else {
					s.Mark("svc", n, nil)
				}
				done()
				picked.Add(1)
			}
		}()
	}
	wg.Add(1)
	go func() { // registry churn
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			n := &registry.Node{Id: fmt.Sprintf("churn%d", i%3), Address: fmt.Sprintf("10.9.9.%d:1", i%3)}
			if i%2 == 0 {
				_ = r.Register(&registry.Service{Name: "svc", Nodes: []*registry.Node{n}})
			} else {
				_ = r.Deregister(&registry.Service{Name: "svc", Nodes: []*registry.Node{n}})
			}
			_ = s.Stats()
		}
	}()
	go func() {
		for picked.Load()+failed.Load() < 100*200 {
			runtimeGosched()
		}
		close(stop)
	}()
	wg.Wait()
	if failed.Load() != 0 || picked.Load() != 100*200 {
		t.Fatalf("picked %d, failed %d; want %d and 0", picked.Load(), failed.Load(), 100*200)
	}
	var inflight int64
	for _, svc := range s.Stats() {
		inflight += svc.InFlight
	}
	if inflight != 0 {
		t.Fatalf("in flight after all calls ended: %d", inflight)
	}
}
