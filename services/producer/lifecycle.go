package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/util/addr"
	mnet "go-micro.dev/v4/util/net"

	"github.com/microlb/microlb/internal/tick"
)

// serveHTTP starts serving the HTTP endpoint; it is a micro.BeforeStart hook,
// so the endpoint serves before anything is registered.
func (p *producer) serveHTTP() error {
	go func() {
		if err := p.httpSrv.Serve(p.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.log.Printf("http server: %v", err)
		}
	}()
	return nil
}

// started registers the HTTP endpoint, keeps it registered, and logs the
// node; it is a micro.AfterStart hook (the RPC node is registered by then).
func (p *producer) started() error {
	opts := p.srv.Options()
	n := p.info()
	host, port, err := net.SplitHostPort(p.httpLn.Addr().String())
	if err != nil {
		return err
	}
	if host, err = addr.Extract(host); err != nil {
		return err
	}
	md := p.metadata()
	md["protocol"] = "http"
	p.httpSvc = &registry.Service{
		Name:    p.cfg.httpName,
		Version: opts.Version,
		Nodes: []*registry.Node{{
			Id:       p.cfg.httpName + "-" + opts.Id,
			Address:  mnet.HostPort(host, port),
			Metadata: md,
		}},
	}
	if err := p.reg.Register(p.httpSvc, registry.RegisterTTL(opts.RegisterTTL)); err != nil {
		p.log.Printf("registering %s: %v (retrying every %s)", p.httpSvc.Nodes[0].Id, err, opts.RegisterInterval)
	}
	if opts.RegisterInterval > 0 {
		p.loopDone.Add(1)
		go p.keepRegistered(opts.RegisterTTL, opts.RegisterInterval)
	}
	p.log.Printf("producer started: node=%s rpc=%s http_node=%s http=%s weight=%d zone=%q version=%q registry=%s ttl=%s interval=%s",
		n.id, n.address, p.httpSvc.Nodes[0].Id, p.httpSvc.Nodes[0].Address, p.cfg.weight, p.cfg.zone, p.cfg.version,
		p.reg.String(), opts.RegisterTTL, opts.RegisterInterval)
	return nil
}

// keepRegistered renews the HTTP node's registration every interval, as
// go-micro's registrar does for the RPC node, until the drain stops it.
func (p *producer) keepRegistered(ttl, interval time.Duration) {
	defer p.loopDone.Done()
	tick.Every(p.stop, interval, func() bool {
		if p.draining.Load() {
			return false
		}
		if err := p.reg.Register(p.httpSvc, registry.RegisterTTL(ttl)); err != nil {
			p.log.Printf("registering %s: %v", p.httpSvc.Nodes[0].Id, err)
		}
		return true
	})
}

// drain is the graceful shutdown, a micro.BeforeStop hook run on SIGTERM or
// SIGINT before go-micro stops the server. In order:
//
//  1. deregister the RPC and the HTTP node (and stop renewing them);
//  2. keep serving for the grace period, so that watchers move away;
//  3. finish the in-flight calls (bounded by --drain_timeout) and stop the
//     HTTP endpoint;
//
// then go-micro closes the RPC listener and stopped logs step 4.
func (p *producer) drain() error {
	n := p.info()
	p.draining.Store(true)
	close(p.stop)
	p.loopDone.Wait()

	p.log.Printf("drain 1/4: deregistering %s from %s", n.id, p.reg.String())
	if err := p.deregisterRPC(); err != nil {
		p.log.Printf("drain 1/4: deregistering %s: %v", n.id, err)
	}
	if p.httpSvc != nil {
		if err := p.reg.Deregister(p.httpSvc); err != nil {
			p.log.Printf("drain 1/4: deregistering %s: %v", p.httpSvc.Nodes[0].Id, err)
		}
	}
	p.log.Printf("drain 1/4: deregistered %s", n.id)

	p.log.Printf("drain 2/4: serving for the %s grace period", p.cfg.grace)
	time.Sleep(p.cfg.grace)

	p.log.Printf("drain 3/4: finishing %d in-flight calls", p.inflight.Load())
	deadline := time.Now().Add(p.cfg.drainTimeout)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := p.httpSrv.Shutdown(ctx); err != nil {
		p.log.Printf("drain 3/4: http shutdown: %v", err)
	}
	for p.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if left := p.inflight.Load(); left > 0 {
		p.log.Printf("drain 3/4: %d calls still running after %s; stopping anyway", left, p.cfg.drainTimeout)
	} else {
		p.log.Printf("drain 3/4: no call in flight")
	}
	return nil
}

// deregisterRPC removes the RPC node from the registry. go-micro's rpc server
// has a Deregister method (which also keeps its registrar from deregistering
// again) outside the server.Server interface; other servers get a plain
// registry call.
func (p *producer) deregisterRPC() error {
	if d, ok := p.srv.(interface{ Deregister() error }); ok {
		return d.Deregister()
	}
	opts, n := p.srv.Options(), p.info()
	return p.reg.Deregister(&registry.Service{
		Name:    opts.Name,
		Version: opts.Version,
		Nodes:   []*registry.Node{{Id: n.id, Address: n.address}},
	})
}

// stopped logs the last drain step; it is a micro.AfterStop hook, run once
// go-micro has closed the RPC listener.
func (p *producer) stopped() error {
	p.log.Printf("drain 4/4: stopped %s, exiting with status 0", p.info().id)
	return nil
}
