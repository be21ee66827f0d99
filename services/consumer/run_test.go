package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go-micro.dev/v4/client"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/server"
	"go-micro.dev/v4/transport"

	"github.com/microlb/microlb/internal/greetertest"
	"github.com/microlb/microlb/internal/loadresult"
	"github.com/microlb/microlb/internal/testutil"
	pb "github.com/microlb/microlb/proto/greeter"
	"github.com/microlb/microlb/selector"
)

// fakeGreeter answers Hello with its node id and weight, or fails with the
// service's own 500.
type fakeGreeter struct {
	id     string
	weight int32
	fail   bool
	calls  atomic.Int64
}

func (g *fakeGreeter) Hello(_ context.Context, _ *pb.HelloRequest, rsp *pb.HelloResponse) error {
	g.calls.Add(1)
	if g.fail {
		return merrors.InternalServerError(g.id, "boom")
	}
	rsp.NodeId, rsp.Weight = g.id, g.weight
	return nil
}

func (g *fakeGreeter) Stream(context.Context, *pb.HelloRequest, pb.Greeter_StreamStream) error {
	return nil
}

// world is an in-process greeter service: a memory registry and transport
// and some nodes.
type world struct {
	reg registry.Registry
	tr  transport.Transport
}

func newWorld() *world {
	return &world{reg: registry.NewMemoryRegistry(), tr: transport.NewMemoryTransport()}
}

// serve starts a greeter node "greeter-<name>" with weight w.
func (w *world) serve(t *testing.T, name string, weight int, fail bool) *fakeGreeter {
	t.Helper()
	g := &fakeGreeter{id: "greeter-" + name, weight: int32(weight), fail: fail}
	greetertest.Serve(t, server.NewRPCServer, g, server.Id(name), server.Registry(w.reg), server.Transport(w.tr),
		server.Metadata(map[string]string{"weight": fmt.Sprint(weight)}))
	return g
}

// run runs the consumer with args against the world and returns its exit
// status, stdout and stderr.
func (w *world) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cfg, err := parseFlags(args, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := runWith(context.Background(), cfg, w.reg, &stdout, &stderr, client.Transport(w.tr))
	return code, stdout.String(), stderr.String()
}

// runJSON runs the consumer with --json and decodes its lines.
func (w *world) runJSON(t *testing.T, args ...string) []loadresult.Result {
	t.Helper()
	code, out, errOut := w.run(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
	}
	results, err := loadresult.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	return results
}

func TestRunWeightedIsExact(t *testing.T) {
	w := newWorld()
	w.serve(t, "a", 5, false)
	w.serve(t, "b", 1, false)
	w.serve(t, "c", 1, false)
	got := w.runJSON(t, "--strategy", "weighted", "-n", "700")
	want := map[string]int{"greeter-a": 500, "greeter-b": 100, "greeter-c": 100}
	if len(got) != 1 || got[0].Strategy != "weighted" || got[0].Requests != 700 || got[0].Errors != 0 || !maps.Equal(got[0].Nodes, want) {
		t.Fatalf("result = %+v, want 700 requests, 0 errors, nodes %v", got, want)
	}
}

func TestRunAllStrategies(t *testing.T) {
	w := newWorld()
	w.serve(t, "a", 2, false)
	w.serve(t, "b", 1, false)
	got := w.runJSON(t, "--strategy", "all", "-n", "60", "--concurrency", "3")
	if len(got) != len(selector.Strategies) {
		t.Fatalf("%d results, want %d", len(got), len(selector.Strategies))
	}
	for i, r := range got {
		if r.Strategy != string(selector.Strategies[i]) {
			t.Errorf("result %d is %s, want %s", i, r.Strategy, selector.Strategies[i])
		}
		sum := 0
		for _, n := range r.Nodes {
			sum += n
		}
		if r.Requests != 60 || r.Errors != 0 || sum != 60 || r.Keys != nil {
			t.Errorf("%s: %+v, want 60 requests served, no errors, no keys", r.Strategy, r)
		}
	}
	if rr := got[1].Nodes; rr["greeter-a"] != 30 || rr["greeter-b"] != 30 {
		t.Errorf("roundrobin nodes = %v, want 30 each", rr)
	}
	if wt := got[2].Nodes; wt["greeter-a"] != 40 || wt["greeter-b"] != 20 {
		t.Errorf("weighted nodes = %v, want 40 and 20", wt)
	}
}

// TestRunKeys checks --keys: every key is reported with the node that served
// it, and the same keys map to the same nodes on the next run.
func TestRunKeys(t *testing.T) {
	w := newWorld()
	w.serve(t, "a", 1, false)
	w.serve(t, "b", 1, false)
	w.serve(t, "c", 1, false)
	first := w.runJSON(t, "--strategy", "hash", "--keys", "50", "-n", "200")
	second := w.runJSON(t, "--strategy", "hash", "--keys", "50", "-n", "100")
	if len(first[0].Keys) != 50 {
		t.Fatalf("%d keys, want 50", len(first[0].Keys))
	}
	if !maps.Equal(first[0].Keys, second[0].Keys) {
		t.Fatalf("keys moved between runs:\n%v\n%v", first[0].Keys, second[0].Keys)
	}
	one := w.runJSON(t, "--strategy", "hash", "--key", "user-7", "-n", "30")
	if len(one[0].Nodes) != 1 || len(one[0].Keys) != 1 || one[0].Nodes[one[0].Keys["user-7"]] != 30 {
		t.Fatalf("--key user-7: %+v, want all 30 calls on one node", one[0])
	}
}

// TestRunServiceErrorsAreNotRetried checks that an error the service answered
// is final (one attempt per call) and that a run where every call failed
// exits 1.
func TestRunServiceErrorsAreNotRetried(t *testing.T) {
	w := newWorld()
	g := w.serve(t, "bad", 1, true)
	code, out, _ := w.run(t, "--strategy", "roundrobin", "-n", "10", "--retries", "2", "--json")
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	want := `{"strategy":"roundrobin","requests":10,"errors":10,"nodes":{},"p50_ms":0,"p99_ms":0}` + "\n"
	if out != want {
		t.Errorf("output %s, want %s", out, want)
	}
	if n := g.calls.Load(); n != 10 {
		t.Errorf("the node was called %d times, want 10 (no retries)", n)
	}
}

// TestRunDeadNodeIsRetried checks that a registered node nobody listens on
// costs no failed call: the attempt is retried on another node.
func TestRunDeadNodeIsRetried(t *testing.T) {
	w := newWorld()
	w.serve(t, "a", 1, false)
	w.serve(t, "b", 1, false)
	dead := &registry.Service{Name: "greeter", Version: "latest", Nodes: []*registry.Node{{
		Id: "greeter-dead", Address: "127.0.0.1:1", Metadata: map[string]string{"weight": "1", "protocol": "mucp"},
	}}}
	if err := w.reg.Register(dead); err != nil {
		t.Fatal(err)
	}
	got := w.runJSON(t, "--strategy", "roundrobin", "-n", "90", "--retries", "2")
	if got[0].Errors != 0 || got[0].Nodes["greeter-a"]+got[0].Nodes["greeter-b"] != 90 {
		t.Fatalf("result %+v, want 90 calls served by a and b", got[0])
	}
}

func TestRunTable(t *testing.T) {
	w := newWorld()
	w.serve(t, "a", 3, false)
	code, out, _ := w.run(t, "--strategy", "weighted", "-n", "30", "--concurrency", "1")
	if code != 0 {
		t.Fatalf("exit status %d", code)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "weighted: 30 requests to greeter, concurrency 1, retries 2, ") ||
		lines[1] != "  NODE       WEIGHT   COUNT   SHARE" ||
		lines[2] != "  greeter-a       3      30  100.0%  "+strings.Repeat("█", 40) ||
		!strings.HasPrefix(lines[3], "  latency p50 ") || !strings.HasSuffix(lines[3], " errors 0") {
		t.Fatalf("table:\n%s", out)
	}
}

func TestProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, false)
	p.start("weighted", 1000)
	for range 1000 {
		p.add()
	}
	p.finish()
	var want strings.Builder
	for d := 1; d <= 9; d++ {
		fmt.Fprintf(&want, "consumer: weighted %d%% (%d/1000)\n", d*10, d*100)
	}
	if b.String() != want.String() {
		t.Fatalf("progress:\n%s\nwant:\n%s", b.String(), want.String())
	}

	b.Reset()
	p.start("short", 999)
	for range 999 {
		p.add()
	}
	p.finish()
	if b.Len() != 0 {
		t.Fatalf("progress of a short run: %q, want nothing", b.String())
	}
}

func TestProgressTerminal(t *testing.T) {
	var b testutil.SyncBuffer
	p := newProgress(&b, true)
	p.start("hash", 10)
	p.add()
	time.Sleep(progressTick + 100*time.Millisecond)
	p.finish()
	if got := b.String(); !strings.HasPrefix(got, "\r\033[Khash 1/10 (10%)") || !strings.HasSuffix(got, "\r\033[K") {
		t.Fatalf("terminal progress = %q", got)
	}
}

// TestRunStdoutIsOnlyTheReport: the selector's warning (a node with a weight
// that is not a number) goes to stderr through slog; stdout holds the JSON
// report lines and nothing else.
func TestRunStdoutIsOnlyTheReport(t *testing.T) {
	w := newWorld()
	w.serve(t, "a", 1, false)
	greetertest.Serve(t, server.NewRPCServer, &fakeGreeter{id: "greeter-heavy", weight: 1}, server.Id("heavy"),
		server.Registry(w.reg), server.Transport(w.tr), server.Metadata(map[string]string{"weight": "heavy"}))

	code, out, errOut := w.run(t, "--strategy", "weighted", "-n", "10", "--json")
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("stdout has %d lines, want 1 report line:\n%s", len(lines), out)
	}
	var r loadresult.Result
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil || r.Strategy != "weighted" || r.Requests != 10 {
		t.Fatalf("stdout line %q: %+v, %v", lines[0], r, err)
	}
	want := `level=WARN msg="microlb: service greeter node \"greeter-heavy\" has weight \"heavy\": using 1"`
	if !strings.Contains(errOut, want) {
		t.Fatalf("stderr lacks the selector's warning %s:\n%s", want, errOut)
	}
}

func TestRunVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--version"}, noEnv, &stdout, &stderr)
	if code != 0 || stderr.Len() != 0 {
		t.Fatalf("exit status %d, stderr %q", code, stderr.String())
	}
	if out := stdout.String(); !strings.HasPrefix(out, "consumer ") || !strings.Contains(out, " go-micro ") || strings.Count(out, "\n") != 1 {
		t.Fatalf("--version printed %q", out)
	}
}

// TestRunInterruptedPrintsNothing: after Ctrl-C (ctx done) the interrupted
// strategy's partial result is not printed, and the exit status is 1.
func TestRunInterruptedPrintsNothing(t *testing.T) {
	w := newWorld()
	w.serve(t, "a", 1, false)
	cfg, err := parseFlags([]string{"--strategy", "all", "-n", "10", "--json"}, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := runWith(ctx, cfg, w.reg, &stdout, &stderr, client.Transport(w.tr))
	if code != 1 || stdout.Len() != 0 {
		t.Fatalf("exit status %d, stdout %q; want 1 and nothing", code, stdout.String())
	}
	if want := "interrupted: the incomplete result is not printed"; !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr lacks %q:\n%s", want, stderr.String())
	}
}
