package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// latency is the demo delay added to every call: base, plus a uniform jitter
// in [-jitter, +jitter]. The zero value adds nothing.
type latency struct {
	base, jitter time.Duration
}

// parseLatency reads a --latency value: "" or "0" (none), a Go duration such
// as "20ms", or a distribution "5ms±2ms" (also written "5ms+-2ms"), which
// draws each delay uniformly from [3ms, 7ms]. Negative durations and a jitter
// larger than the base are errors.
func parseLatency(s string) (latency, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return latency{}, nil
	}
	baseText, jitterText, found := strings.Cut(s, "±")
	if !found {
		baseText, jitterText, found = strings.Cut(s, "+-")
	}
	var l latency
	var err error
	if l.base, err = parseNonNegative(baseText); err != nil {
		return latency{}, fmt.Errorf("latency %q: %w", s, err)
	}
	if !found {
		return l, nil
	}
	if l.jitter, err = parseNonNegative(jitterText); err != nil {
		return latency{}, fmt.Errorf("latency %q: jitter: %w", s, err)
	}
	if l.jitter > l.base {
		return latency{}, fmt.Errorf("latency %q: jitter %s is larger than the base %s", s, l.jitter, l.base)
	}
	return l, nil
}

// parseNonNegative parses a Go duration that must not be negative.
func parseNonNegative(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("missing duration (want e.g. 20ms or 5ms±2ms)")
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (want e.g. 20ms or 5ms±2ms)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s is negative", d)
	}
	return d, nil
}

// draw returns one delay. randN(n) must return a uniform value in [0, n).
func (l latency) draw(randN func(n int64) int64) time.Duration {
	if l.jitter == 0 {
		return l.base
	}
	return l.base - l.jitter + time.Duration(randN(int64(2*l.jitter)+1))
}

// String formats l the way parseLatency reads it.
func (l latency) String() string {
	switch {
	case l.base == 0 && l.jitter == 0:
		return "0"
	case l.jitter == 0:
		return l.base.String()
	}
	return l.base.String() + "±" + l.jitter.String()
}

// sleep waits for d or until ctx is done, and returns ctx's error in the
// latter case.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
