package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestParseLatency(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
		want              latency
	}{
		{name: "empty", in: "", want: latency{}},
		{name: "zero", in: "0", want: latency{}},
		{name: "fixed", in: "20ms", want: latency{base: 20 * time.Millisecond}},
		{name: "fixed zero unit", in: "0s", want: latency{}},
		{name: "plus-minus sign", in: "5ms±2ms", want: latency{base: 5 * time.Millisecond, jitter: 2 * time.Millisecond}},
		{name: "ascii plus-minus", in: "5ms+-2ms", want: latency{base: 5 * time.Millisecond, jitter: 2 * time.Millisecond}},
		{name: "spaces", in: " 1s ± 250ms ", want: latency{base: time.Second, jitter: 250 * time.Millisecond}},
		{name: "jitter equal to base", in: "2ms±2ms", want: latency{base: 2 * time.Millisecond, jitter: 2 * time.Millisecond}},
		{name: "not a duration", in: "fast", wantErr: `latency "fast": "fast" is not a duration (want e.g. 20ms or 5ms±2ms)`},
		{name: "no unit", in: "20", wantErr: `latency "20": "20" is not a duration (want e.g. 20ms or 5ms±2ms)`},
		{name: "negative", in: "-5ms", wantErr: `latency "-5ms": -5ms is negative`},
		{name: "missing jitter", in: "5ms±", wantErr: `latency "5ms±": jitter: missing duration (want e.g. 20ms or 5ms±2ms)`},
		{name: "missing base", in: "+-2ms", wantErr: `latency "+-2ms": missing duration (want e.g. 20ms or 5ms±2ms)`},
		{name: "negative jitter", in: "5ms+--1ms", wantErr: `latency "5ms+--1ms": jitter: -1ms is negative`},
		{name: "jitter too large", in: "5ms±9ms", wantErr: `latency "5ms±9ms": jitter 9ms is larger than the base 5ms`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLatency(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("parseLatency(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseLatency(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestLatencyDraw(t *testing.T) {
	l := latency{base: 5 * time.Millisecond, jitter: 2 * time.Millisecond}
	tests := []struct {
		name string
		r    int64 // what randN returns
		want time.Duration
	}{
		{name: "lowest", r: 0, want: 3 * time.Millisecond},
		{name: "middle", r: int64(2 * time.Millisecond), want: 5 * time.Millisecond},
		{name: "highest", r: int64(4 * time.Millisecond), want: 7 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotN int64
			got := l.draw(func(n int64) int64 { gotN = n; return tt.r })
			if got != tt.want {
				t.Errorf("draw = %v, want %v", got, tt.want)
			}
			if want := int64(4*time.Millisecond) + 1; gotN != want {
				t.Errorf("randN called with %d, want %d", gotN, want)
			}
		})
	}
	fixed := latency{base: 20 * time.Millisecond}
	if got := fixed.draw(func(int64) int64 { t.Fatal("randN called for a fixed latency"); return 0 }); got != 20*time.Millisecond {
		t.Errorf("fixed draw = %v, want 20ms", got)
	}
}

func TestLatencyStringRoundTrip(t *testing.T) {
	for _, in := range []string{"0", "20ms", "5ms±2ms", "1.5s±250ms"} {
		l, err := parseLatency(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.String(); got != in {
			t.Errorf("String() = %q, want %q", got, in)
		}
	}
}

func TestSleepStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("sleep = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("sleep took %v after cancel", d)
	}
	if err := sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("sleep = %v, want nil", err)
	}
}
