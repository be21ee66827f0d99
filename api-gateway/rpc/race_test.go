//go:build race

package rpc

// raceEnabled reports whether the race detector is on: the soak then runs
// fewer calls (the 50,000-call run of `make test` is built without it).
const raceEnabled = true
