package sysload

import (
	"testing"
	"time"
)

func TestMeter(t *testing.T) {
	busy, total, err := CPUTimes()
	if err != nil || busy <= 0 || total < busy {
		t.Fatalf("CPUTimes = %v, %v, %v", busy, total, err)
	}
	m := Start(func() map[int]bool { return nil })
	end := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(end) { // burn CPU so Ours is measurable
	}
	l := m.Stop()
	if l.Wall < 200*time.Millisecond || l.Busy < 0 || l.Busy > 1 || l.Ours <= 0 || l.Ours > l.Busy || l.Others < 0 {
		t.Fatalf("Load = %+v", l)
	}
}
