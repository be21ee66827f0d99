package selector

import (
	"testing"

	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
)

func TestFilters(t *testing.T) {
	r := registry.NewMemoryRegistry()
	for _, svc := range []*registry.Service{
		{Name: "svc", Version: "v1", Nodes: []*registry.Node{
			{Id: "a", Address: "10.0.0.1:1", Metadata: map[string]string{"zone": "a"}},
			{Id: "b", Address: "10.0.0.2:1", Metadata: map[string]string{"zone": "b"}},
		}, Endpoints: []*registry.Endpoint{{Name: "Greeter.Hello"}}},
		{Name: "svc", Version: "v2", Nodes: []*registry.Node{
			{Id: "c", Address: "10.0.0.3:1", Metadata: map[string]string{"zone": "a"}},
		}, Endpoints: []*registry.Endpoint{{Name: "Greeter.Stream"}}},
	} {
		if err := r.Register(svc); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		filter  selector.Filter
		want    map[string]bool
		wantErr error
	}{
		{name: "version v1", filter: selector.FilterVersion("v1"), want: map[string]bool{"a": true, "b": true}},
		{name: "version v2", filter: selector.FilterVersion("v2"), want: map[string]bool{"c": true}},
		{name: "label zone=a", filter: selector.FilterLabel("zone", "a"), want: map[string]bool{"a": true, "c": true}},
		{name: "endpoint", filter: selector.FilterEndpoint("Greeter.Stream"), want: map[string]bool{"c": true}},
		{name: "nothing left", filter: selector.FilterVersion("v9"), wantErr: selector.ErrNoneAvailable},
	}
	for _, strat := range Strategies {
		for _, tt := range tests {
			t.Run(string(strat)+"/"+tt.name, func(t *testing.T) {
				s := newTest(t, r, WithStrategy(strat))
				next, err := s.Select("svc", selector.WithFilter(tt.filter), WithKey("k"))
				if tt.wantErr != nil {
					if err != tt.wantErr {
						t.Fatalf("err = %v, want %v", err, tt.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]bool{}
				for range 6 {
					n, err := next()
					if err != nil {
						t.Fatal(err)
					}
					got[n.Id] = true
				}
				if len(got) != len(tt.want) {
					t.Fatalf("picked %v, want %v", got, tt.want)
				}
				for id := range got {
					if !tt.want[id] {
						t.Fatalf("picked %s, filtered out (want %v)", id, tt.want)
					}
				}
			})
		}
	}
	// The snapshot itself is untouched by filters.
	s := newTest(t, r)
	pick(t, s, "svc", selector.WithFilter(func(ss []*registry.Service) []*registry.Service {
		ss[0].Nodes = ss[0].Nodes[:0] // a careless filter that mutates
		return ss
	}))
	if n := len(s.lookup("svc").snap.Load().services[0].Nodes); n == 0 {
		t.Fatal("a filter mutated the snapshot")
	}
}

func TestGoMicroStrategyHonoured(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", nodes(3, "")...))
	var gotServices int
	first := func(services []*registry.Service) selector.Next {
		gotServices = len(services)
		return func() (*registry.Node, error) { return services[0].Nodes[0], nil }
	}
	next, err := s.Select("svc", selector.WithStrategy(first))
	if err != nil {
		t.Fatal(err)
	}
	n, err := next()
	if err != nil || gotServices != 1 || n == nil {
		t.Fatalf("go-micro strategy not used: node %v err %v services %d", n, err, gotServices)
	}
}

func TestUseStrategyPerCall(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", tnode{id: "a", weight: "5"}, tnode{id: "b", weight: "1"}, tnode{id: "c", weight: "1"}), WithStrategy(Weighted))
	rr := counts(picks(t, s, "svc", 6, UseStrategy(RoundRobin)))
	if rr["a"] != 2 || rr["b"] != 2 || rr["c"] != 2 {
		t.Fatalf("UseStrategy(RoundRobin) picks %v, want 2 each", rr)
	}
	w := counts(picks(t, s, "svc", 7))
	if w["a"] != 5 || w["b"] != 1 || w["c"] != 1 {
		t.Fatalf("default Weighted picks %v, want 5/1/1", w)
	}
	// UseStrategy with a context another option replaced still works.
	ctxOpt := func(o *selector.SelectOptions) { o.Context = &wrapped{o.Context} }
	rr = counts(picks(t, s, "svc", 6, ctxOpt, UseStrategy(RoundRobin)))
	if rr["a"] != 2 {
		t.Fatalf("UseStrategy through a foreign context: %v", rr)
	}
}
