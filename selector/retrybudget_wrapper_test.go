package selector_test

import (
	"context"
	"testing"
	"time"

	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"

	microlb "github.com/microlb/microlb/selector"
)

// TestRetryBudgetWrapper calls a real go-micro v4.11.0 server that fails
// every call, through a go-micro client with Retries(3) and RetryAlways, and
// counts the attempts the server saw.
func TestRetryBudgetWrapper(t *testing.T) {
	tests := []struct {
		name   string
		budget *microlb.RetryBudget // nil: no wrapper
		hold   int                  // retries taken from the budget by others during the call
		want   int64                // attempts of one call
	}{
		{name: "no budget: 1 + 3 retries", want: 4},
		{name: "default budget, alone: retries one at a time fit", budget: microlb.DefaultRetryBudget(), want: 4},
		{name: "zero budget: no retry", budget: microlb.NewRetryBudget(0, 0), want: 1},
		{name: "budget exhausted by retries in flight elsewhere", budget: microlb.NewRetryBudget(0, 1), hold: 1, want: 1},
		{name: "one retry left of 3: every retry fits in turn", budget: microlb.NewRetryBudget(0, 3), hold: 2, want: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := registry.NewMemoryRegistry()
			sel := microlb.New(selector.Registry(r))
			defer sel.Close()
			nodes := startGreeters(t, r, sel, 1)
			opts := []client.Option{client.Registry(r), client.Selector(sel), client.Retries(3), client.Retry(client.RetryAlways),
				client.Backoff(func(context.Context, client.Request, int) (time.Duration, error) { return 0, nil })}
			if tt.budget != nil {
				opts = append(opts, client.Wrap(microlb.RetryBudgetWrapper(tt.budget)))
			}
			c := client.NewClient(opts...)
			var held []func()
			for range tt.hold {
				ok, done := tt.budget.TryRetry()
				if !ok {
					t.Fatal("could not take a retry to hold")
				}
				held = append(held, done)
			}
			_, err := hello(context.Background(), c, "fail")
			if err == nil {
				t.Fatal("the failing call succeeded")
			}
			if got := nodes["greeter-g0"].failed.Load(); got != tt.want {
				t.Fatalf("server saw %d attempts, want %d", got, tt.want)
			}
			for _, done := range held {
				done()
			}
			if tt.budget != nil {
				if req, ret := tt.budget.InFlight(); req != 0 || ret != 0 {
					t.Fatalf("after the call: %d requests, %d retries in flight, want 0, 0", req, ret)
				}
			}
		})
	}
}
