// Package selector is microlb's go-micro v4 selector: it picks nodes of a
// service with one of five strategies (random, round-robin, nginx-style smooth
// weighted, consistent hash and least-loaded) from an immutable snapshot that a
// registry watch rebuilds whenever the service changes.
//
// Plug it into a go-micro service with
//
//	svc := micro.NewService(
//		micro.Name("consumer"),
//		micro.Selector(selector.NewSelector(selector.WithStrategy(selector.RoundRobin))),
//	)
//
// or, without code changes, by importing the package and passing
// --selector microlb (MICRO_SELECTOR=microlb); that route reads
// MICROLB_STRATEGY, MICROLB_ZONE and MICROLB_SLOW_START (see EnvOptions).
//
// The first Select of a service is the exception (as is every Select of a
// name the registry does not know): it loads the service from the registry
// and starts one watch for it. Every registry event rebuilds the
// service's snapshot and swaps it in. From then on the pick path
// (Select and the Next it returns) reads the config, the service map and the
// snapshot through atomic pointers and the per-node health, in-flight counts
// and latency (which survive rebuilds for nodes that did not change) as
// atomics: it makes no registry call and copies nothing. It takes no mutex
// but in one fallback: the Weighted strategy runs nginx's loop under a mutex
// of the snapshot when one period of its sequence would be longer than 65,536
// picks or cost more than 2^24 steps to precompute (see weightedBalancer).
// Two things are computed on the pick path, without a lock, and kept: the
// zone's node list, about once per snapshot (see WithZone), and while a node
// slow-starts the Weighted period, about once per tenth of the window (see
// WithSlowStart); concurrent picks may compute one twice, and the last wins. go-micro strategy functions and filters are the slow path:
// they run on a copy of the services, as in go-micro's own selector.
//
// # Adding a strategy
//
// A strategy is one file and one line:
//
//  1. In a new file, declare its name, const Fastest Strategy = "fastest",
//     and a balancer: a type with the method pick(c *call, ok accept) int. pick
//     orders its candidates among the snapshot's active nodes (indexes below
//     c.snap.nActive), hands them to ok in that order and returns the first
//     one ok accepted, or -1. It does not look at tried nodes, filters,
//     zones, drained nodes, ejection or panic mode: the call applies them
//     through ok and around pick (call.go). candidates.go has the orders the
//     strategies share: rotate over a sequence from a per-service counter,
//     walkFrom a position, draw at random.
//  2. In the same file, if the strategy needs them: a method
//     build(s *snapshot) any, whose result pick reads as c.table() (a table
//     or a ring, built on every rebuild), and withCounter embedded in the
//     balancer type, for a per-service counter read as c.counter().
//  3. One line, {Fastest, fastestBalancer{}}, at the end of registered in
//     strategy.go.
//
// ParseStrategy, WithStrategy, UseStrategy, MICROLB_STRATEGY, Stats' pick
// counts and the tests that range over Strategies (TestStrategyContract,
// TestFilters, TestZoneEveryStrategy, TestTenThousandNodes and the
// benchmarks) take it from there. Give it its own test file too, with exact
// assertions where it is deterministic.
package selector
