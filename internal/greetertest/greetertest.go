// Package greetertest serves the greeter of proto/greeter from unmodified
// go-micro v4.11.0 servers, for tests.
package greetertest

import (
	"testing"

	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/server"

	pb "github.com/microlb/microlb/proto/greeter"
)

// Serve starts a server made by newServer (go-micro's server.NewRPCServer,
// or a plugin's NewServer) that serves h, and stops it when t ends. The
// server is service "greeter" on a free loopback port with a memory broker;
// opts come after these and override them.
func Serve(t testing.TB, newServer func(...server.Option) server.Server, h pb.GreeterHandler, opts ...server.Option) server.Server {
	t.Helper()
	base := []server.Option{server.Name("greeter"), server.Address("127.0.0.1:0"), server.Broker(broker.NewMemoryBroker())}
	srv := newServer(append(base, opts...)...)
	if err := pb.RegisterGreeterHandler(srv, h); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}
