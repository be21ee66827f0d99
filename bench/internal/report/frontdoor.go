package report

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Target names of the "stock" stage: go-micro's api and microlb's gateway in
// front of stock go-micro v4.11.0 servers.
const (
	NameGoMicroStock  = "go-micro api → stock mucp"
	NameGatewayStock  = "microlb api-gateway → stock mucp"
	NameGatewayGRPC   = "microlb api-gateway → stock gRPC"
	stockRPSTarget    = 1.5 // issue 10: ≥ 1.5× go-micro's api req/s
	timeWaitTarget    = 1000
	timeWaitStageName = "timewait"
)

// Stock is the "stock" stage's outcome: HTTP → RPC through go-micro's api
// and microlb's gateway to stock go-micro v4.11.0 services (3 mucp nodes, 3
// gRPC-server-plugin nodes), in alternated A/B pairs against the api.
type Stock struct {
	// Targets are the A/B results; the api → stock mucp is the base.
	Targets []Target
	// CPU is the serving process's CPU over each target's measured runs.
	CPU []CPUUse
	// Paths are the request paths checked to answer 200 through the
	// gateway before measuring.
	Paths []string
}

// CPUUse is the CPU time one process spent over the measured runs of one
// target, from /proc/<pid>/stat (utime + stime), and the requests it served
// in them.
type CPUUse struct {
	Target, Process string
	CPU             time.Duration
	Requests        int64
	// PerRequest is CPU / Requests (0 when nothing was served).
	PerRequest time.Duration
	// Note says why CPU is unknown, when it is.
	Note string `json:",omitempty"`
}

// TimeWait is the "timewait" stage's outcome: maximum load through the
// gateway to one stock mucp node with net.ipv4.tcp_tw_reuse=0.
type TimeWait struct {
	// Duration is the load's length; Conns and Threads are wrk's.
	Duration       time.Duration
	Conns, Threads int
	// Node is the stock node's address.
	Node string
	// TwReuse is the setting found before the stage, restored after it.
	TwReuse string
	// Requests is what wrk completed; Non2xx and SocketErrors its failures.
	Requests, Non2xx, SocketErrors int64
	RPS                            float64
	P99                            time.Duration
	// MaxTimeWait is the largest number of TIME_WAIT sockets with the
	// node's port at either end, sampled every second (Samples times).
	MaxTimeWait, Samples int
	// NodeRSSBefore and NodeRSSAfter are the node's resident memory in
	// bytes just before and after the load: go-micro v4.11.0's server
	// keeps per-request state for as long as a connection stays open
	// when the request carries a Timeout header (a defer inside
	// ServeConn's loop), which connection reuse makes visible.
	NodeRSSBefore, NodeRSSAfter int64
}

// Errors is every failed request.
func (t *TimeWait) Errors() int64 { return t.Non2xx + t.SocketErrors }

// frontDoorGoals are issue 10's targets for the two stages.
func frontDoorGoals(r *Results) []Goal {
	rps := Goal{What: "HTTP → RPC req/s, stock mucp", Target: "≥ 1.5× go-micro v4 api (moonshot 2×)"}
	p99 := Goal{What: "HTTP → RPC p99, stock mucp", Target: "≤ 1× go-micro v4 api p99"}
	if r.Stock != nil {
		if gw, ok := find(r.Stock.Targets, NameGatewayStock); ok {
			rps.Measured, rps.Known, rps.Met = ratio(gw.Ratio.RPS), !math.IsNaN(gw.Ratio.RPS), gw.Ratio.RPS >= stockRPSTarget
			p99.Measured, p99.Known, p99.Met = ratio(gw.Ratio.P99), !math.IsNaN(gw.Ratio.P99), gw.Ratio.P99 <= 1
		}
	}
	tw := Goal{What: "no port exhaustion", Target: "tcp_tw_reuse=0, 120 s: 0 errors, < 1,000 TIME_WAIT"}
	if t := r.TimeWait; t != nil {
		tw.Known = true
		tw.Measured = fmt.Sprintf("%d errors, max %d TIME_WAIT over %v", t.Errors(), t.MaxTimeWait, t.Duration)
		tw.Met = t.Errors() == 0 && t.MaxTimeWait < timeWaitTarget && t.Duration >= 120*time.Second
	}
	return []Goal{rps, p99, tw}
}

// writeFrontDoor writes the table of the "stock" or "timewait" stage.
func writeFrontDoor(b *strings.Builder, r *Results, stage string) {
	if stage == timeWaitStageName {
		writeTimeWait(b, r.TimeWait)
		return
	}
	s := r.Stock
	if s == nil {
		return
	}
	writeTargets(b, s.Targets, NameGoMicroStock)
	if len(s.CPU) > 0 {
		fmt.Fprintf(b, "| target | process | CPU over its measured runs | requests | CPU per request |\n|---|---|---|---|---|\n")
		for _, c := range s.CPU {
			if c.Note != "" {
				fmt.Fprintf(b, "| %s | %s | unknown: %s | | |\n", c.Target, c.Process, c.Note)
				continue
			}
			fmt.Fprintf(b, "| %s | %s | %.2f s | %d | %s |\n", c.Target, c.Process, c.CPU.Seconds(), c.Requests, cpuPerRequest(c.PerRequest))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "The services are unmodified go-micro v4.11.0 (`bench/stocknode`, no Micro-Id fix): 3 mucp nodes and 3 gRPC-server-plugin nodes in Consul; "+
		"CPU is the serving process's utime + stime from `/proc/<pid>/stat` over the runs of that target, divided by the requests wrk completed in them. "+
		"Checked to answer 200 through the gateway first: %s.\n\n", codeList(s.Paths))
}

func writeTimeWait(b *strings.Builder, t *TimeWait) {
	if t == nil {
		return
	}
	fmt.Fprintf(b, "| | |\n|---|---|\n")
	fmt.Fprintf(b, "| run | %v of wrk (%d thread(s), %d connections) through the gateway to one stock mucp node (%s), `net.ipv4.tcp_tw_reuse=0` (was %s, restored) |\n",
		t.Duration, t.Threads, t.Conns, t.Node, t.TwReuse)
	fmt.Fprintf(b, "| requests | %d (%s req/s, p99 %s) |\n", t.Requests, num(t.RPS), dur(t.P99))
	fmt.Fprintf(b, "| errors | %d (%d non-2xx, %d socket errors) |\n", t.Errors(), t.Non2xx, t.SocketErrors)
	fmt.Fprintf(b, "| TIME_WAIT with the node's port, max of %d samples | %d |\n", t.Samples, t.MaxTimeWait)
	fmt.Fprintf(b, "| the node's resident memory | %s before the load → %s after |\n\n", mib(t.NodeRSSBefore), mib(t.NodeRSSAfter))
	b.WriteString("With `tcp_tw_reuse=0` Linux cannot reuse a port in TIME_WAIT for a new connection, as on a real network, so a gateway that dialled once per call would run out of ports; " +
		"TIME_WAIT is counted every second from `/proc/net/tcp{,6}` (state 06) at either end of a connection to the node. Target: 0 errors and fewer than 1,000 TIME_WAIT over 120 s. " +
		"The node's memory is the cost of reuse to a stock node: go-micro v4.11.0's server (`ServeConn` in server/rpc_server.go) keeps a request's timeout context, " +
		"through a `defer cancel()` inside its read loop, until the connection closes, for every request that carries a `Timeout` header.\n\n")
}

// cpuPerRequest formats a CPU time per request in microseconds.
func cpuPerRequest(d time.Duration) string {
	if d <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}

// mib formats a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// codeList formats items as `a`, `b`.
func codeList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, ", ")
}
