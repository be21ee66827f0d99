package testutil

import "runtime"

// MemStats runs a garbage collection and returns the memory statistics
// after it, for tests that bound how much the heap grows.
func MemStats() runtime.MemStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}
