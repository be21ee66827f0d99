package selector

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"
)

// recLogger records the messages logged at each level.
type recLogger struct {
	logger.Logger
	mu   sync.Mutex
	msgs map[logger.Level][]string
}

func newRecLogger() *recLogger {
	return &recLogger{Logger: logger.NewLogger(logger.WithLevel(logger.FatalLevel)), msgs: map[logger.Level][]string{}}
}

func (l *recLogger) Logf(level logger.Level, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs[level] = append(l.msgs[level], fmt.Sprintf(format, v...))
}

func (l *recLogger) at(level logger.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs[level]...)
}

// lastNode is a go-micro strategy function that always returns the node with
// the greatest id.
func lastNode(services []*registry.Service) gselector.Next {
	return func() (*registry.Node, error) {
		var last *registry.Node
		for _, s := range services {
			for _, n := range s.Nodes {
				if last == nil || n.Id > last.Id {
					last = n
				}
			}
		}
		return last, nil
	}
}

func TestGoMicroSetStrategy(t *testing.T) {
	abc := []tnode{{id: "a", weight: "3"}, {id: "b", weight: "1"}, {id: "c", weight: "1"}}
	tests := []struct {
		name  string
		opts  []gselector.Option
		call  []gselector.SelectOption
		want  string // six picks
		strat Strategy
	}{
		{name: "RoundRobin rotates, ignoring weights", opts: []gselector.Option{gselector.SetStrategy(gselector.RoundRobin)}, want: "abcabc", strat: RoundRobin},
		{name: "no strategy: weighted", want: "abacaa", strat: Weighted},
		{name: "other function: applied as go-micro would", opts: []gselector.Option{gselector.SetStrategy(lastNode)}, want: "cccccc", strat: Weighted},
		{name: "WithStrategy wins over SetStrategy", opts: []gselector.Option{gselector.SetStrategy(lastNode), WithStrategy(RoundRobin)}, want: "abcabc", strat: RoundRobin},
		{name: "UseStrategy per call wins over the function", opts: []gselector.Option{gselector.SetStrategy(lastNode)}, call: []gselector.SelectOption{UseStrategy(RoundRobin)}, want: "abcabc", strat: Weighted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTest(t, newRegistry(t, "svc", abc...), tt.opts...)
			if got := strings.Join(picks(t, s, "svc", 6, tt.call...), ""); got != tt.want {
				t.Fatalf("picks = %s, want %s", got, tt.want)
			}
			if got := s.cfg.Load().strategy; got != tt.strat {
				t.Fatalf("strategy = %s, want %s", got, tt.strat)
			}
		})
	}
}

func TestGoMicroSetStrategyRandom(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", tnode{id: "a", weight: "3"}, tnode{id: "b", weight: "1"}),
		gselector.SetStrategy(gselector.Random), withRand(seqRand(9)))
	if got := s.cfg.Load().strategy; got != Random {
		t.Fatalf("strategy = %s, want random", got)
	}
	const n = 10000
	wantShares(t, counts(picks(t, s, "svc", n)), map[string]float64{"a": 0.75}, 0.02)
}

func TestGoMicroCustomStrategyNotFound(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", nodes(1, "")...), gselector.SetStrategy(lastNode))
	if _, err := s.Select("nosuch"); err != errNotFound {
		t.Fatalf("Select(nosuch) error = %v, want %v", err, errNotFound)
	}
}

// TestInvalidOptions: an invalid option is reported and keeps its previous
// value; the valid options of the same call apply; a later Init does not
// report it again.
func TestInvalidOptions(t *testing.T) {
	rec := newRecLogger()
	s := newTest(t, newRegistry(t, "svc", nodes(2, "")...), gselector.WithLogger(rec),
		WithStrategy("bogus"), WithFailureThreshold(3), WithZone("z1"))
	steps := []struct {
		name     string
		opts     []gselector.Option
		wantErr  string
		strategy Strategy
		failures int32
		zone     string
	}{
		{name: "New: default strategy, valid options applied", strategy: Weighted, failures: 3, zone: "z1"},
		{name: "Init valid", opts: []gselector.Option{WithStrategy(RoundRobin)}, strategy: RoundRobin, failures: 3, zone: "z1"},
		{name: "Init with two invalid and one valid",
			opts:     []gselector.Option{WithStrategy("nope"), WithFailureThreshold(0), WithZone("z2")},
			wantErr:  "unknown strategy \"nope\": valid strategies are random, roundrobin, weighted, hash, leastloaded; keeping roundrobin\nfailure threshold 0: must be at least 1; keeping 3",
			strategy: RoundRobin, failures: 3, zone: "z2"},
		{name: "a later Init is clean", opts: []gselector.Option{WithZone("z3")}, strategy: RoundRobin, failures: 3, zone: "z3"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.opts != nil {
				err := s.Init(st.opts...)
				if got := fmt.Sprint(err); (err == nil) != (st.wantErr == "") || (err != nil && got != st.wantErr) {
					t.Fatalf("Init error = %v, want %q", err, st.wantErr)
				}
			}
			cfg := s.cfg.Load()
			if cfg.strategy != st.strategy || cfg.failures != st.failures || cfg.zone != st.zone {
				t.Fatalf("config = %s/%d/%q, want %s/%d/%q", cfg.strategy, cfg.failures, cfg.zone, st.strategy, st.failures, st.zone)
			}
		})
	}
	want := []string{
		"microlb: invalid option: unknown strategy \"bogus\": valid strategies are random, roundrobin, weighted, hash, leastloaded; keeping weighted",
		"microlb: invalid option: unknown strategy \"nope\": valid strategies are random, roundrobin, weighted, hash, leastloaded; keeping roundrobin\nfailure threshold 0: must be at least 1; keeping 3",
	}
	if got := rec.at(logger.ErrorLevel); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("error logs = %q, want %q", got, want)
	}
}

// TestLoggerHonoured: the selector's warnings go to go-micro's WithLogger.
func TestLoggerHonoured(t *testing.T) {
	rec := newRecLogger()
	r := registry.NewMemoryRegistry()
	if err := r.Register(&registry.Service{Name: "svc", Nodes: []*registry.Node{{Id: "ok", Address: "10.0.0.1:1"}, {Id: "noaddr"}}}); err != nil {
		t.Fatal(err)
	}
	s := newTest(t, r, gselector.WithLogger(rec))
	pick(t, s, "svc")
	want := `microlb: service svc node "noaddr" has no address: skipped`
	if got := rec.at(logger.WarnLevel); len(got) != 1 || got[0] != want {
		t.Fatalf("warnings = %q, want [%q]", got, want)
	}
}

func TestEnvOptions(t *testing.T) {
	tests := []struct {
		name                     string
		env                      map[string]string
		strategy                 Strategy
		zone, slowStart, wantLog string
	}{
		{name: "none", strategy: Weighted, slowStart: "0s"},
		{name: "strategy", env: map[string]string{"MICROLB_STRATEGY": " RoundRobin "}, strategy: RoundRobin, slowStart: "0s"},
		{name: "zone and slow start", env: map[string]string{"MICROLB_ZONE": "eu-1", "MICROLB_SLOW_START": "10s"}, strategy: Weighted, zone: "eu-1", slowStart: "10s"},
		{name: "bad values: logged, defaults kept", env: map[string]string{"MICROLB_STRATEGY": "fastest", "MICROLB_SLOW_START": "soon", "MICROLB_ZONE": "z"},
			strategy: Weighted, zone: "z", slowStart: "0s",
			wantLog: "microlb: MICROLB_STRATEGY: unknown strategy \"fastest\": valid strategies are random, roundrobin, weighted, hash, leastloaded; using weighted\n" +
				"MICROLB_SLOW_START=\"soon\": want a duration such as 10s; slow start stays off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecLogger()
			s := newWithEnv(func(k string) string { return tt.env[k] }, gselector.Registry(newRegistry(t, "svc", nodes(1, "")...)), gselector.WithLogger(rec))
			defer s.Close()
			cfg := s.cfg.Load()
			if cfg.strategy != tt.strategy || cfg.zone != tt.zone || cfg.slowStart.String() != tt.slowStart {
				t.Fatalf("config = %s/%q/%s, want %s/%q/%s", cfg.strategy, cfg.zone, cfg.slowStart, tt.strategy, tt.zone, tt.slowStart)
			}
			got := strings.Join(rec.at(logger.ErrorLevel), "|")
			if got != tt.wantLog {
				t.Fatalf("error log = %q, want %q", got, tt.wantLog)
			}
		})
	}
}
