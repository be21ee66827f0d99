package integration_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-micro/plugins/v4/registry/consul"
	"go-micro.dev/v4/client"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
	gmselector "go-micro.dev/v4/selector"

	"github.com/microlb/microlb/internal/consultest"
	"github.com/microlb/microlb/internal/loadresult"
	pb "github.com/microlb/microlb/proto/greeter"
	"github.com/microlb/microlb/selector"
)

// runConsumer runs bin/consumer --json against agent's Consul and returns
// its results.
func runConsumer(t *testing.T, agent *consultest.Agent, args ...string) []loadresult.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--registry", "consul", "--registry_address", agent.Addr, "--json"}, args...)
	cmd := exec.CommandContext(ctx, bins.consumer, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("consumer %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	results, err := loadresult.Parse(stdout.String())
	if err != nil {
		t.Fatalf("consumer output: %v", err)
	}
	return results
}

// outcome is one call of a caller's load.
type outcome struct {
	start time.Time
	node  string // serving node; "" on error
	err   error
}

// pick is one attempt: when the selector's node was called.
type pick struct {
	at   time.Time
	node string
}

// caller calls a service in-process through the microlb selector over
// Consul, as the consumer does, and records every call and every attempt.
type caller struct {
	sel *selector.Selector
	svc pb.GreeterService

	mu       sync.Mutex
	outcomes []outcome
	picks    []pick

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newCaller returns a caller of service with 3 retries; opts go to the
// selector.
func newCaller(t *testing.T, agent *consultest.Agent, service string, opts ...gmselector.Option) *caller {
	t.Helper()
	reg := consul.NewRegistry(registry.Addrs(agent.Addr))
	c := &caller{sel: selector.New(append([]gmselector.Option{gmselector.Registry(reg)}, opts...)...)}
	t.Cleanup(func() {
		c.stop()
		c.sel.Close()
	})
	cl := client.NewClient(
		client.Selector(c.sel),
		client.Retries(3),
		client.Retry(retryOnTransport),
		client.RequestTimeout(3*time.Second),
		client.WrapCall(selector.LoadReporter(c.sel), c.recordPick),
	)
	c.svc = pb.NewGreeterService(service, cl)
	return c
}

// retryOnTransport retries attempts that failed in transport, as the
// consumer's policy does (go-micro's default retries only timeouts).
func retryOnTransport(ctx context.Context, _ client.Request, _ int, err error) (bool, error) {
	if err == nil || ctx.Err() != nil {
		return false, nil
	}
	me := merrors.FromError(err)
	return me.Code == 0 || me.Code == 408 || (me.Code >= 500 && strings.HasPrefix(me.Id, "go.micro.client")), nil
}

// recordPick is a call wrapper that records each attempt's node.
func (c *caller) recordPick(next client.CallFunc) client.CallFunc {
	return func(ctx context.Context, node *registry.Node, req client.Request, rsp any, opts client.CallOptions) error {
		c.mu.Lock()
		c.picks = append(c.picks, pick{time.Now(), node.Id})
		c.mu.Unlock()
		return next(ctx, node, req, rsp, opts)
	}
}

// start runs workers that call Hello, each pausing between calls, until stop
// or 60 s; one call is made by a worker at a time.
func (c *caller) start(workers int, pause time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	c.cancel = cancel
	for range workers {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for ctx.Err() == nil {
				o := outcome{start: time.Now()}
				rsp, err := c.svc.Hello(context.Background(), &pb.HelloRequest{Name: "it"})
				if err == nil {
					o.node = rsp.NodeId
				}
				o.err = err
				c.mu.Lock()
				c.outcomes = append(c.outcomes, o)
				c.mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
			}
		}()
	}
}

// stop stops the workers and waits for their calls to finish.
func (c *caller) stop() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
}

// results returns the calls so far, the failed ones, and the count per node.
func (c *caller) results() (calls int, failed []outcome, nodes map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	nodes = map[string]int{}
	for _, o := range c.outcomes {
		if o.err != nil {
			failed = append(failed, o)
			continue
		}
		nodes[o.node]++
	}
	return len(c.outcomes), failed, nodes
}

// lastPick returns when node was last picked, and how often it was picked
// after since.
func (c *caller) lastPick(node string, since time.Time) (last time.Time, after int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.picks {
		if p.node != node {
			continue
		}
		if p.at.After(last) {
			last = p.at
		}
		if p.at.After(since) {
			after++
		}
	}
	return last, after
}

// attempts returns the number of attempts so far.
func (c *caller) attempts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.picks)
}

// waitServed waits until node has served a call, and returns when.
func (c *caller) waitServed(t *testing.T, node string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, o := range c.outcomes {
			if o.node == node {
				c.mu.Unlock()
				return o.start
			}
		}
		c.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("node %s served no call within %v", node, timeout)
	return time.Time{}
}

// requireNoFailure fails the test if any call failed.
func requireNoFailure(t *testing.T, c *caller) int {
	t.Helper()
	calls, failed, nodes := c.results()
	t.Logf("%d calls, %d failed, per node %v", calls, len(failed), nodes)
	for i, o := range failed {
		if i == 5 {
			break
		}
		t.Errorf("call at %s failed: %v", o.start.Format("15:04:05.000"), o.err)
	}
	if len(failed) > 0 {
		t.FailNow()
	}
	return calls
}
