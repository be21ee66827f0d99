package config

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/microlb/microlb/selector"
)

// TestDefaulted checks every field Defaulted fills in: unset, it gets its
// default; set, it is kept. An option unset in the route comes from the
// configuration's Defaults first.
func TestDefaulted(t *testing.T) {
	global := CORS{AllowOrigins: []string{"https://a.example"}}
	own := &CORS{AllowOrigins: []string{"https://b.example"}}
	budget := func(ratio float64, min int) *RetryBudget { return &RetryBudget{Ratio: &ratio, Min: &min} }
	tests := []struct {
		name     string
		defaults RouteOptions
		route    Route
		want     func(r *Route) any // the field under test
		wantVal  any
	}{
		{"name unset", RouteOptions{}, Route{Path: "/api/"}, func(r *Route) any { return r.Name }, "/api"},
		{"name set", RouteOptions{}, Route{Name: "n", Path: "/api"}, func(r *Route) any { return r.Name }, "n"},
		{"path trailing slash", RouteOptions{}, Route{Path: "/api/"}, func(r *Route) any { return r.Path }, "/api"},
		{"path root", RouteOptions{}, Route{Path: "/"}, func(r *Route) any { return r.Path }, "/"},
		{"kind unset", RouteOptions{}, Route{Path: "/x"}, func(r *Route) any { return r.Kind }, KindRPC},
		{"kind set", RouteOptions{}, Route{Path: "/x", Kind: KindProxy}, func(r *Route) any { return r.Kind }, KindProxy},
		{"methods unset rpc", RouteOptions{}, Route{Path: "/x"}, func(r *Route) any { return r.Methods }, RPCMethods},
		{"methods unset proxy", RouteOptions{}, Route{Path: "/x", Kind: KindProxy}, func(r *Route) any { return r.Methods }, []string(nil)},
		{"methods set", RouteOptions{}, Route{Path: "/x", Methods: []string{" put", "Delete "}}, func(r *Route) any { return r.Methods }, []string{"PUT", "DELETE"}},
		{"rewrite", RouteOptions{}, Route{Path: "/x", Rewrite: "/v2/"}, func(r *Route) any { return r.Rewrite }, "/v2"},
		{"cors unset", RouteOptions{}, Route{Path: "/x"}, func(r *Route) any { return r.CORS }, &global},
		{"cors set", RouteOptions{}, Route{Path: "/x", CORS: own}, func(r *Route) any { return r.CORS }, own},
		{"strategy unset", RouteOptions{}, Route{}, func(r *Route) any { return r.Strategy }, string(selector.DefaultStrategy)},
		{"strategy from defaults", RouteOptions{Strategy: "hash"}, Route{}, func(r *Route) any { return r.Strategy }, "hash"},
		{"strategy set", RouteOptions{Strategy: "hash"}, Route{RouteOptions: RouteOptions{Strategy: "random"}}, func(r *Route) any { return r.Strategy }, "random"},
		{"hash_key unset", RouteOptions{}, Route{}, func(r *Route) any { return r.HashKey }, ""},
		{"hash_key from defaults", RouteOptions{HashKey: "path"}, Route{}, func(r *Route) any { return r.HashKey }, "path"},
		{"timeout unset", RouteOptions{}, Route{}, func(r *Route) any { return r.Timeout }, time.Duration(0)},
		{"timeout from defaults", RouteOptions{Timeout: time.Second}, Route{}, func(r *Route) any { return r.Timeout }, time.Second},
		{"timeout set", RouteOptions{Timeout: time.Second}, Route{RouteOptions: RouteOptions{Timeout: time.Minute}}, func(r *Route) any { return r.Timeout }, time.Minute},
		{"stream_timeout from defaults", RouteOptions{StreamTimeout: time.Hour}, Route{}, func(r *Route) any { return r.StreamTimeout }, time.Hour},
		{"per_try_timeout from defaults", RouteOptions{PerTryTimeout: time.Millisecond}, Route{}, func(r *Route) any { return r.PerTryTimeout }, time.Millisecond},
		{"retries unset", RouteOptions{}, Route{}, func(r *Route) any { return *r.Retries }, 0},
		{"retries from defaults", RouteOptions{Retries: ptr(2)}, Route{}, func(r *Route) any { return *r.Retries }, 2},
		{"retries set to 0", RouteOptions{Retries: ptr(2)}, Route{RouteOptions: RouteOptions{Retries: ptr(0)}}, func(r *Route) any { return *r.Retries }, 0},
		{"retry_non_idempotent unset", RouteOptions{}, Route{}, func(r *Route) any { return *r.RetryNonIdempotent }, false},
		{"retry_non_idempotent from defaults", RouteOptions{RetryNonIdempotent: ptr(true)}, Route{}, func(r *Route) any { return *r.RetryNonIdempotent }, true},
		{"retry_non_idempotent set", RouteOptions{}, Route{RouteOptions: RouteOptions{RetryNonIdempotent: ptr(true)}}, func(r *Route) any { return *r.RetryNonIdempotent }, true},
		{"max_body_bytes unset", RouteOptions{}, Route{}, func(r *Route) any { return r.MaxBodyBytes }, int64(0)},
		{"max_body_bytes from defaults", RouteOptions{MaxBodyBytes: 7}, Route{}, func(r *Route) any { return r.MaxBodyBytes }, int64(7)},
		{"max_response_bytes unset", RouteOptions{}, Route{}, func(r *Route) any { return r.MaxResponseBytes }, int64(DefaultMaxResponseBytes)},
		{"max_response_bytes from defaults", RouteOptions{MaxResponseBytes: 5}, Route{}, func(r *Route) any { return r.MaxResponseBytes }, int64(5)},
		{"max_response_bytes set", RouteOptions{}, Route{RouteOptions: RouteOptions{MaxResponseBytes: 9}}, func(r *Route) any { return r.MaxResponseBytes }, int64(9)},
		{"auth unset", RouteOptions{}, Route{}, func(r *Route) any { return *r.Auth }, RouteAuth{Mode: AuthNone}},
		{"auth without mode", RouteOptions{}, Route{RouteOptions: RouteOptions{Auth: &RouteAuth{}}}, func(r *Route) any { return *r.Auth }, RouteAuth{Mode: AuthNone}},
		{"auth from defaults", RouteOptions{Auth: &RouteAuth{Mode: AuthJWT}}, Route{}, func(r *Route) any { return *r.Auth }, RouteAuth{Mode: AuthJWT}},
		{"auth set", RouteOptions{Auth: &RouteAuth{Mode: AuthJWT}}, Route{RouteOptions: RouteOptions{Auth: &RouteAuth{Mode: AuthAPIKey, Scopes: []string{"s"}}}}, func(r *Route) any { return *r.Auth }, RouteAuth{Mode: AuthAPIKey, Scopes: []string{"s"}}},
		{"rate_limit unset", RouteOptions{}, Route{}, func(r *Route) any { return r.RateLimit }, (*RateLimit)(nil)},
		{"rate_limit by and burst unset", RouteOptions{RateLimit: &RateLimit{RPS: 2.5}}, Route{}, func(r *Route) any { return *r.RateLimit }, RateLimit{RPS: 2.5, Burst: 3, By: LimitByIP}},
		{"rate_limit slow burst", RouteOptions{}, Route{RouteOptions: RouteOptions{RateLimit: &RateLimit{RPS: 0.1}}}, func(r *Route) any { return *r.RateLimit }, RateLimit{RPS: 0.1, Burst: 1, By: LimitByIP}},
		{"rate_limit set", RouteOptions{}, Route{RouteOptions: RouteOptions{RateLimit: &RateLimit{RPS: 1, Burst: 5, By: LimitByPrincipal}}}, func(r *Route) any { return *r.RateLimit }, RateLimit{RPS: 1, Burst: 5, By: LimitByPrincipal}},
		{"hedge unset", RouteOptions{}, Route{}, func(r *Route) any { return r.Hedge }, (*Hedge)(nil)},
		{"hedge max unset", RouteOptions{Hedge: &Hedge{Delay: "p95"}}, Route{}, func(r *Route) any { return *r.Hedge }, Hedge{Delay: "p95", Max: 1}},
		{"hedge max set", RouteOptions{}, Route{RouteOptions: RouteOptions{Hedge: &Hedge{Delay: "5ms", Max: 3}}}, func(r *Route) any { return *r.Hedge }, Hedge{Delay: "5ms", Max: 3}},
		{"retry_budget unset", RouteOptions{}, Route{}, func(r *Route) any { return *r.RetryBudget }, *budget(selector.DefaultRetryBudgetRatio, selector.DefaultRetryBudgetMin)},
		{"retry_budget ratio set", RouteOptions{RetryBudget: &RetryBudget{Ratio: ptr(0.5)}}, Route{}, func(r *Route) any { return *r.RetryBudget }, *budget(0.5, selector.DefaultRetryBudgetMin)},
		{"retry_budget min set", RouteOptions{}, Route{RouteOptions: RouteOptions{RetryBudget: &RetryBudget{Min: ptr(0)}}}, func(r *Route) any { return *r.RetryBudget }, *budget(selector.DefaultRetryBudgetRatio, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Config{Defaults: tt.defaults, CORS: global}
			before := dump(t, c, tt.route)
			got := c.Defaulted(tt.route)
			if v := tt.want(&got); !reflect.DeepEqual(v, tt.wantVal) {
				t.Fatalf("got %#v, want %#v", v, tt.wantVal)
			}
			if after := dump(t, c, tt.route); after != before {
				t.Fatalf("Defaulted changed its input: %s, was %s", after, before)
			}
		})
	}
}

// TestMergeEveryField checks that Merge takes every field from the
// defaults when the route sets none, and keeps every field the route sets.
func TestMergeEveryField(t *testing.T) {
	full := RouteOptions{
		Strategy: "hash", HashKey: "path", Timeout: 1, StreamTimeout: 2, PerTryTimeout: 3,
		Retries: ptr(4), RetryNonIdempotent: ptr(true), Hedge: &Hedge{Delay: "p99"},
		RetryBudget: &RetryBudget{Min: ptr(5)}, MaxBodyBytes: 6, MaxResponseBytes: 7,
		Auth: &RouteAuth{Mode: AuthJWT}, RateLimit: &RateLimit{RPS: 8},
	}
	v := reflect.ValueOf(full)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("field %s is unset in the test's options", v.Type().Field(i).Name)
		}
	}
	if got := (RouteOptions{}).Merge(full); !reflect.DeepEqual(got, full) {
		t.Fatalf("from defaults: got %+v, want %+v", got, full)
	}
	if got := full.Merge(RouteOptions{Strategy: "random", Timeout: 9, Retries: ptr(0)}); !reflect.DeepEqual(got, full) {
		t.Fatalf("own values: got %+v, want %+v", got, full)
	}
}

// dump is c and r in JSON, pointers followed.
func dump(t *testing.T, c *Config, r Route) string {
	t.Helper()
	b, err := json.Marshal([]any{c, r})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestValidateChangesNothing: Validate only checks.
func TestValidateChangesNothing(t *testing.T) {
	cfg, err := Parse([]byte(`routes:
  - {path: /x/, service: s, methods: [get], strategy: RoundRobin, auth: {scopes: []}, rate_limit: {rps: 1}}
`))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := Parse([]byte(`routes:
  - {path: /x/, service: s, methods: [get], strategy: RoundRobin, auth: {scopes: []}, rate_limit: {rps: 1}}
`))
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, before) {
		t.Fatalf("Validate changed the configuration:\n%+v\nwant\n%+v", cfg.Routes[0], before.Routes[0])
	}
}
