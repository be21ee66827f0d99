package integration_test

import (
	"testing"
	"time"

	"github.com/microlb/microlb/internal/consultest"
	"github.com/microlb/microlb/selector"
)

// TestConsulRestart restarts the (dev, in-memory) Consul agent during a run:
// calls keep succeeding from the selector's last snapshot, the producers
// register again within their 1 s interval, and a producer started after
// Consul is back gets picked.
func TestConsulRestart(t *testing.T) {
	const service = "greeter-restart"
	agent := consultest.Start(t)
	startProducers(t, agent, service, 1, 1)
	c := newCaller(t, agent, service, selector.WithEmptyHold(10*time.Second))
	c.start(2, 5*time.Millisecond)
	time.Sleep(500 * time.Millisecond)

	began := time.Now()
	agent.Restart(t)
	t.Logf("Consul restarted in %s", time.Since(began).Round(time.Millisecond))

	late := startProducer(t, agent, service)
	started := time.Now()
	served := c.waitServed(t, late.ID, 30*time.Second)
	t.Logf("the producer started after the restart served its first call %s after it started", served.Sub(started).Round(time.Millisecond))
	time.Sleep(200 * time.Millisecond)
	c.stop()
	requireNoFailure(t, c)
}
