package report

import (
	"fmt"
	"strings"
)

// meaning is the "What the numbers mean" section: what a ratio on this
// machine measures, then, for each target the run missed, why, with the top
// of the profile that says so.
//
// The profiles quoted in whyMissed were taken by hand (CPU profile of the
// running gateway under `wrk -t1 -c64`, GOMAXPROCS=1, and `go test -bench`
// profiles); they describe the code as it was then, not this run. To take
// them again: build the gateway with net/http/pprof on a side listener, run
// `scripts/bench.sh --stages 2 --duration 5s --reps 1` for the set-up, and
// `go tool pprof -top -cum` a 20 s profile taken while wrk runs.
const meaning = `## What the numbers mean

- **One shared machine.** wrk, the proxy under test, its 3 backends (or producers) and Consul all run on the same 2 cores, each proxy and backend with one worker (GOMAXPROCS=1). A target's requests/s is bounded by the CPU the whole path spends per request, so a ratio compares what each proxy costs, not how fast it could go on cores of its own. Ratios are taken within back-to-back pairs, which keeps them comparable when the machine's load changes; absolute requests/s are not comparable across runs. The load table above says how busy the machine was.
- **What a ratio below 1 means.** With everything else equal, the ratio of requests/s is roughly the inverse ratio of CPU time per request along the path. Measured by hand in one back-to-back round on a quiet machine (process CPU time ÷ requests, wrk -c64, one worker each): nginx 33 µs per proxied request, a bare ` + "`httputil.ReverseProxy`" + ` on the same tuned transport with no middleware 65 µs, microlb's gateway 72 µs, Caddy 82 µs, and microlb's gateway before the hot-path work of this revision 128 µs; on a busier machine all of them rise together (nginx 35, bare 96–101, microlb 107–118, Caddy 122–123, before 146–195).
- **Garbage collection.** The gateway sets Go's GC target to 400% unless GOGC is set (` + "`api-gateway/gateway/server.go`" + `): its live heap is about 5 MB while each request leaves about 15 KB of garbage. That costs about 10 MB of resident memory and saved about 8% of its CPU per request. Caddy runs with Go's default.
- **p99 follows throughput.** wrk keeps 64 requests in flight, so a proxy that serves half as many requests per second shows about twice the latency at every percentile; the p99 ratio tracks the inverse of the requests/s ratio more than it measures stalls.
`

// whyMissed explains a missed target, by Goal.What.
var whyMissed = map[string]string{
	"HTTP proxy req/s": `microlb's gateway is Go's net/http server, ` + "`httputil.ReverseProxy`" + ` and ` + "`http.Transport`" + ` plus the middleware onion; nginx is an event loop in C. At one worker, a bare ReverseProxy with no middleware reaches only about 0.45–0.6× nginx here, so 0.8× is out of reach for a net/http proxy on this budget; the gateway's own code (middleware and proxy glue) is now under a tenth of its CPU. Top of the gateway's CPU profile (cumulative, 20 s under wrk -c64, GOMAXPROCS=1, this revision):

| share | where |
|---|---|
| 41% | system calls (flat): write 28%, read 12% — loopback TCP, paid by every proxy |
| 18% | ` + "`net/http.(*response).finishRequest`" + ` (mostly the response's write system call) |
| 18% / 15% | ` + "`http.Transport`" + `'s per-connection ` + "`writeLoop`" + ` / ` + "`readLoop`" + ` goroutines (the upstream write and read, and the hand-offs between goroutines) |
| 18% | ` + "`httputil.(*ReverseProxy).ServeHTTP`" + ` (request clone, header copies, the round trip, the copy) |
| 8% / 1.3% | ` + "`runtime.mallocgc`" + ` / garbage collection (background mark and assists) |
| 5% / 3% | ` + "`net/http.(*conn).readRequest`" + ` / the server's per-request background-read goroutine |
| 6% | the middleware layers (request id, metrics, route, timeout; access log off) |
| 1.5% | the proxy's own glue: select, retry transport, in-flight tracking |
`,
	"HTTP proxy p99":            `The p99 ratio follows the requests/s ratio (see above): at about half of nginx's requests/s with 64 requests in flight, every percentile is about twice nginx's. The gateway's latency distribution has no separate tail: the same profile shows garbage collection at about 1% of its CPU and no blocking outside the network.`,
	"HTTP proxy req/s vs Caddy": `Caddy is also Go's net/http with a reverse proxy; measured by hand the gateway now spends about 10% less CPU per request than Caddy (see above), a margin the machine's noise can hide in any one run: an earlier run of stages 2 and 3 of this revision measured 1.04× Caddy. The gateway's own middleware, metrics and proxy glue are under a tenth of its CPU.`,
	"HTTP → RPC req/s":          `Two things bound it. (1) The producers: three go-micro servers on the same two cores do most of the path's work, and a call costs them the same whoever sends it, so even a gateway that cost nothing could not reach 2× go-micro's api, whose own cost is a minority of the path. (2) Connections: the gateway opens one TCP connection per attempt (` + "`client.PoolSize(0)`" + `; see ` + "`api-gateway/rpc/client.go`" + `), because go-micro v4.11.0 servers key a connection's requests by a header name that its HTTP transport never delivers, so a request sent on a reused connection before the server released the previous one is never answered. go-micro's own pool is already one request at a time per connection and still hits it: against an unfixed in-process go-micro server, 1 of about 164,000 pooled calls hung (in a run of 20,000 calls from 16 concurrent callers; runs of 144,000 calls from 4 to 64 callers had none): rare, timing-dependent, real. The connection costs both sides: in the gateway's CPU profile ` + "`net.DialTimeout`" + ` (connect, socket options) is about 25% and the go-micro client's call path about 40%; each producer accepts, serves and closes a connection per call. Measured by hand against these producers (which carry the server-side fix), pooled connections cut the gateway's CPU per call by about 38% and raised its requests/s by about 40%, which brings it to about go-micro's api (both then run go-micro's client), not 2×. A dial per call also leaves the gateway's ephemeral ports in TIME_WAIT (about 22,000 here after a few runs; tcp_tw_reuse allows loopback only), so sustained calls above about 470/s to one node on a real network would run out of ports.`,
	"selector pick, 3 nodes":    `At 3 nodes go-micro's default selector is already cheap (about 0.5 µs, 11 allocations), and microlb's pick has a floor set by go-micro's Selector interface: Select must return a ` + "`Next`" + ` function that remembers the call (for retries that never repeat a node), which costs two heap allocations (the call's state and the function value) — about half of microlb's 100–200 ns. 10× would need the whole Select and Next in about 50 ns. At 100 and 1000 nodes, where go-micro copies and shuffles the service on every Select, the ratio is 50–800×.`,
	"selector pick, 1000 nodes": `The ratio moves with its baseline more than with microlb: go-micro's default selector copies all 1000 nodes on every Select (1008 allocations), about 97 µs on a busy machine and 57 µs on a quiet one, while microlb's slowest strategy, hash (the key is hashed and looked up on the ring on every pick), stays at about 200 ns. So hash lands around 300× on a quiet machine (412× in the busy run recorded before this revision, 279× in a quiet run of this one, with hash at 235 and 203 ns), and the other strategies at 330–560×.`,
	"failover":                  `The stage now loads the gateway with a read (GET with the request in the query), which the route may retry on another node when its node dies mid-call; errors left are calls whose retry also failed, or calls the client timed out.`,
}

// writeMeaning writes the section, with a paragraph for each missed target
// of this run that has an explanation.
func writeMeaning(b *strings.Builder, r *Results) {
	b.WriteString(meaning)
	first := true
	for _, g := range Goals(r) {
		why, ok := whyMissed[g.What]
		if !g.Known || g.Met || !ok {
			continue
		}
		if first {
			b.WriteString("\n### Targets missed, and why\n")
			first = false
		}
		fmt.Fprintf(b, "\n**%s** (target %s, measured %s). %s\n", g.What, g.Target, g.Measured, why)
	}
	b.WriteString("\n")
}
