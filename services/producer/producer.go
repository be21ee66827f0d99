package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	grpcs "github.com/go-micro/plugins/v4/server/grpc"
	otelwrap "github.com/go-micro/plugins/v4/wrapper/trace/opentelemetry"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/server"
	"go-micro.dev/v4/transport"

	"github.com/microlb/microlb/api-gateway/tracing"
	pb "github.com/microlb/microlb/proto/greeter"
	"github.com/microlb/microlb/selector/mucpfix"
)

// errDraining stops go-micro's registrar from registering the node again
// while it drains.
var errDraining = errors.New("draining: not registering again")

// producer is one greeter node: the go-micro RPC server, the plain HTTP
// endpoint beside it, their registrations, the demo knobs and the drain.
type producer struct {
	cfg    *config
	srv    server.Server
	reg    registry.Registry
	log    *log.Logger
	faults faults
	randN  func(n int64) int64 // for latency draws

	rpcLn   *connTracker
	httpLn  net.Listener
	httpSrv *http.Server
	httpSvc *registry.Service // the HTTP node's registration

	draining atomic.Bool
	inflight atomic.Int64 // RPC and HTTP calls being served
	node     atomic.Pointer[nodeInfo]
	stop     chan struct{} // closed to stop the HTTP re-registration loop
	loopDone sync.WaitGroup
}

// nodeInfo describes the serving node in replies.
type nodeInfo struct {
	id, address   string
	weight        int32
	zone, version string
}

// newProducer prepares srv (metadata, handler, listener, register check) and
// binds the HTTP endpoint. srv's name, address and registration options must
// already be final: call it after the flags are parsed.
func newProducer(cfg *config, srv server.Server, reg registry.Registry, logger *log.Logger) (*producer, error) {
	p := &producer{
		cfg:    cfg,
		srv:    srv,
		reg:    reg,
		log:    logger,
		faults: faults{rate: cfg.failRate, mode: cfg.failMode, draw: rand.Float64},
		randN:  rand.Int64N,
		stop:   make(chan struct{}),
	}
	opts := srv.Options()
	if p.cfg.httpName == "" {
		p.cfg.httpName = opts.Name + "-http"
	}

	ln, err := net.Listen("tcp", opts.Address)
	if err != nil {
		return nil, fmt.Errorf("rpc listener: %w", err)
	}
	p.rpcLn = &connTracker{Listener: ln}

	md := maps.Clone(opts.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	maps.Copy(md, p.metadata())
	srvOpts := []server.Option{
		server.Metadata(md),
		server.RegisterCheck(p.registerCheck),
		server.WrapHandler(p.track),
	}
	// OTEL_TRACES_EXPORTER turns tracing on: each call joins its caller's trace.
	if tp, _, err := tracing.FromEnv(os.Getenv, opts.Name, os.Stdout); err != nil {
		return nil, err
	} else if tp != nil {
		srvOpts = append(srvOpts, server.WrapHandler(otelwrap.NewHandlerWrapper(otelwrap.WithTraceProvider(tp))))
	}
	if srv.String() == "grpc" { // --server grpc: go-micro's gRPC server plugin
		srvOpts = append(srvOpts, grpcs.Listener(p.rpcLn))
	} else {
		srvOpts = append(srvOpts, server.ListenOption(transport.NetListener(p.rpcLn)),
			server.Transport(mucpfix.Transport(opts.Transport)))
	}
	if cfg.version != "" && opts.Version == server.DefaultVersion {
		srvOpts = append(srvOpts, server.Version(cfg.version))
	}
	if err := srv.Init(srvOpts...); err != nil {
		ln.Close()
		return nil, err
	}
	if err := pb.RegisterGreeterHandler(srv, &greeter{p: p}); err != nil {
		ln.Close()
		return nil, err
	}

	if p.httpLn, err = net.Listen("tcp", cfg.httpAddress); err != nil {
		ln.Close()
		return nil, fmt.Errorf("http listener: %w", err)
	}
	p.httpSrv = &http.Server{Handler: p.httpHandler(), ReadHeaderTimeout: 5 * time.Second}
	return p, nil
}

// metadata is the node metadata both registrations carry.
func (p *producer) metadata() map[string]string {
	return map[string]string{
		"weight":  strconv.Itoa(p.cfg.weight),
		"zone":    p.cfg.zone,
		"version": p.cfg.version,
	}
}

// info returns the serving node's description. The address is final once the
// server listens, which is before it serves its first call.
func (p *producer) info() *nodeInfo {
	if n := p.node.Load(); n != nil {
		return n
	}
	opts := p.srv.Options()
	address := opts.Advertise
	if address == "" {
		address = opts.Address
	}
	n := &nodeInfo{
		id:      opts.Name + "-" + opts.Id,
		address: address,
		weight:  int32(p.cfg.weight),
		zone:    p.cfg.zone,
		version: p.cfg.version,
	}
	p.node.Store(n)
	return n
}

// fill writes the node's description into a reply.
func (p *producer) fill(rsp *pb.HelloResponse) {
	n := p.info()
	rsp.NodeId, rsp.Address, rsp.Weight, rsp.Zone, rsp.Version = n.id, n.address, n.weight, n.zone, n.version
}

// registerCheck is go-micro's RegisterCheck: it refuses while draining, so
// the registrar's next tick cannot put the node back.
func (p *producer) registerCheck(context.Context) error {
	if p.draining.Load() {
		return errDraining
	}
	return nil
}

// track is a server.HandlerWrapper that counts in-flight calls for the drain.
func (p *producer) track(next server.HandlerFunc) server.HandlerFunc {
	return func(ctx context.Context, req server.Request, rsp any) error {
		p.inflight.Add(1)
		defer p.inflight.Add(-1)
		return next(ctx, req, rsp)
	}
}

// inject applies the demo knobs to one call: it waits the drawn latency,
// then fails the call if the fail rate says so, either with a go-micro 500 or
// (drop mode) by closing the connection the call came in on.
func (p *producer) inject(ctx context.Context) error {
	if err := sleep(ctx, p.cfg.latency.draw(p.randN)); err != nil {
		return merrors.Timeout(p.info().id, "latency: %v", err)
	}
	return p.fault(ctx)
}

// fault fails the call per --fail_rate and --fail_mode, or returns nil.
func (p *producer) fault(ctx context.Context) error {
	if !p.faults.fail() {
		return nil
	}
	if p.faults.mode == failDrop {
		if remote, ok := metadata.Get(ctx, "Remote"); ok && p.rpcLn.drop(remote) {
			// The reply goes nowhere: the connection is closed.
			return merrors.InternalServerError(p.info().id, "injected failure: connection dropped")
		}
	}
	return merrors.InternalServerError(p.info().id, "injected failure (fail_rate %g)", p.faults.rate)
}
