package reliability_test

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-micro/plugins/v4/registry/consul"
	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"

	"github.com/microlb/microlb/internal/consultest"
	"github.com/microlb/microlb/internal/testutil"
	"github.com/microlb/microlb/selector"
)

// TestKillOneOfThree kill -9s one of three producers under load on the RPC
// and the HTTP proxy route (idempotent GETs; the gateway's defaults, one
// retry): no request fails, the dead node is ejected after at most the
// failure threshold plus the requests already in flight, and once the same
// node restarts and renews its registration it serves again.
func TestKillOneOfThree(t *testing.T) {
	const workers = 4
	victim, g, l := startVictimLoad(t, "", workers, 10*time.Millisecond)

	mark := len(g.logs.String())
	killed := time.Now()
	victim.kill9()
	for _, n := range []struct{ service, id string }{{"greeter", victim.ID}, {"greeter-http", victim.HTTPID}} {
		waitFor(t, n.id+" ejected", 10*time.Second, func() bool {
			st, ok := nodeStats(g.Selector(), n.service, n.id)
			return ok && st.Health == selector.HealthEjected
		})
	}
	ejectedAfter := time.Since(killed)
	l.waitRequests(200) // traffic keeps flowing around the ejected node
	// Each request that met the dead node was retried once on a live one:
	// the retried requests are the failed attempts on the dead node.
	retried := map[string]int{}
	for _, line := range g.logs.accessLines(mark) {
		if a, _ := line["attempts"].(float64); a >= 2 {
			retried[line["service"].(string)]++
		}
	}
	limit := selector.DefaultFailureThreshold + workers
	for _, svc := range []string{"greeter", "greeter-http"} {
		if retried[svc] > limit {
			t.Errorf("%s: %d attempts on the dead node before its ejection, want at most %d (threshold %d + %d in flight)",
				svc, retried[svc], limit, selector.DefaultFailureThreshold, workers)
		}
	}

	restarted := time.Now()
	victim.restart() // same node ids, same addresses
	back, backHTTP := l.waitServedBoth(t, victim, restarted, 30*time.Second)
	l.waitRequests(100)
	l.Stop()
	l.report(t, "kill-9-one-of-three",
		fmt.Sprintf("ejected_after=%s failed_attempts_rpc=%d failed_attempts_http=%d back_in_rotation_rpc=%s back_in_rotation_http=%s",
			ejectedAfter.Round(time.Millisecond), retried["greeter"], retried["greeter-http"], back.Round(time.Millisecond), backHTTP.Round(time.Millisecond)))
	l.requireNoFailure(t)
}

// TestRollingRestart restarts all three producers one at a time (SIGTERM:
// deregister, grace, finish in-flight calls, exit 0; then start again as
// the same node) under load on both routes: no request fails.
func TestRollingRestart(t *testing.T) {
	_, ps, g := startCluster(t, "")

	l := startLoad(g.url, 4, 10*time.Millisecond, rpcTarget, httpTarget)
	defer l.Stop()
	for _, p := range ps {
		l.waitServed(t, p.ID, time.Time{}, 10*time.Second)
	}
	for i, p := range ps {
		if code := p.term(); code != 0 {
			t.Errorf("producer %d exited with status %d after SIGTERM, want 0", i, code)
		}
		l.waitRequests(50) // two nodes carry the load
		since := time.Now()
		p.restart()
		l.waitServed(t, p.ID, since, 20*time.Second)
		l.waitServed(t, p.HTTPID, since, 20*time.Second)
	}
	l.waitRequests(100)
	l.Stop()
	l.report(t, "rolling-restart", "nodes_restarted=3")
	l.requireNoFailure(t)
}

// TestConsulRestart stops the Consul agent under load, starts a producer
// while it is down, and starts the agent again (it restores its services
// from its data directory): no request fails while Consul is down, because
// the gateway serves from its snapshots; /readyz says degraded, then ready;
// and the producer that started during the outage is picked once Consul is
// back and it has registered.
func TestConsulRestart(t *testing.T) {
	agent, _, g := startCluster(t, "")

	l := startLoad(g.url, 4, 10*time.Millisecond, rpcTarget, httpTarget)
	defer l.Stop()
	l.waitRequests(100)
	ready := pollReady(g.admin)
	waitFor(t, "/readyz ready", 10*time.Second, func() bool { return ready.current() == "200 ready" })

	down := time.Now()
	agent.Stop()
	waitFor(t, "/readyz degraded", 10*time.Second, func() bool { return ready.current() == "200 degraded" })
	late := startProducer(t, agent.Addr) // cannot register yet
	time.Sleep(2 * time.Second)
	l.waitRequests(100)
	agent.Restart(t)
	outage := time.Since(down)
	back := time.Now()
	l.waitServedBoth(t, late, back, 30*time.Second)
	lateAfter := time.Since(back)
	waitFor(t, "/readyz ready again", 30*time.Second, func() bool { return ready.current() == "200 ready" })
	l.waitRequests(100)
	l.Stop()
	seen := ready.stop()
	l.report(t, "consul-restart", fmt.Sprintf("outage=%s late_producer_picked_after=%s readyz=%q",
		outage.Round(time.Millisecond), lateAfter.Round(time.Millisecond), seen))
	l.requireNoFailure(t)
	if slices.ContainsFunc(seen, func(s string) bool { return s != "200 ready" && s != "200 degraded" }) {
		t.Errorf("/readyz went through %q, want only ready and degraded", seen)
	}
}

// TestClusterServerKilled runs against a three-server Consul cluster, with
// the gateway reading from one server and the producers registering through
// another, and stops the third, the raft leader: traffic does not notice,
// the producers stay registered, and a producer started afterwards
// registers and is picked.
func TestClusterServerKilled(t *testing.T) {
	c := consultest.StartCluster(t, 3)
	leader := c.Leader(t)
	addrs := c.Addrs()
	gwServer, prodServer := addrs[(leader+1)%3], addrs[(leader+2)%3]
	startProducers(t, prodServer, 3)
	waitRegistered(t, gwServer, "greeter", 3)
	waitRegistered(t, gwServer, "greeter-http", 3)
	g := startGateway(t, gwServer, "", nil)

	l := startLoad(g.url, 4, 10*time.Millisecond, rpcTarget, httpTarget)
	defer l.Stop()
	l.waitRequests(100)
	killed := time.Now()
	c.Stop(leader) // SIGTERM: a server does not leave the cluster, so raft sees it fail
	newLeader := c.Leader(t)
	election := time.Since(killed)
	since := time.Now()
	late := startProducer(t, prodServer)
	l.waitServedBoth(t, late, since, 30*time.Second)
	lateAfter := time.Since(since)
	time.Sleep(2 * time.Second) // two renewals of every registration
	waitRegistered(t, gwServer, "greeter", 4)
	waitRegistered(t, gwServer, "greeter-http", 4)
	l.waitRequests(100)
	l.Stop()
	l.report(t, "consul-cluster-server-killed", fmt.Sprintf("killed=server-%d(leader) new_leader=server-%d election=%s late_producer_picked_after=%s registered_after=4/4",
		leader, newLeader, election.Round(time.Millisecond), lateAfter.Round(time.Millisecond)))
	l.requireNoFailure(t)
}

// TestAllProducersDown stops every producer of the service, first
// gracefully (they deregister), then with kill -9 (Consul lists them until
// their 3 s TTL runs out): every request is answered at once with go-micro
// error JSON, never a 500 and never a hang. While the gateway holds the
// last nodes of a service whose registry entry went empty
// (gateway.EmptyHold; 2 s here) or Consul still lists dead nodes, the answer is 502
// (upstream refused); then 503, as for a service with no node.
func TestAllProducersDown(t *testing.T) {
	agent := consultest.Start(t)
	ps := startProducers(t, agent.Addr, 3, "--register_ttl", "3", "--grace", "0s")
	waitBoth(t, agent.Addr, 3)
	// The gateway's selector holds emptied services for 2 s instead of
	// gateway.EmptyHold's 10 s, to keep the test short.
	sel := selector.New(gselector.Registry(consul.NewRegistry(registry.Addrs(agent.Addr))), selector.WithEmptyHold(2*time.Second))
	g := startGateway(t, agent.Addr, `
routes:
  - {name: api, path: /api, service: greeter, endpoint: Greeter.Hello}
  - {name: web, path: /web, kind: proxy, service: greeter-http, strip_prefix: true}
`, sel)
	paths := []string{"/greeter/hello?name=x", "/greeter-http/x", "/api?name=x", "/web/x"}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, p := range paths {
		if code, body, err := get(client, g.url+p); code != 200 {
			t.Fatalf("%s before the outage: %d %v %s", p, code, err, body)
		}
	}
	var sent, failedFast, slowest = 0, 0, time.Duration(0)
	codes := map[int]int{}
	// check sends rounds of requests to every path and checks each answer.
	check := func(rounds int, allowed ...int) {
		t.Helper()
		for range rounds {
			for _, p := range paths {
				start := time.Now()
				code, body, err := get(client, g.url+p)
				d := time.Since(start)
				sent++
				codes[code]++
				slowest = max(slowest, d)
				e, ok := microError(body)
				switch {
				case err != nil:
					t.Errorf("%s: %v", p, err)
				case !slices.Contains(allowed, code) || !ok || int(e.Code) != code:
					t.Errorf("%s: %d %s, want one of %v with go-micro error JSON", p, code, body, allowed)
				case d > time.Second:
					t.Errorf("%s: answered in %v, want under 1 s", p, d)
				default:
					failedFast++
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// check503 sends rounds until every path answers 503, and returns how
	// long that took.
	check503 := func() time.Duration {
		t.Helper()
		start := time.Now()
		for {
			codes0 := codes[503]
			check(1, 502, 503)
			if codes[503]-codes0 == len(paths) {
				return time.Since(start)
			}
			if time.Since(start) > 30*time.Second {
				t.Fatalf("no 503 on every path within 30 s: %v", codes)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Graceful: every producer drains and deregisters.
	for _, p := range ps {
		go p.term()
	}
	for _, p := range ps {
		<-p.doneCh()
	}
	waitBoth(t, agent.Addr, 0)
	held := check503()
	check(10, 503)

	// kill -9: the nodes stay registered until their TTL runs out.
	for _, p := range ps {
		p.restart()
	}
	waitFor(t, "the restarted producers to serve", 20*time.Second, func() bool {
		code, _, _ := get(client, g.url+paths[0])
		code2, _, _ := get(client, g.url+paths[1])
		return code == 200 && code2 == 200
	})
	for _, p := range ps {
		p.kill9()
	}
	reaped := check503()
	check(10, 503)
	t.Logf("FAULT all-producers-down: sent=%d ok=0 failed=%d answered_under_1s=%d slowest=%s codes=%v 503_after_drain=%s 503_after_kill9=%s",
		sent, sent, failedFast, slowest.Round(time.Millisecond), codes, held.Round(time.Millisecond), reaped.Round(time.Millisecond))
	if codes[500] > 0 {
		t.Errorf("%d answers were 500", codes[500])
	}
}

// TestSlowProducer sends 10,000 requests, half RPC and half proxied, to a
// producer far slower (2 s) than the route timeout (20 ms), so that even a
// badly loaded machine's late timers cannot let it answer first: each is a 504
// with go-micro error JSON, and the gateway's goroutines and heap are back
// where they were once the load ends.
func TestSlowProducer(t *testing.T) {
	agent := consultest.Start(t)
	startProducer(t, agent.Addr, "--latency", "2s")
	waitBoth(t, agent.Addr, 1)
	// The log goes nowhere: 10,000 access lines kept in memory would be
	// the test's own heap growth.
	g := startGatewayLog(t, agent.Addr, "defaults: {timeout: 20ms, retries: 0}\n", nil, io.Discard)

	const workers, total = 32, 10000
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var sent, ok504, bad atomic.Int64
	var slowest atomic.Int64
	var firstBad atomic.Value
	run := func(n int) {
		var wg sync.WaitGroup
		var next atomic.Int64
		deadline := time.Now().Add(90 * time.Second)
		for range workers {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					i := next.Add(1)
					if i > int64(n) {
						return
					}
					tg := rpcTarget
					if i%2 == 0 {
						tg = httpTarget
					}
					start := time.Now()
					code, body, err := get(client, g.url+tg.path)
					d := time.Since(start)
					sent.Add(1)
					for {
						old := slowest.Load()
						if int64(d) <= old || slowest.CompareAndSwap(old, int64(d)) {
							break
						}
					}
					if e, ok := microError(body); err == nil && code == 504 && ok && e.Code == 504 {
						ok504.Add(1)
						continue
					}
					bad.Add(1)
					firstBad.CompareAndSwap(nil, fmt.Sprintf("%s: %d %v %s", tg.path, code, err, body))
				}
			})
		}
		wg.Wait()
	}
	settle := func(limit int) (int, uint64) {
		client.CloseIdleConnections()
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > limit && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		runtime.GC()
		return runtime.NumGoroutine(), testutil.MemStats().HeapInuse
	}

	run(200)                           // warm-up: pools, caches, the catalog, the selector's watches
	time.Sleep(300 * time.Millisecond) // the slow answers of the warm-up arrive
	g0, h0 := settle(0)
	sent.Store(0)
	ok504.Store(0)
	start := time.Now()
	run(total)
	took := time.Since(start)
	g1, h1 := settle(g0 + 5)
	growth := int64(h1) - int64(h0)
	t.Logf("FAULT slow-producer-504: sent=%d ok=0 failed=%d answered_504=%d other=%d took=%s slowest=%s goroutines_before=%d goroutines_after=%d heap_inuse_before=%.1fMB heap_inuse_after=%.1fMB",
		sent.Load(), sent.Load(), ok504.Load(), bad.Load(), took.Round(time.Millisecond), time.Duration(slowest.Load()).Round(time.Millisecond),
		g0, g1, float64(h0)/(1<<20), float64(h1)/(1<<20))
	if sent.Load() != total || ok504.Load() != total {
		t.Errorf("%d of %d requests were 504 with go-micro error JSON (sent %d); first other: %v", ok504.Load(), total, sent.Load(), firstBad.Load())
	}
	if g1 > g0+20 {
		t.Errorf("goroutines grew from %d to %d across %d timed-out requests", g0, g1, total)
	}
	if growth > 16<<20 {
		t.Errorf("heap in use grew by %.1f MB across %d timed-out requests", float64(growth)/(1<<20), total)
	}
}

// TestPanicThreshold has two of three producers fail every call: once both
// are ejected, half or more of the nodes are, so the selector ignores
// ejection and traffic keeps reaching all three nodes, on both routes,
// instead of piling onto the one healthy node.
func TestPanicThreshold(t *testing.T) {
	agent := consultest.Start(t)
	good := startProducer(t, agent.Addr)
	badOnes := startProducers(t, agent.Addr, 2, "--fail_rate", "1")
	waitBoth(t, agent.Addr, 3)
	g := startGateway(t, agent.Addr, "", nil)

	l := startLoad(g.url, 2, 10*time.Millisecond, rpcTarget, httpTarget)
	defer l.Stop()
	for _, b := range badOnes {
		for _, n := range []struct{ service, id string }{{"greeter", b.ID}, {"greeter-http", b.HTTPID}} {
			waitFor(t, n.id+" ejected", 10*time.Second, func() bool {
				st, ok := nodeStats(g.Selector(), n.service, n.id)
				return ok && st.Health == selector.HealthEjected
			})
		}
	}
	before := map[string]map[string]uint64{"greeter": picks(g.Selector(), "greeter"), "greeter-http": picks(g.Selector(), "greeter-http")}
	sent0, ok0 := l.sent.Load(), l.ok.Load()
	l.waitRequests(300)
	after := map[string]map[string]uint64{"greeter": picks(g.Selector(), "greeter"), "greeter-http": picks(g.Selector(), "greeter-http")}
	l.Stop()
	var shares []string
	for _, svc := range []string{"greeter", "greeter-http"} {
		var total uint64
		for id, n := range after[svc] {
			total += n - before[svc][id]
		}
		for _, id := range []string{good.ID, badOnes[0].ID, badOnes[1].ID} {
			if svc == "greeter-http" {
				id = strings.Replace(id, "greeter-", "greeter-http-", 1)
			}
			n := after[svc][id] - before[svc][id]
			share := float64(n) / float64(max(total, 1))
			shares = append(shares, fmt.Sprintf("%s=%.0f%%", id, 100*share))
			if share < 0.2 {
				t.Errorf("%s: node %s got %d of %d picks with 2 of 3 nodes ejected, want about a third", svc, id, n, total)
			}
		}
	}
	okShare := float64(l.ok.Load()-ok0) / float64(l.sent.Load()-sent0)
	l.report(t, "panic-threshold-2-of-3-failing", fmt.Sprintf("gateway_errors=%d ok_share_after_ejection=%.0f%% picks_after_ejection: %s",
		l.gatewayErrs.Load(), 100*okShare, strings.Join(shares, " ")))
	if l.gatewayErrs.Load() != 0 {
		t.Errorf("%d failures came from the gateway, want only the failing nodes' own errors", l.gatewayErrs.Load())
	}
	if okShare < 0.2 || okShare > 0.5 {
		t.Errorf("%.0f%% of the requests succeeded after the ejections, want about a third", 100*okShare)
	}
}

// TestStoppedNode stops one of three producers with SIGSTOP under load (a
// gray failure: it stays registered, accepts connections and never
// answers) with `timeout: 2s, per_try_timeout: 500ms, retries: 2`, on both
// routes (500 ms, not the 300 ms of the bench, so that a live node slowed
// by a loaded machine under -race is not taken for a stopped one). Every
// attempt that meets it times out after 500 ms and is retried
// on another node, so no request fails and none takes the whole 2 s; the
// timeouts count as failures (whichever deadline ended them), so the node is
// ejected within a few seconds; after SIGCONT it serves again.
func TestStoppedNode(t *testing.T) {
	victim, g, l := startVictimLoad(t, "defaults: {timeout: 2s, per_try_timeout: 500ms, retries: 2}\n", 8, 5*time.Millisecond)

	victim.signal(syscall.SIGSTOP)
	stopped := time.Now()
	defer victim.signal(syscall.SIGCONT) // a failed test must not leave it stopped
	var ejectedAfter [2]time.Duration
	for i, n := range []struct{ service, id string }{{"greeter", victim.ID}, {"greeter-http", victim.HTTPID}} {
		waitFor(t, n.id+" ejected", 10*time.Second, func() bool {
			st, ok := nodeStats(g.Selector(), n.service, n.id)
			return ok && st.Health == selector.HealthEjected
		})
		ejectedAfter[i] = time.Since(stopped)
	}
	l.waitRequests(300) // traffic keeps flowing around the stopped node
	victim.signal(syscall.SIGCONT)
	l.Stop()
	l.mu.Lock()
	worst := l.maxLat
	l.mu.Unlock()
	l.report(t, "sigstop-one-of-three", fmt.Sprintf("ejected_after_rpc=%s ejected_after_http=%s worst=%s",
		ejectedAfter[0].Round(time.Millisecond), ejectedAfter[1].Round(time.Millisecond), worst.Round(time.Millisecond)))
	l.requireNoFailure(t)
	// A request meets the stopped node at most once (a retry goes to
	// another node), so it ends well before the 2 s route timeout.
	if worst >= 2*time.Second {
		t.Errorf("worst request took %v, want less than the route timeout (2s): per-try timeouts retried it", worst)
	}
}
