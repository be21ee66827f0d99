package greetertest

import (
	"context"
	"testing"

	"go-micro.dev/v4/client"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/selector"
	"go-micro.dev/v4/server"

	pb "github.com/microlb/microlb/proto/greeter"
)

type hello struct{}

func (hello) Hello(_ context.Context, req *pb.HelloRequest, rsp *pb.HelloResponse) error {
	rsp.Message = "hello " + req.Name
	return nil
}

func (hello) Stream(context.Context, *pb.HelloRequest, pb.Greeter_StreamStream) error { return nil }

func TestServe(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	srv := Serve(t, server.NewRPCServer, hello{}, server.Id("n1"), server.Registry(reg))
	if o := srv.Options(); o.Name != "greeter" || o.Id != "n1" || o.Address == "127.0.0.1:0" {
		t.Fatalf("server %s-%s at %s, want greeter-n1 on a chosen port", o.Name, o.Id, o.Address)
	}
	cl := client.NewClient(client.Selector(selector.NewSelector(selector.Registry(reg))))
	rsp, err := pb.NewGreeterService("greeter", cl).Hello(context.Background(), &pb.HelloRequest{Name: "Ada"})
	if err != nil || rsp.Message != "hello Ada" {
		t.Fatalf("Hello = %v, %v; want hello Ada", rsp, err)
	}
}
