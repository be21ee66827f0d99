package selector

import (
	"strings"
	"testing"

	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/util/cmd"
)

func TestParseStrategy(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Strategy
		wantErr bool
	}{
		{name: "random", in: "random", want: Random},
		{name: "roundrobin", in: "roundrobin", want: RoundRobin},
		{name: "weighted", in: "weighted", want: Weighted},
		{name: "hash", in: "hash", want: Hash},
		{name: "leastloaded", in: "leastloaded", want: LeastLoaded},
		{name: "case and space", in: "  RoundRobin ", want: RoundRobin},
		{name: "unknown", in: "fastest", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStrategy(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseStrategy(%q) = %q, want error", tt.in, got)
				}
				want := `unknown strategy "` + tt.in + `": valid strategies are random, roundrobin, weighted, hash, leastloaded`
				if err.Error() != want {
					t.Fatalf("error = %q, want %q", err, want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseStrategy(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSelectorName(t *testing.T) {
	s := newTest(t, newRegistry(t, "svc", nodes(1, "")...))
	if got := s.String(); got != "microlb" {
		t.Fatalf("String() = %q", got)
	}
	if !strings.EqualFold(Name, "microlb") {
		t.Fatalf("Name = %q", Name)
	}
}

func TestRegisteredWithGoMicroCmd(t *testing.T) {
	newSel, ok := cmd.DefaultSelectors["microlb"]
	if !ok {
		t.Fatal(`"microlb" is not in cmd.DefaultSelectors`)
	}
	r := newRegistry(t, "svc", nodes(2, "")...)
	sel := newSel(selector.Registry(r))
	defer sel.Close()
	if _, ok := sel.(*Selector); !ok || sel.String() != "microlb" {
		t.Fatalf("cmd.DefaultSelectors[microlb] built %T %q", sel, sel.String())
	}
	if got := sel.Options().Registry; got != r {
		t.Fatalf("registry option not applied: %v", got)
	}
	if pick(t, sel, "svc") == "" {
		t.Fatal("no pick")
	}
}

// TestCmdSelectorReadsEnv: the --selector microlb route reads MICROLB_STRATEGY.
func TestCmdSelectorReadsEnv(t *testing.T) {
	t.Setenv(EnvStrategy, "roundrobin")
	sel := cmd.DefaultSelectors["microlb"](selector.Registry(newRegistry(t, "svc", nodes(1, "")...)))
	defer sel.Close()
	if got := sel.(*Selector).cfg.Load().strategy; got != RoundRobin {
		t.Fatalf("strategy = %s, want roundrobin from %s", got, EnvStrategy)
	}
}
