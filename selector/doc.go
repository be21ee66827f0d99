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
// The pick path (Select and the Next it returns) reads only the current
// snapshot through an atomic pointer: it makes no registry call, and it takes
// no mutex and copies nothing outside two documented fallbacks: the Weighted
// strategy takes a mutex when one period of its sequence would exceed 65,536
// picks (see weightedBalancer), and go-micro strategy functions and filters
// run on a copy of the services, as in go-micro's own selector. The first Select of a service loads it from the
// registry and starts one watch for it; every registry event rebuilds the
// snapshot and swaps it in. Per-node health, in-flight counts and latency live
// in atomics that survive rebuilds for nodes that did not change.
package selector
