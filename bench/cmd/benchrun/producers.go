package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/microlb/microlb/bench/internal/proc"
)

// Stage 3 and 4 call Greeter.Hello on the producers' go-micro service
// through an HTTP → RPC gateway.
const (
	rpcService = "greeter"
	rpcPath    = "/greeter/Greeter/Hello"
	rpcBody    = `{"name":"bench"}`
	// rpcReadQuery is the same call as a read: GET with the request's
	// fields in the query. GET is idempotent, so the gateway may retry it
	// on another node when its node dies mid-call; the failover stage uses
	// it, as a user would for a read.
	rpcReadQuery = "?name=bench"
)

// producerGrace is the producers' --grace: how long a producer keeps
// serving after deregistering on SIGTERM. The harness stops them only at
// the end of a stage, when nobody calls them any more, so the default's
// wait is just teardown time; the drain of in-flight calls stays.
const producerGrace = "200ms"

// producer is one started producer node.
type producer struct {
	proc *proc.Proc
	addr string // go-micro server address
}

// startProducers starts n producers registered in Consul and waits until
// each listens.
func (h *harness) startProducers(n int, registry string) ([]producer, error) {
	bin, err := h.need(binProducer)
	if err != nil {
		return nil, err
	}
	addrs, err := proc.FreeAddrs(2 * n)
	if err != nil {
		return nil, err
	}
	var ps []producer
	for i := range n {
		srv, web := addrs[2*i], addrs[2*i+1]
		p, err := h.g.Start(proc.Spec{Name: "producer", Bin: bin, Env: []string{h.o.gomaxprocs()},
			Args: []string{"--server_address", srv, "--http_address", web,
				"--registry", "consul", "--registry_address", registry, "--grace", producerGrace}})
		if err != nil {
			return nil, err
		}
		ps = append(ps, producer{proc: p, addr: srv})
	}
	for _, p := range ps {
		if err := h.waitReady(p.proc, "producer on "+p.addr, proc.DialCheck(p.addr)); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// hello is the part of Greeter.Hello's JSON answer the harness reads.
type hello struct {
	Message string `json:"message"`
	NodeID  string `json:"node_id"`
	Address string `json:"address"`
}

// postHello sends one Greeter.Hello through base ("http://host:port").
func postHello(c *http.Client, base string) (hello, error) {
	var h hello
	resp, err := c.Post(base+rpcPath, "application/json", bytes.NewReader([]byte(rpcBody)))
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return h, fmt.Errorf("POST %s%s: %s: %.200s", base, rpcPath, resp.Status, b)
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("POST %s%s: %w: %.200s", base, rpcPath, err, b)
	}
	return h, nil
}

// waitRPC waits until Greeter.Hello through base has answered from want
// distinct nodes (or, for answers without node ids, once), and returns the
// node id of each server address it saw.
func (h *harness) waitRPC(p *proc.Proc, name, base string, want int) (map[string]string, error) {
	c := &http.Client{Timeout: 2 * time.Second}
	nodes := map[string]string{}
	err := h.waitReady(p, fmt.Sprintf("%s answering Greeter.Hello from %d nodes", name, want), func() error {
		for range 4 * want {
			r, err := postHello(c, base)
			if err != nil {
				return err
			}
			if r.NodeID == "" {
				return nil
			}
			nodes[r.Address] = r.NodeID
		}
		if len(nodes) < want {
			return fmt.Errorf("answers from %d of %d nodes so far", len(nodes), want)
		}
		return nil
	})
	return nodes, err
}
