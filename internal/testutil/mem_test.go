package testutil

import (
	"runtime"
	"testing"
)

func TestMemStats(t *testing.T) {
	before := MemStats()
	keep := make([]byte, 8<<20)
	after := MemStats()
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew < 4<<20 {
		t.Fatalf("the heap grew by %d bytes with 8 MiB held, want at least 4 MiB", grew)
	}
	if after.NumGC <= before.NumGC {
		t.Fatalf("NumGC %d after %d: MemStats ran no collection", after.NumGC, before.NumGC)
	}
	runtime.KeepAlive(keep)
}
