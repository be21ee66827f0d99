package integration_test

import (
	"context"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go-micro.dev/v4/client"

	"github.com/microlb/microlb/internal/consultest"
	pb "github.com/microlb/microlb/proto/greeter"
	"github.com/microlb/microlb/selector"
)

// TestFailover stops one of three producers during a run of calls, gently
// (SIGTERM) and not (kill -9), against one real Consul agent.
func TestFailover(t *testing.T) {
	agent := consultest.Start(t)
	t.Run("SIGTERM drains with no failed call", func(t *testing.T) { testDrain(t, agent) })
	t.Run("kill -9 costs no failed call", func(t *testing.T) { testKill(t, agent) })
}

// startVictimRun starts three producers of service with equal weights and
// a caller of four workers, and waits until the first producer, the victim,
// served a call and the run has gone on for 300 ms more.
func startVictimRun(t *testing.T, agent *consultest.Agent, service string) (*producer, *caller) {
	t.Helper()
	victim := startProducers(t, agent, service, 1, 1, 1)[0]
	c := newCaller(t, agent, service)
	c.start(4, 2*time.Millisecond)
	c.waitServed(t, victim.ID, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	return victim, c
}

// testDrain SIGTERMs a producer during a run: no call fails, the producer
// drains in order and exits 0, still serves during its grace period, and is
// not picked later than 1 s after its deregistration.
func testDrain(t *testing.T, agent *consultest.Agent) {
	const service = "greeter-drain"
	victim, c := startVictimRun(t, agent, service)

	victim.signal(syscall.SIGTERM)
	deregistering := logTime(t, victim.waitLog("drain 1/4: deregistering "))
	deregistered := logTime(t, victim.waitLog("drain 1/4: deregistered "))
	victim.waitLog("drain 2/4: ")
	// In the grace period the node still answers a call addressed to it.
	direct := pb.NewGreeterService(service, client.NewClient(client.Retries(0)))
	rsp, err := direct.Hello(context.Background(), &pb.HelloRequest{Name: "grace"}, client.WithAddress(victim.RPC))
	if err != nil || rsp.NodeId != victim.ID {
		t.Errorf("direct call during the grace period: %v, %v; want an answer from %s", rsp, err, victim.ID)
	}
	if code := victim.wait(); code != 0 {
		t.Errorf("producer exited with status %d, want 0", code)
	}
	time.Sleep(300 * time.Millisecond)
	c.stop()

	calls := requireNoFailure(t, c)
	if attempts := c.attempts(); attempts != calls {
		t.Errorf("%d attempts for %d calls: a drain should need no retry", attempts, calls)
	}
	// The producer logs "deregistered" once both its RPC and its HTTP node
	// are gone; the RPC node goes first, so the last pick may come before.
	last, late := c.lastPick(victim.ID, deregistered.Add(time.Second))
	delay := last.Sub(deregistered)
	t.Logf("deregistration took %s; the node was last picked %s after it began, %s after it completed (%d picks more than 1 s after)",
		deregistered.Sub(deregistering), last.Sub(deregistering), delay, late)
	if delay > time.Second || late != 0 {
		t.Errorf("node picked %s after its deregistration, want at most 1 s", delay)
	}

	want := []string{
		"drain 1/4: deregistering " + victim.ID + " from consul",
		"drain 1/4: deregistered " + victim.ID,
		"drain 2/4: serving for the 2s grace period",
		// "drain 3/4: finishing N in-flight calls", N checked below
		"drain 3/4: no call in flight",
		"drain 4/4: stopped " + victim.ID + ", exiting with status 0",
	}
	steps := victim.drainSteps()
	if len(steps) != 6 || !strings.HasPrefix(steps[3], "drain 3/4: finishing ") ||
		!slices.Equal(slices.Delete(slices.Clone(steps), 3, 4), want) {
		t.Errorf("drain steps:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
}

// testKill kill -9s a producer during a run with retries: no call fails,
// because Next moves on to another node and Mark ejects the dead one.
func testKill(t *testing.T, agent *consultest.Agent) {
	const service = "greeter-kill"
	victim, c := startVictimRun(t, agent, service)

	killed := time.Now()
	victim.signal(syscall.SIGKILL)
	victim.wait()
	time.Sleep(1500 * time.Millisecond) // Consul still lists it: its 5 s TTL has not run out
	c.stop()

	requireNoFailure(t, c)
	_, after := c.lastPick(victim.ID, killed)
	t.Logf("the dead node was picked %d times after the kill", after)
	var ejected bool
	for _, ss := range c.sel.Stats() {
		for _, ev := range ss.Events {
			if ev.Node == victim.ID && ev.Kind == selector.EventEjected {
				ejected = true
				t.Logf("event: %s %s %s", ev.Kind, ev.Node, ev.Detail)
			}
		}
	}
	if !ejected {
		t.Errorf("node %s was not ejected; stats: %+v", victim.ID, c.sel.Stats())
	}
}
