package testutil

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSyncBufferConcurrentWrites(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(&b, "line %d\n", i)
			_ = b.String()
		}()
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 100 {
		t.Fatalf("%d lines, want 100", n)
	}
}

// fakeTB records Fatalf instead of stopping the test.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestWaitFor(t *testing.T) {
	t.Run("true on the third poll", func(t *testing.T) {
		var calls atomic.Int32
		f := &fakeTB{TB: t}
		WaitFor(f, "three calls", time.Minute, func() bool { return calls.Add(1) == 3 })
		if f.failed != "" || calls.Load() != 3 {
			t.Fatalf("failed %q after %d calls, want no failure after 3", f.failed, calls.Load())
		}
	})
	t.Run("never true", func(t *testing.T) {
		f := &fakeTB{TB: t}
		calls := 0
		WaitFor(f, "never", 0, func() bool { calls++; return calls > 1 })
		if want := "timed out after 0s waiting for never"; f.failed != want {
			t.Fatalf("failed %q, want %q", f.failed, want)
		}
	})
}

func TestMicroError(t *testing.T) {
	tests := []struct {
		name, body, want string
		wantOK           bool
	}{
		{"go-micro error", `{"id":"microlb.gateway","code":503,"detail":"no node","status":"Service Unavailable"}`, "microlb.gateway 503 no node", true},
		{"not JSON", `upstream said no`, "", false},
		{"no code", `{"id":"x","detail":"d"}`, "", false},
		{"no id", `{"code":500,"detail":"d"}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := MicroError(tt.body)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if ok {
				if got := fmt.Sprintf("%s %d %s", e.Id, e.Code, e.Detail); got != tt.want {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
			}
			f := &fakeTB{TB: t}
			MustMicroError(f, tt.body)
			if (f.failed == "") != tt.wantOK {
				t.Fatalf("MustMicroError failed %q, want failure %v", f.failed, !tt.wantOK)
			}
		})
	}
}

func TestTable(t *testing.T) {
	double := func(n int) []int { return []int{n, n} }
	Table(t, "double", double,
		Row("zero", 0, []int{0, 0}),
		Row("two", 2, []int{2, 2}))
}

func TestClock(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	c := NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now = %v, want %v", got, start)
	}
	c.Advance(10 * time.Second)
	if got, want := c.Now(), start.Add(10*time.Second); !got.Equal(want) {
		t.Fatalf("after Advance, Now = %v, want %v", got, want)
	}
}

func TestGrep(t *testing.T) {
	Table(t, "Grep", func(sub string) string { return Grep("a=1\nb=2\na=3", sub) },
		Row("two lines", "a=", "a=1\na=3"),
		Row("one line", "b", "b=2"),
		Row("none", "c", ""))
}
