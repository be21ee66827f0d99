package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"strings"
	"testing"
	"time"

	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/client"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
	gmselector "go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"

	"github.com/microlb/microlb/internal/testutil"
	pb "github.com/microlb/microlb/proto/greeter"
)

// testNode is a producer served in-process over loopback, registered in a
// memory registry.
type testNode struct {
	p    *producer
	srv  server.Server
	reg  registry.Registry
	logs *testutil.SyncBuffer
	svc  pb.GreeterService
}

// startNode starts a producer named "greeter" with node id "greeter-node1".
func startNode(t *testing.T, cfg *config, interval time.Duration) *testNode {
	t.Helper()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	reg := registry.NewMemoryRegistry()
	srv := server.NewRPCServer(
		server.Wait(nil),
		server.Registry(reg),
		server.Broker(broker.NewMemoryBroker()),
		server.Name("greeter"),
		server.Id("node1"),
		server.Address("127.0.0.1:0"),
		server.RegisterTTL(time.Minute),
		server.RegisterInterval(interval),
	)
	logs := &testutil.SyncBuffer{}
	p, err := newProducer(cfg, srv, reg, log.New(logs, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	p.serveHTTP()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := p.started(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Stop()
		p.httpSrv.Close()
		if t.Failed() {
			t.Logf("producer log:\n%s", logs)
		}
	})
	cl := client.NewClient(
		client.Selector(gmselector.NewSelector(gmselector.Registry(reg))),
		client.Retries(0),
		client.RequestTimeout(10*time.Second),
	)
	return &testNode{p: p, srv: srv, reg: reg, logs: logs, svc: pb.NewGreeterService("greeter", cl)}
}

// addr is the RPC node's address; call passes it to the client, bypassing
// any selector.
func (n *testNode) addr() string { return n.p.info().address }

func (n *testNode) call() client.CallOption { return client.WithAddress(n.addr()) }

// httpURL is the HTTP endpoint's URL for path.
func (n *testNode) httpURL(path string) string {
	return "http://" + n.p.httpSvc.Nodes[0].Address + path
}

// nodes returns the registered node ids of service.
func (n *testNode) nodes(t *testing.T, service string) []string {
	t.Helper()
	svcs, err := n.reg.GetService(service)
	if err != nil && err != registry.ErrNotFound {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range svcs {
		for _, node := range s.Nodes {
			ids = append(ids, node.Id)
		}
	}
	return ids
}

func TestHelloNamesTheNode(t *testing.T) {
	cfg := newConfig()
	cfg.weight, cfg.zone, cfg.version = 5, "a", "v2"
	n := startNode(t, cfg, 0)
	rsp, err := n.svc.Hello(context.Background(), &pb.HelloRequest{Name: "Ada"}, n.call())
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.HelloResponse{Message: "Hello Ada", NodeId: "greeter-node1", Address: n.addr(), Weight: 5, Zone: "a", Version: "v2"}
	if rsp.Message != want.Message || rsp.NodeId != want.NodeId || rsp.Address != want.Address ||
		rsp.Weight != want.Weight || rsp.Zone != want.Zone || rsp.Version != want.Version || rsp.Seq != 0 {
		t.Fatalf("Hello = %v, want %v", rsp, want)
	}

	svcs, err := n.reg.GetService("greeter")
	if err != nil || len(svcs) != 1 || len(svcs[0].Nodes) != 1 {
		t.Fatalf("registry greeter = %v, %v", svcs, err)
	}
	node := svcs[0].Nodes[0]
	if svcs[0].Version != "v2" || node.Id != "greeter-node1" || node.Address != n.addr() {
		t.Errorf("registered %s %s at %s, want version v2, greeter-node1 at %s", svcs[0].Version, node.Id, node.Address, n.addr())
	}
	for k, v := range map[string]string{"weight": "5", "zone": "a", "version": "v2"} {
		if node.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, node.Metadata[k], v)
		}
	}
	if got := n.nodes(t, "greeter-http"); len(got) != 1 || got[0] != "greeter-http-node1" {
		t.Errorf("greeter-http nodes = %v, want [greeter-http-node1]", got)
	}
}

// TestStream checks every reply of a stream, in both content types whose
// replies the handler encodes itself (see sendFrame).
func TestStream(t *testing.T) {
	n := startNode(t, newConfig(), 0)
	tests := []struct {
		name        string
		contentType string
		count       int32
		want        int32
	}{
		{name: "json default count", contentType: "application/json", count: 0, want: defaultStreamCount},
		{name: "json five", contentType: "application/json", count: 5, want: 5},
		{name: "protobuf five", contentType: "application/protobuf", count: 5, want: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := client.NewClient(client.ContentType(tt.contentType), client.Retries(0))
			svc := pb.NewGreeterService("greeter", cl)
			stream, err := svc.Stream(context.Background(), &pb.HelloRequest{Name: "Bo", Count: tt.count}, n.call())
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			for seq := int32(1); seq <= tt.want; seq++ {
				rsp, err := stream.Recv()
				if err != nil {
					t.Fatalf("reply %d: %v", seq, err)
				}
				if rsp.Seq != seq || rsp.NodeId != "greeter-node1" || rsp.Message != "Hello Bo" || rsp.Address != n.addr() {
					t.Fatalf("reply %d = %v", seq, rsp)
				}
			}
			if rsp, err := stream.Recv(); err == nil {
				t.Fatalf("reply after the last = %v, want an error", rsp)
			}
		})
	}
}

func TestStreamStopsWhenTheClientGoesAway(t *testing.T) {
	cfg := newConfig()
	cfg.latencyText = "2ms"
	n := startNode(t, cfg, 0)
	stream, err := n.svc.Stream(context.Background(), &pb.HelloRequest{Name: "Cy", Count: maxStreamCount}, n.call())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	stream.Close()
	// 10,000 replies 2 ms apart would take 20 s.
	deadline := time.Now().Add(5 * time.Second)
	for n.p.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if left := n.p.inflight.Load(); left != 0 {
		t.Fatalf("%d calls still in flight 5 s after the client closed the stream", left)
	}
}

func TestFailRateError(t *testing.T) {
	cfg := newConfig()
	cfg.failRate = 1
	n := startNode(t, cfg, 0)
	_, err := n.svc.Hello(context.Background(), &pb.HelloRequest{Name: "Di"}, n.call())
	want := `{"id":"greeter-node1","code":500,"detail":"injected failure (fail_rate 1)","status":"Internal Server Error"}`
	if err == nil || err.Error() != want {
		t.Fatalf("Hello error = %v, want %s", err, want)
	}
}

// TestFailRateDrop checks that drop mode closes the connection: the caller
// gets go-micro's transport error (code 500 from go.micro.client.*), never
// the server's own error, which would carry the node id.
func TestFailRateDrop(t *testing.T) {
	cfg := newConfig()
	cfg.failRate, cfg.failMode = 1, failDrop
	n := startNode(t, cfg, 0)
	for i := range 3 {
		_, err := n.svc.Hello(context.Background(), &pb.HelloRequest{Name: "Ed"}, n.call())
		got := merrors.FromError(err)
		if err == nil || got.Code != 500 || !strings.HasPrefix(got.Id, "go.micro.client") {
			t.Fatalf("call %d: Hello error = %#v, want a go.micro.client transport error", i, got)
		}
	}
	if open := n.p.rpcLn.open(); open != 0 {
		t.Errorf("%d connections still open after dropping every call", open)
	}
}

func TestHTTPEndpoint(t *testing.T) {
	cfg := newConfig()
	cfg.weight, cfg.zone, cfg.version = 3, "b", "v1"
	n := startNode(t, cfg, 0)
	httpAddr := n.p.httpSvc.Nodes[0].Address

	rsp, err := http.Post(n.httpURL("/any/path"), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rsp.Body)
	rsp.Body.Close()
	want := `{"node_id":"greeter-http-node1","address":"` + httpAddr + `","weight":3,"zone":"b","version":"v1","path":"/any/path","method":"POST"}` + "\n"
	if rsp.StatusCode != 200 || rsp.Header.Get("Content-Type") != "application/json" || string(body) != want {
		t.Fatalf("POST /any/path = %d %q %s, want 200 application/json %s", rsp.StatusCode, rsp.Header.Get("Content-Type"), body, want)
	}

	start := time.Now()
	rsp, err = http.Get(n.httpURL("/stream?n=3"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(rsp.Body)
	rsp.Body.Close()
	want = `{"node_id":"greeter-http-node1","seq":1}` + "\n" + `{"node_id":"greeter-http-node1","seq":2}` + "\n" + `{"node_id":"greeter-http-node1","seq":3}` + "\n"
	if string(body) != want {
		t.Fatalf("GET /stream?n=3 = %s, want %s", body, want)
	}
	if d := time.Since(start); d < 2*httpLineInterval {
		t.Errorf("3 lines took %v, want at least %v", d, 2*httpLineInterval)
	}

	rsp, err = http.Get(n.httpURL("/stream?n=0"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(rsp.Body)
	rsp.Body.Close()
	var me merrors.Error
	if rsp.StatusCode != 400 || json.Unmarshal(body, &me) != nil || me.Code != 400 || me.Id != "greeter-http" {
		t.Errorf("GET /stream?n=0 = %d %s, want a go-micro 400", rsp.StatusCode, body)
	}
}

func TestHTTPFailRate(t *testing.T) {
	tests := []struct {
		mode string
		want string // the body, or "" for a dropped connection
	}{
		{mode: failError, want: `{"id":"greeter-http","code":500,"detail":"injected failure (fail_rate 1)","status":"Internal Server Error"}` + "\n"},
		{mode: failDrop},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			cfg := newConfig()
			cfg.failRate, cfg.failMode = 1, tt.mode
			n := startNode(t, cfg, 0)
			rsp, err := http.Get(n.httpURL("/"))
			if tt.want == "" {
				if err == nil {
					rsp.Body.Close()
					t.Fatalf("GET / = %d, want a dropped connection", rsp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(rsp.Body)
			rsp.Body.Close()
			if rsp.StatusCode != 500 || rsp.Header.Get("Content-Type") != "application/json" || string(body) != tt.want {
				t.Fatalf("GET / = %d %q %s, want 500 application/json %s", rsp.StatusCode, rsp.Header.Get("Content-Type"), body, tt.want)
			}
		})
	}
}

// TestDrainOrder checks the drain: the node leaves the registry first (and
// go-micro's registrar does not put it back), it keeps serving new calls
// through the grace period, then in-flight calls finish before the drain
// returns, and the log shows the steps in order.
func TestDrainOrder(t *testing.T) {
	cfg := newConfig()
	cfg.grace = 300 * time.Millisecond
	cfg.latencyText = "1s"
	n := startNode(t, cfg, 50*time.Millisecond) // the registrar ticks during the grace period

	type result struct {
		err  error
		done time.Time
	}
	call := func() <-chan result {
		ch := make(chan result, 1)
		go func() {
			_, err := n.svc.Hello(context.Background(), &pb.HelloRequest{Name: "Flo"}, n.call())
			ch <- result{err, time.Now()}
		}()
		return ch
	}
	first := call()
	for n.p.inflight.Load() != 1 {
		time.Sleep(time.Millisecond)
	}

	drained := make(chan time.Time, 1)
	go func() { n.p.drain(); drained <- time.Now() }()
	deadline := time.Now().Add(5 * time.Second)
	for len(n.nodes(t, "greeter"))+len(n.nodes(t, "greeter-http")) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("still registered 5 s after the drain started")
		}
		time.Sleep(time.Millisecond)
	}
	// Deregistered, and in the grace period: new calls are still served.
	second := call()
	rsp, err := http.Get(n.httpURL("/"))
	if err != nil {
		t.Fatalf("HTTP during the grace period: %v", err)
	}
	rsp.Body.Close()
	if rsp.StatusCode != 200 {
		t.Fatalf("HTTP during the grace period: %d", rsp.StatusCode)
	}

	end := <-drained
	for i, ch := range []<-chan result{first, second} {
		r := <-ch
		if r.err != nil {
			t.Fatalf("call %d: %v", i+1, r.err)
		}
		if r.done.After(end) {
			t.Errorf("call %d finished %v after the drain returned", i+1, r.done.Sub(end))
		}
	}
	if ids := append(n.nodes(t, "greeter"), n.nodes(t, "greeter-http")...); len(ids) != 0 {
		t.Errorf("registered again during the drain: %v", ids)
	}
	if err := n.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	n.p.stopped()

	wantSteps := []string{
		"drain 1/4: deregistering greeter-node1 from memory",
		"drain 1/4: deregistered greeter-node1",
		"drain 2/4: serving for the 300ms grace period",
		"drain 3/4: finishing 3 in-flight calls", // two RPC calls and the HTTP request
		"drain 3/4: no call in flight",
		"drain 4/4: stopped greeter-node1, exiting with status 0",
	}
	var got []string
	for _, line := range strings.Split(n.logs.String(), "\n") {
		if strings.HasPrefix(line, "drain ") {
			got = append(got, line)
		}
	}
	if strings.Join(got, "\n") != strings.Join(wantSteps, "\n") {
		t.Fatalf("drain log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantSteps, "\n"))
	}
}
