package tick

import (
	"testing"
	"time"
)

func TestEveryStopsWhenFReturnsFalse(t *testing.T) {
	calls := 0
	Every(make(chan struct{}), time.Millisecond, func() bool { calls++; return calls < 3 })
	if calls != 3 {
		t.Fatalf("f called %d times, want 3", calls)
	}
}

func TestEveryStopsWhenStopCloses(t *testing.T) {
	stop := make(chan struct{})
	close(stop)
	Every(stop, time.Hour, func() bool { t.Fatal("f called after stop"); return false })
}
