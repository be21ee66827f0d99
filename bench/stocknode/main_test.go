package main

import (
	"context"
	"testing"
	"time"

	grpcc "github.com/go-micro/plugins/v4/client/grpc"
	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"

	"github.com/microlb/microlb/proto/greeter"
)

// TestStockNode starts the stock server of each kind on a memory registry
// and calls it with go-micro's matching client: Hello answers with the
// node's registry id and address, Stream sends Count numbered replies, and
// the registry metadata names the server kind.
//
// Stream is checked on gRPC only: go-micro v4.11.0's own mucp client and
// server over its HTTP transport race on the reply buffer of a stream
// (transport/http_socket.go sendHTTP1 writes a body the codec reuses), so
// under -race that call fails inside go-micro, and without it replies
// arrive overwritten (seq 3, 3, 3).
func TestStockNode(t *testing.T) {
	tests := []struct {
		kind       string
		newClient  func(...client.Option) client.Client
		wantServer string
		stream     bool
	}{
		{kind: "mucp", newClient: client.NewClient, wantServer: "mucp"},
		{kind: "grpc", newClient: grpcc.NewClient, wantServer: "grpc", stream: true},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			reg := registry.NewMemoryRegistry()
			srv, err := newServer(tt.kind, "stocktest", "127.0.0.1:0", reg, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Stop() })
			svcs, err := reg.GetService("stocktest")
			if err != nil || len(svcs) != 1 || len(svcs[0].Nodes) != 1 {
				t.Fatalf("registry: %v, %v", svcs, err)
			}
			n := svcs[0].Nodes[0]
			if n.Metadata["server"] != tt.wantServer {
				t.Errorf("metadata server = %q, want %q", n.Metadata["server"], tt.wantServer)
			}
			c := tt.newClient(client.Registry(reg), client.Selector(selector.NewSelector(selector.Registry(reg))))
			g := greeter.NewGreeterService("stocktest", c)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rsp, err := g.Hello(ctx, &greeter.HelloRequest{Name: "ann"})
			if err != nil {
				t.Fatalf("Hello: %v", err)
			}
			if rsp.Message != "Hello ann" || rsp.NodeId != n.Id || rsp.Address != n.Address {
				t.Errorf("Hello = %+v, want Hello ann from %s at %s", rsp, n.Id, n.Address)
			}
			if !tt.stream {
				return
			}
			st, err := g.Stream(ctx, &greeter.HelloRequest{Name: "bob", Count: 3})
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			defer st.Close()
			for i := int32(1); i <= 3; i++ {
				r, err := st.Recv()
				if err != nil {
					t.Fatalf("Stream reply %d: %v", i, err)
				}
				if r.Seq != i || r.Message != "Hello bob" || r.NodeId != n.Id {
					t.Errorf("Stream reply %d = %+v", i, r)
				}
			}
		})
	}
}

func TestNewServerRejectsUnknownKind(t *testing.T) {
	if _, err := newServer("http", "x", "127.0.0.1:0", registry.NewMemoryRegistry(), 0, 0); err == nil || err.Error() != `--server "http": want mucp or grpc` {
		t.Fatalf("newServer(http) error = %v", err)
	}
}

// TestHelloWaitsForASlot checks --workers: with every slot taken, Hello
// waits, and gives up when its context ends; with a slot free it answers.
func TestHelloWaitsForASlot(t *testing.T) {
	n := &node{id: "n1", addr: func() string { return "a" }, slots: make(chan struct{}, 1)}
	n.slots <- struct{}{} // another Hello is being served
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var rsp greeter.HelloResponse
	if err := n.Hello(ctx, &greeter.HelloRequest{Name: "ann"}, &rsp); err != context.Canceled {
		t.Fatalf("Hello with no free slot = %v, want context.Canceled", err)
	}
	<-n.slots
	if err := n.Hello(context.Background(), &greeter.HelloRequest{Name: "ann"}, &rsp); err != nil || rsp.Message != "Hello ann" {
		t.Fatalf("Hello = %+v, %v", &rsp, err)
	}
	if len(n.slots) != 0 {
		t.Fatalf("%d slots still taken after Hello returned, want 0", len(n.slots))
	}
}
