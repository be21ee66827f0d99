// Command stocknode is the benchmark's stock go-micro service: a greeter
// (proto/greeter's Greeter) served by unmodified go-micro v4.11.0, with
// either its mucp server (server.NewRPCServer over go-micro's HTTP
// transport, without the producer's Micro-Id fix) or go-micro's gRPC server
// plugin (github.com/go-micro/plugins/v4/server/grpc v1.2.0), registered in
// Consul. It is what a go-micro team runs, so the front-door stages measure
// the gateway against go-micro's api on servers neither side controls.
//
//	stocknode --server grpc --name grpcgreeter --address 127.0.0.1:9001 --registry_address 127.0.0.1:8500
//
// For the tail stage, --delay gives Hello a fixed service time and
// --workers bounds how many Hellos are served at once (the rest wait in
// line, like a node with that many CPU-bound workers).
//
// On SIGTERM or SIGINT it deregisters, stops its server and exits 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/go-micro/plugins/v4/registry/consul"
	grpcs "github.com/go-micro/plugins/v4/server/grpc"
	"go-micro.dev/v4/broker"
	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/server"
	"go-micro.dev/v4/transport"

	"github.com/microlb/microlb/proto/greeter"
)

// maxStream bounds Greeter.Stream's replies.
const maxStream = 1000

func main() {
	kind := flag.String("server", "mucp", "go-micro server: mucp or grpc")
	name := flag.String("name", "stockgreeter", "registry service name")
	addr := flag.String("address", "127.0.0.1:0", "listen address")
	regAddr := flag.String("registry_address", "127.0.0.1:8500", "Consul HTTP address")
	delay := flag.Duration("delay", 0, "service time of one Hello")
	workers := flag.Int("workers", 0, "Hellos served at once, the rest queue (0: no limit)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("stocknode: ")
	logger.DefaultLogger = logger.NewLogger(logger.WithLevel(logger.ErrorLevel))

	if *delay < 0 || *workers < 0 {
		fmt.Fprintln(os.Stderr, "stocknode: --delay and --workers must not be negative")
		os.Exit(2)
	}
	srv, err := newServer(*kind, *name, *addr, consul.NewRegistry(registry.Addrs(*regAddr)), *delay, *workers)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stocknode:", err)
		os.Exit(2)
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("%s server %s listening on %s as %s", *kind, srv.Options().Id, srv.Options().Address, *name)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	if err := srv.Stop(); err != nil {
		log.Fatal(err)
	}
}

// newServer returns an unstarted stock go-micro server of kind "mucp" or
// "grpc" that serves Greeter as service name on addr, registered in reg.
// Each Hello takes delay, at most workers at once (0: no limit).
func newServer(kind, name, addr string, reg registry.Registry, delay time.Duration, workers int) (server.Server, error) {
	opts := []server.Option{
		server.Name(name), server.Address(addr), server.Registry(reg),
		server.Broker(broker.NewMemoryBroker()), // the greeter publishes nothing; no broker listener
	}
	var srv server.Server
	switch kind {
	case "mucp":
		srv = server.NewRPCServer(append(opts, server.Transport(transport.NewHTTPTransport()))...)
	case "grpc":
		srv = grpcs.NewServer(opts...)
	default:
		return nil, fmt.Errorf("--server %q: want mucp or grpc", kind)
	}
	g := &node{id: name + "-" + srv.Options().Id, delay: delay}
	if workers > 0 {
		g.slots = make(chan struct{}, workers)
	}
	if err := greeter.RegisterGreeterHandler(srv, g); err != nil {
		return nil, err
	}
	// The address the server listens on is known once it has started,
	// which is before it serves a call.
	g.addr = sync.OnceValue(func() string { return srv.Options().Address })
	return srv, nil
}

// node implements greeter.GreeterHandler.
type node struct {
	id    string
	addr  func() string
	delay time.Duration // service time of one Hello
	slots chan struct{} // nil, or one token per Hello being served
}

// Hello answers "Hello <name>" with the node's registry id and address,
// after waiting for a slot and then the node's delay.
func (n *node) Hello(ctx context.Context, req *greeter.HelloRequest, rsp *greeter.HelloResponse) error {
	if n.slots != nil {
		select {
		case n.slots <- struct{}{}:
			defer func() { <-n.slots }()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if n.delay > 0 {
		time.Sleep(n.delay)
	}
	rsp.Message = "Hello " + req.Name
	rsp.NodeId = n.id
	rsp.Address = n.addr()
	return nil
}

// Stream sends req.Count greetings (1 when 0, at most maxStream), numbered
// from 1.
func (n *node) Stream(ctx context.Context, req *greeter.HelloRequest, st greeter.Greeter_StreamStream) error {
	defer st.Close()
	count := min(max(int(req.Count), 1), maxStream)
	for i := 1; i <= count; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := st.Send(&greeter.HelloResponse{Message: "Hello " + req.Name, NodeId: n.id, Address: n.addr(), Seq: int32(i)}); err != nil {
			return err
		}
	}
	return nil
}
