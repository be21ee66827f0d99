package selector

import (
	"strings"
	"testing"

	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/util/cmd"
)

// TestParseStrategy: every name parses, whatever its case and surrounding
// space; an unknown name is an error that lists the valid ones.
func TestParseStrategy(t *testing.T) {
	valid := map[string]Strategy{"random": Random, "roundrobin": RoundRobin, "weighted": Weighted, "hash": Hash,
		"leastloaded": LeastLoaded, "  RoundRobin ": RoundRobin}
	for in, want := range valid {
		t.Run(in, func(t *testing.T) {
			if got, err := ParseStrategy(in); err != nil || got != want {
				t.Fatalf("ParseStrategy(%q) = %q, %v; want %q", in, got, err, want)
			}
		})
	}
	for _, in := range []string{"fastest", ""} {
		t.Run("unknown "+in, func(t *testing.T) {
			got, err := ParseStrategy(in)
			want := `unknown strategy "` + in + `": valid strategies are random, roundrobin, weighted, hash, leastloaded`
			if err == nil || err.Error() != want {
				t.Fatalf("ParseStrategy(%q) = %q, %v; want error %q", in, got, err, want)
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
