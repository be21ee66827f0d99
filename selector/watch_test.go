package selector

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go-micro.dev/v4/registry"
)

func TestWatchUpdateWithin100ms(t *testing.T) {
	r := newRegistry(t, "svc", nodes(2, "")...)
	s := newTest(t, r, WithStrategy(RoundRobin))
	pick(t, s, "svc")
	tests := []struct {
		name   string
		change func() error
		want   int
	}{
		{name: "node joins", want: 3, change: func() error {
			return r.Register(&registry.Service{Name: "svc", Nodes: []*registry.Node{{Id: "new", Address: "10.0.1.1:1"}}})
		}},
		{name: "node leaves", want: 2, change: func() error {
			return r.Deregister(&registry.Service{Name: "svc", Nodes: []*registry.Node{{Id: "new", Address: "10.0.1.1:1"}}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			if err := tt.change(); err != nil {
				t.Fatal(err)
			}
			for len(counts(picks(t, s, "svc", 6))) != tt.want {
				if time.Since(start) > 100*time.Millisecond {
					t.Fatalf("picks did not reach %d nodes within 100ms", tt.want)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

func TestStateSurvivesRebuild(t *testing.T) {
	r := newRegistry(t, "svc", nodes(3, "")...)
	s := newTest(t, r, WithFailureThreshold(1))
	pick(t, s, "svc")
	s.Mark("svc", node("n0001"), errors.New("refused"))
	before := s.lookup("svc").snap.Load()
	if err := r.Register(&registry.Service{Name: "svc", Nodes: []*registry.Node{{Id: "x", Address: "10.0.1.1:1"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.lookup("svc").snap.Load() != before })
	if st := stats(t, s, "n0001"); st.Health != HealthEjected {
		t.Fatalf("ejection lost across rebuild: %s", st.Health)
	}
}

// flakyRegistry fails GetService while broken is set. It wraps a real
// memory registry; the failure is what a registry outage looks like.
type flakyRegistry struct {
	registry.Registry
	broken atomic.Bool
}

func (f *flakyRegistry) GetService(name string, opts ...registry.GetOption) ([]*registry.Service, error) {
	if f.broken.Load() {
		return nil, errors.New("registry unreachable")
	}
	return f.Registry.GetService(name, opts...)
}

func TestRegistryOutageServesLastSnapshot(t *testing.T) {
	f := &flakyRegistry{Registry: newRegistry(t, "svc", nodes(3, "")...)}
	s := newTest(t, f, WithStrategy(RoundRobin))
	pick(t, s, "svc")
	f.broken.Store(true)
	// An event arrives while the registry cannot be read.
	if err := f.Register(&registry.Service{Name: "svc", Nodes: []*registry.Node{{Id: "late", Address: "10.0.1.1:1"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.lookup("svc").stale.Load() })
	if got := counts(picks(t, s, "svc", 6)); len(got) != 3 {
		t.Fatalf("during the outage picks = %v, want the 3 known nodes", got)
	}
	if !s.Stats()[0].Stale {
		t.Fatal("Stats does not report the stale snapshot")
	}
	f.broken.Store(false) // the retry with backoff picks up the late node
	waitFor(t, func() bool { return len(s.lookup("svc").snap.Load().nodes) == 4 && !s.Stats()[0].Stale })
}

func TestEmptyHold(t *testing.T) {
	clock := newFakeClock()
	r := newRegistry(t, "svc", nodes(1, "")...)
	s := newTest(t, r, WithEmptyHold(time.Minute), WithClock(clock.Now))
	pick(t, s, "svc")
	if err := r.Deregister(&registry.Service{Name: "svc", Nodes: []*registry.Node{{Id: "n0000"}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return s.lookup("svc").stale.Load() })
	if got := pick(t, s, "svc"); got != "n0000" {
		t.Fatalf("held node not served: %s", got)
	}
	clock.Advance(time.Minute)
	waitFor(t, func() bool { return s.lookup("svc").snap.Load().empty() })
}

func TestCloseLeaksNoGoroutine(t *testing.T) {
	r := registry.NewMemoryRegistry()
	for i := range 5 {
		register(t, r, "svc"+string(rune('a'+i)), nodes(2, "")...)
	}
	time.Sleep(10 * time.Millisecond)
	before := runtime.NumGoroutine()
	s := New(withRegistryOpt(r))
	for i := range 5 {
		pick(t, s, "svc"+string(rune('a'+i)))
	}
	if got := runtime.NumGoroutine(); got < before+5 {
		t.Fatalf("%d goroutines with 5 watches, want at least %d", got, before+5)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
	if _, err := s.Select("svca"); err != ErrClosed {
		t.Fatalf("Select after Close: %v, want ErrClosed", err)
	}
}

func TestInitNewRegistry(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", tnode{id: "old"}))
	if got := pick(t, s, "svc"); got != "old" {
		t.Fatal(got)
	}
	if err := s.Init(withRegistryOpt(newRegistry(t, "svc", tnode{id: "new"}))); err != nil {
		t.Fatal(err)
	}
	if got := pick(t, s, "svc"); got != "new" {
		t.Fatalf("after Init with a new registry picked %s", got)
	}
}

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
			runtime.Gosched()
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
