package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	merrors "go-micro.dev/v4/errors"

	"github.com/microlb/microlb/selector"
)

func fixedResult() *result {
	return &result{
		Strategy:    selector.Weighted,
		Service:     "greeter",
		Requests:    700,
		Errors:      0,
		Concurrency: 4,
		Retries:     2,
		Elapsed:     1523 * time.Millisecond,
		Nodes: []nodeCount{
			{ID: "greeter-a", Weight: 5, Count: 500},
			{ID: "greeter-b", Weight: 1, Count: 100},
			{ID: "greeter-c-longer", Weight: 1, Count: 100},
			{ID: "greeter-d", Weight: 1, Count: 0},
		},
		P50: 1204 * time.Microsecond,
		P99: 3399500 * time.Nanosecond,
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeTable(&b, fixedResult()); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"weighted: 700 requests to greeter, concurrency 4, retries 2, 1.52s\n" +
		"  NODE              WEIGHT   COUNT   SHARE\n" +
		"  greeter-a              5     500   71.4%  ████████████████████████████▋\n" +
		"  greeter-b              1     100   14.3%  █████▊\n" +
		"  greeter-c-longer       1     100   14.3%  █████▊\n" +
		"  greeter-d              1       0    0.0%\n" +
		"  latency p50 1.20ms  p99 3.40ms  errors 0\n"
	if got := b.String(); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteTableErrors(t *testing.T) {
	res := &result{
		Strategy: selector.RoundRobin, Service: "greeter", Requests: 3, Errors: 3,
		Concurrency: 1, Retries: 0, Elapsed: 10 * time.Millisecond,
		FirstError: `{"id":"go.micro.client","code":500,"detail":"service greeter: not found","status":"Internal Server Error"}`,
	}
	var b bytes.Buffer
	if err := writeTable(&b, res); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"roundrobin: 3 requests to greeter, concurrency 1, retries 0, 10ms\n" +
		"  NODE  WEIGHT   COUNT   SHARE\n" +
		"  (no node answered)\n" +
		"  latency p50 0.00ms  p99 0.00ms  errors 3\n" +
		`  first error: {"id":"go.micro.client","code":500,"detail":"service greeter: not found","status":"Internal Server Error"}` + "\n"
	if got := b.String(); got != want {
		t.Fatalf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestBar(t *testing.T) {
	tests := []struct {
		share float64
		want  string
	}{
		{0, ""},
		{1, strings.Repeat("█", 40)},
		{0.5, strings.Repeat("█", 20)},
		{1.0 / 320, "▏"},         // one eighth of a cell
		{0.1 + 7.0/320, "████▉"}, // 4 cells and 7 eighths
		{0.001, ""},              // rounds to nothing
	}
	for _, tt := range tests {
		if got := bar(tt.share); got != tt.want {
			t.Errorf("bar(%v) = %q, want %q", tt.share, got, tt.want)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	tests := []struct {
		name string
		res  func() *result
		want string
	}{
		{
			name: "nodes that served, no keys",
			res:  fixedResult,
			want: `{"strategy":"weighted","requests":700,"errors":0,"nodes":{"greeter-a":500,"greeter-b":100,"greeter-c-longer":100},"p50_ms":1.204,"p99_ms":3.4}` + "\n",
		},
		{
			name: "keys",
			res: func() *result {
				r := fixedResult()
				r.Strategy, r.Keys = selector.Hash, map[string]string{"key-0": "greeter-b", "key-1": "greeter-a"}
				return r
			},
			want: `{"strategy":"hash","requests":700,"errors":0,"nodes":{"greeter-a":500,"greeter-b":100,"greeter-c-longer":100},"p50_ms":1.204,"p99_ms":3.4,"keys":{"key-0":"greeter-b","key-1":"greeter-a"}}` + "\n",
		},
		{
			name: "all failed",
			res: func() *result {
				return &result{Strategy: selector.Random, Requests: 2, Errors: 2}
			},
			want: `{"strategy":"random","requests":2,"errors":2,"nodes":{},"p50_ms":0,"p99_ms":0}` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeJSON(&b, tt.res()); err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != tt.want {
				t.Fatalf("JSON:\n%s\nwant:\n%s", got, tt.want)
			}
			var obj map[string]any
			if err := json.Unmarshal(b.Bytes(), &obj); err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range obj {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			wantKeys := []string{"errors", "nodes", "p50_ms", "p99_ms", "requests", "strategy"}
			if _, ok := obj["keys"]; ok {
				wantKeys = []string{"errors", "keys", "nodes", "p50_ms", "p99_ms", "requests", "strategy"}
			}
			if !slices.Equal(keys, wantKeys) {
				t.Errorf("keys = %v, want %v", keys, wantKeys)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		samples []time.Duration
		p       int
		want    time.Duration
	}{
		{nil, 50, 0},
		{d[:1], 99, time.Millisecond},
		{d, 50, 100 * time.Millisecond},
		{d, 99, 198 * time.Millisecond},
		{d[:10], 99, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.samples, tt.p); got != tt.want {
			t.Errorf("percentile(%d samples, %d) = %v, want %v", len(tt.samples), tt.p, got, tt.want)
		}
	}
}

func TestRetryOnTransport(t *testing.T) {
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{name: "success", ctx: ctx, err: nil, want: false},
		{name: "connection refused", ctx: ctx, err: merrors.InternalServerError("go.micro.client", "connection error: dial tcp: connection refused"), want: true},
		{name: "transport EOF", ctx: ctx, err: merrors.InternalServerError("go.micro.client.transport", "EOF"), want: true},
		{name: "timeout", ctx: ctx, err: merrors.Timeout("go.micro.client", "deadline"), want: true},
		{name: "plain error", ctx: ctx, err: errors.New("read: connection reset by peer"), want: true},
		{name: "service's own 500", ctx: ctx, err: merrors.InternalServerError("greeter-1", "injected failure"), want: false},
		{name: "service's 404", ctx: ctx, err: merrors.NotFound("greeter-1", "no such user"), want: false},
		{name: "caller gave up", ctx: canceled, err: merrors.InternalServerError("go.micro.client.transport", "EOF"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := retryOnTransport(tt.ctx, nil, 0, tt.err)
			if err != nil || got != tt.want {
				t.Fatalf("retryOnTransport(%v) = %v, %v; want %v", tt.err, got, err, tt.want)
			}
		})
	}
}
