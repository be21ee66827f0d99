package reliability_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-micro/plugins/v4/registry/consul"
	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/api-gateway/gateway"
	"github.com/microlb/microlb/internal/configtest"
	"github.com/microlb/microlb/internal/consultest"
	"github.com/microlb/microlb/internal/testutil"
	"github.com/microlb/microlb/selector"
)

// gw is a real gateway serving on loopback: gateway.New over a Consul
// registry, served by Gateway.Serve on a public and an admin listener.
type gw struct {
	*gateway.Gateway
	url, admin string
	logs       *syncBuffer
}

// baseYAML is prepended to every test's configuration: a short drain so
// that cleanup is quick.
const baseYAML = "server: {shutdown_timeout: 2s}\n"

// startGateway starts a gateway whose registry is the Consul agent at
// consulAddr, configured with yaml (after baseYAML). A nil sel lets the
// gateway build its own selector, as bin/api-gateway does.
func startGateway(t *testing.T, consulAddr, yaml string, sel *selector.Selector) *gw {
	t.Helper()
	return startGatewayLog(t, consulAddr, yaml, sel, nil)
}

// startGatewayLog is startGateway with the gateway's log going to w
// (nil: into the gw's logs buffer).
func startGatewayLog(t *testing.T, consulAddr, yaml string, sel *selector.Selector, w io.Writer) *gw {
	t.Helper()
	cfg := configtest.Load(t, baseYAML+yaml)
	logs := &syncBuffer{}
	if w == nil {
		w = logs
	}
	g, err := gateway.New(gateway.Options{
		Config:   cfg,
		Registry: consul.NewRegistry(registry.Addrs(consulAddr)),
		Selector: sel,
		Logger:   slog.New(slog.NewJSONHandler(w, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return serveGateway(t, g, logs, func(*gw) {
		if sel != nil {
			sel.Close()
		}
	})
}

// serveGateway serves g on two free loopback ports, public and admin, until
// t ends; then it stops g, waits up to 10 s for it and calls after, if not
// nil, with the gateway.
func serveGateway(t *testing.T, g *gateway.Gateway, logs *syncBuffer, after func(*gw)) *gw {
	t.Helper()
	pub, adm := testutil.Listen(t), testutil.Listen(t)
	s := &gw{Gateway: g, url: "http://" + pub.Addr().String(), admin: "http://" + adm.Addr().String(), logs: logs}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- g.Serve(ctx, pub, adm) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Error("the gateway did not stop within 10 s")
		}
		if after != nil {
			after(s)
		}
	})
	return s
}

// syncBuffer is a goroutine-safe log sink that finds access-log lines.
type syncBuffer struct{ testutil.SyncBuffer }

// accessLines returns the access-log lines logged after mark (a byte offset
// of the log, from len(logs.String())).
func (s *syncBuffer) accessLines(mark int) []map[string]any {
	var out []map[string]any
	all := s.String()
	if mark > len(all) {
		mark = len(all)
	}
	for _, l := range strings.Split(all[mark:], "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// target is one kind of request of a load: a path on the gateway.
type target struct{ kind, path string }

var (
	rpcTarget  = target{"rpc", "/greeter/hello?name=fault"}
	httpTarget = target{"http", "/greeter-http/fault"}
)

// load is a bounded load through the gateway: workers send requests in
// turn to each target until Stop, maxRequests or maxTime, whichever comes
// first. It counts what was sent, what succeeded (200 with a node id) and
// what failed, and which node served each success.
type load struct {
	base    string
	client  *http.Client
	targets []target
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	sent, ok, failed atomic.Int64
	gatewayErrs      atomic.Int64 // failures answered by the gateway itself (id microlb.gateway)

	mu       sync.Mutex
	byNode   map[string]int
	lastOK   map[string]time.Time
	codes    map[int]int
	failures []string // the first few, for the test's log
	maxLat   time.Duration
}

// Load bounds.
const (
	loadMaxRequests = 200000
	loadMaxTime     = 90 * time.Second
)

// startLoad starts workers that each send one request at a time, pausing
// pause between requests.
func startLoad(base string, workers int, pause time.Duration, targets ...target) *load {
	ctx, cancel := context.WithTimeout(context.Background(), loadMaxTime)
	l := &load{
		base: base, targets: targets, cancel: cancel,
		client: &http.Client{
			Timeout:   15 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: workers, DisableCompression: true},
		},
		byNode: map[string]int{}, lastOK: map[string]time.Time{}, codes: map[int]int{},
	}
	var seq atomic.Int64
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				n := seq.Add(1)
				if n > loadMaxRequests {
					return
				}
				l.one(targets[int(n)%len(targets)])
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
			}
		}()
	}
	return l
}

// one sends one request and records its outcome.
func (l *load) one(tg target) {
	l.sent.Add(1)
	start := time.Now()
	code, body, err := get(l.client, l.base+tg.path)
	lat := time.Since(start)
	node := ""
	if err == nil && code == http.StatusOK {
		var r struct {
			NodeID string `json:"node_id"`
		}
		if json.Unmarshal([]byte(body), &r) == nil {
			node = r.NodeID
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxLat = max(l.maxLat, lat)
	l.codes[code]++
	if node == "" {
		l.failed.Add(1)
		if e, ok := microError(body); ok && e.Id == "microlb.gateway" {
			l.gatewayErrs.Add(1)
		}
		if len(l.failures) < 10 {
			l.failures = append(l.failures, fmt.Sprintf("%s %s %s: %d %v %.200s", start.Format("15:04:05.000"), tg.kind, tg.path, code, err, body))
		}
		return
	}
	l.ok.Add(1)
	l.byNode[node]++
	l.lastOK[node] = time.Now()
}

// Stop stops the workers and waits for their requests to finish.
func (l *load) Stop() {
	l.cancel()
	l.wg.Wait()
	l.client.CloseIdleConnections()
}

// served reports whether node served a request after since.
func (l *load) served(node string, since time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastOK[node].After(since)
}

// waitServed waits until node served a request after since.
func (l *load) waitServed(t *testing.T, node string, since time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !l.served(node, since) {
		if time.Now().After(deadline) {
			t.Fatalf("node %s served nothing within %v; served: %v", node, timeout, l.nodes())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(since)
}

// waitServedBoth waits until p served a request since since on both of its
// services, RPC and HTTP, and returns how long each took from since.
func (l *load) waitServedBoth(t *testing.T, p *producer, since time.Time, timeout time.Duration) (rpc, http time.Duration) {
	t.Helper()
	return l.waitServed(t, p.ID, since, timeout), l.waitServed(t, p.HTTPID, since, timeout)
}

// waitRequests waits until at least n more requests than now were sent.
func (l *load) waitRequests(n int64) {
	target := l.sent.Load() + n
	deadline := time.Now().Add(30 * time.Second)
	for l.sent.Load() < target && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// nodes returns the successes per node, as "node=N" sorted.
func (l *load) nodes() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var parts []string
	for n, c := range l.byNode {
		parts = append(parts, fmt.Sprintf("%s=%d", n, c))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// report logs the greppable FAULT line and the first failures.
func (l *load) report(t *testing.T, name string, extra ...string) {
	t.Helper()
	l.mu.Lock()
	failures, maxLat := l.failures, l.maxLat
	l.mu.Unlock()
	line := fmt.Sprintf("FAULT %s: sent=%d ok=%d failed=%d max_latency=%s", name, l.sent.Load(), l.ok.Load(), l.failed.Load(), maxLat.Round(time.Millisecond))
	if len(extra) > 0 {
		line += " " + strings.Join(extra, " ")
	}
	t.Log(line)
	for _, f := range failures {
		t.Log("  failure: " + f)
	}
}

// requireNoFailure fails the test unless every request succeeded.
func (l *load) requireNoFailure(t *testing.T) {
	t.Helper()
	if f := l.failed.Load(); f != 0 || l.ok.Load() == 0 {
		t.Errorf("%d of %d requests failed (want 0 of at least 1)", f, l.sent.Load())
	}
}

// get sends GET url and returns the status, the body and a transport error.
func get(c *http.Client, url string) (int, string, error) {
	rsp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer rsp.Body.Close()
	b, err := io.ReadAll(rsp.Body)
	return rsp.StatusCode, string(b), err
}

// microError decodes a go-micro error body; ok is false when it is not one.
var microError = testutil.MicroError

// readyPoller polls /readyz and records each status it sees, in order
// (consecutive repeats collapsed).
type readyPoller struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	seen   []string
	last   string
}

func pollReady(admin string) *readyPoller {
	ctx, cancel := context.WithTimeout(context.Background(), loadMaxTime)
	p := &readyPoller{cancel: cancel, done: make(chan struct{})}
	c := &http.Client{Timeout: 5 * time.Second}
	go func() {
		defer close(p.done)
		for ctx.Err() == nil {
			code, body, err := get(c, admin+"/readyz")
			var r struct {
				Status string `json:"status"`
			}
			json.Unmarshal([]byte(body), &r)
			s := fmt.Sprintf("%d %s", code, r.Status)
			if err != nil {
				s = "error"
			}
			p.mu.Lock()
			if s != p.last {
				p.seen = append(p.seen, s)
				p.last = s
			}
			p.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return p
}

func (p *readyPoller) current() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

func (p *readyPoller) stop() []string {
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.seen
}

// waitFor polls cond for up to timeout.
var waitFor = testutil.WaitFor

// nodeStats returns the selector's view of node id of service, if loaded.
func nodeStats(sel *selector.Selector, service, id string) (selector.NodeStats, bool) {
	for _, s := range sel.Stats() {
		if s.Name != service {
			continue
		}
		for _, n := range s.Nodes {
			if n.ID == id {
				return n, true
			}
		}
	}
	return selector.NodeStats{}, false
}

// picks returns the total picks of each node of service, all strategies.
func picks(sel *selector.Selector, service string) map[string]uint64 {
	out := map[string]uint64{}
	for _, s := range sel.Stats() {
		if s.Name != service {
			continue
		}
		for _, n := range s.Nodes {
			for _, c := range n.Picks {
				out[n.ID] += c
			}
		}
	}
	return out
}

// registered returns the passing node ids of service in the Consul agent
// at addr.
func registered(addr, service string) []string {
	c := &http.Client{Timeout: 3 * time.Second}
	code, body, err := get(c, "http://"+addr+"/v1/health/service/"+service+"?passing=true")
	if err != nil || code != 200 {
		return nil
	}
	var entries []struct{ Service struct{ ID string } }
	json.Unmarshal([]byte(body), &entries)
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.Service.ID)
	}
	sort.Strings(ids)
	return ids
}

// waitBoth waits until both of the producers' services, greeter and
// greeter-http, have exactly n passing nodes in the Consul agent at addr.
func waitBoth(t *testing.T, addr string, n int) {
	t.Helper()
	waitRegistered(t, addr, "greeter", n)
	waitRegistered(t, addr, "greeter-http", n)
}

// startCluster starts a Consul agent, three producers registered in it
// (waiting until both their services have three passing nodes) and a
// gateway over them configured by yaml.
func startCluster(t *testing.T, yaml string) (*consultest.Agent, []*producer, *gw) {
	t.Helper()
	agent := consultest.Start(t)
	ps := startProducers(t, agent.Addr, 3)
	waitBoth(t, agent.Addr, 3)
	return agent, ps, startGateway(t, agent.Addr, yaml, nil)
}

// startVictimLoad starts a cluster configured by yaml (startCluster) and a
// load of workers through its gateway on rpcTarget and httpTarget, pausing
// pause between requests, and waits until the first producer, the victim of
// the test, has served both. The load stops when t ends.
func startVictimLoad(t *testing.T, yaml string, workers int, pause time.Duration) (*producer, *gw, *load) {
	t.Helper()
	_, ps, g := startCluster(t, yaml)
	l := startLoad(g.url, workers, pause, rpcTarget, httpTarget)
	t.Cleanup(l.Stop)
	l.waitServedBoth(t, ps[0], time.Time{}, 10*time.Second)
	return ps[0], g, l
}

// waitRegistered waits until service has exactly n passing nodes in the
// Consul agent at addr.
func waitRegistered(t *testing.T, addr, service string, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d passing %s nodes", n, service), 30*time.Second, func() bool {
		return len(registered(addr, service)) == n
	})
}
