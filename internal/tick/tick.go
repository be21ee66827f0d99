// Package tick runs a function on a ticker until told to stop.
package tick

import "time"

// Every calls f every interval until stop is closed or f returns false.
// It blocks; run it in its own goroutine.
func Every(stop <-chan struct{}, interval time.Duration, f func() bool) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if !f() {
				return
			}
		}
	}
}
