package report

import (
	"strings"
	"testing"
	"time"
)

func TestTailGoals(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	fig := func(success float64, p99 time.Duration) TailFigures {
		return TailFigures{Requests: 1000, Success: success, P99: p99}
	}
	row := func(strategy string, dflt bool, run TailFigures, base time.Duration) TailRow {
		b := fig(1, base)
		return TailRow{Name: "gw, " + strategy, Strategy: strategy, Default: dflt, Run: run, Base: &b}
	}
	tests := []struct {
		name                string
		tail                *Tail
		wantKnown, wantMet  [3]bool
		wantSucc, wantRatio string
	}{
		{name: "not run", tail: nil},
		{
			// leastloaded is best at its defaults; the retry variant
			// does better but is not a default and does not count.
			name: "met",
			tail: &Tail{
				Stalled: []TailRow{
					row("random", true, fig(0.98, ms(900)), ms(3)),
					row("leastloaded", true, fig(0.9995, ms(5)), ms(3)),
					row("leastloaded", false, fig(1, ms(4)), ms(3)),
				},
				Speeds: []TailRow{
					row("random", true, fig(1, ms(60)), 0),
					row("leastloaded", true, fig(1, ms(15)), 0),
				},
			},
			wantKnown: [3]bool{true, true, true}, wantMet: [3]bool{true, true, true},
			wantSucc: "99.95 % (leastloaded)", wantRatio: "4.00× (random p99 ÷ leastloaded p99)",
		},
		{
			name: "missed",
			tail: &Tail{
				Stalled: []TailRow{row("roundrobin", true, fig(0.99, ms(1000)), ms(3))},
				Speeds:  []TailRow{row("random", true, fig(1, ms(20)), 0), row("leastloaded", true, fig(1, ms(10)), 0)},
			},
			wantKnown: [3]bool{true, true, true},
			wantSucc:  "99.00 % (roundrobin)", wantRatio: "2.00× (random p99 ÷ leastloaded p99)",
		},
		{
			// smoke: one strategy, so (b)'s ratio is unknown.
			name:      "one strategy",
			tail:      &Tail{Stalled: []TailRow{row("leastloaded", true, fig(1, ms(4)), ms(2))}, Speeds: []TailRow{row("leastloaded", true, fig(1, ms(10)), 0)}},
			wantKnown: [3]bool{true, true, false}, wantMet: [3]bool{true, true, false},
			wantSucc: "100.00 % (leastloaded)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tailGoals(tt.tail)
			if len(g) != 3 {
				t.Fatalf("%d goals, want 3", len(g))
			}
			for i := range g {
				if g[i].Known != tt.wantKnown[i] || g[i].Met != tt.wantMet[i] {
					t.Errorf("goal %d %q: known %v met %v, want %v %v", i, g[i].What, g[i].Known, g[i].Met, tt.wantKnown[i], tt.wantMet[i])
				}
			}
			if tt.wantSucc != "" && g[0].Measured != tt.wantSucc {
				t.Errorf("success measured = %q, want %q", g[0].Measured, tt.wantSucc)
			}
			if g[2].Measured != tt.wantRatio {
				t.Errorf("(b) measured = %q, want %q", g[2].Measured, tt.wantRatio)
			}
		})
	}
}

func TestTailMarkdown(t *testing.T) {
	base := TailFigures{Requests: 100, Success: 1, P99: 2 * time.Millisecond}
	tl := &Tail{Rate: 300, ClientTimeout: 2 * time.Second, Fault: "Stalls.", Duration: 45 * time.Second, BaseDuration: 20 * time.Second,
		Stalled: []TailRow{
			{Name: "gw, leastloaded", Strategy: "leastloaded", Config: "defaults", Default: true, Base: &base,
				Run: TailFigures{Requests: 1000, Failed: 2, Success: 0.998, P50: time.Millisecond, P99: 8 * time.Millisecond,
					P999: time.Second, Max: time.Second, Late: 10, MaxLag: 30 * time.Millisecond, Errors: map[string]int64{"HTTP 504": 2}}},
			{Name: TailGoMicro, Err: "boom | pipe"},
		},
		Unequal: "1×, 2×, 4×.", Speeds: []TailRow{{Name: "gw, random", Strategy: "random", Default: true, Run: base}}}
	var b strings.Builder
	writeTail(&b, tl)
	for _, want := range []string{
		"Open-loop load at 300 req/s",
		"| gw, leastloaded | defaults | 99.80 % | 1.00 ms | 8.00 ms | 1.00 s | 1.00 s | 2.00 ms | 4.00× | 1.00 % (max 30 ms) / 0.00 % (max 0) | 2 (2× HTTP 504) |",
		"| go-micro api (default selector) |  | failed: boom / pipe |",
		"target ≥ 99.9 %: **missed**",
		"target ≤ 2×: **missed**",
		"random p99 ÷ leastloaded p99: not measured",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}
