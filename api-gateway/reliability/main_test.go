package reliability_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/microlb/microlb/internal/consultest"
)

// producerBin is bin/producer, built by TestMain into a temporary directory.
var producerBin string

// TestMain builds the producer so that the tests run the current code, then
// runs them (see consultest.Main).
func TestMain(m *testing.M) {
	consultest.Main(m, func(dir string) { producerBin = filepath.Join(dir, "producer") },
		"github.com/microlb/microlb/services/producer")
}

// Timeouts of the process helpers.
const (
	startTimeout = 20 * time.Second // producer up (its start line)
	exitTimeout  = 20 * time.Second // producer exits after SIGTERM
)

var producerSeq atomic.Int64

// producer is one bin/producer process. Its RPC node is ID at RPC, its HTTP
// twin HTTPID at HTTP. args are the flags it was started with, so that
// restart can start it again as the same node on the same addresses.
type producer struct {
	t       *testing.T
	mu      sync.Mutex
	args    []string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	status  atomic.Int64 // exit status of the last run, once done is closed

	ID, RPC, HTTPID, HTTP string
}

var startedRE = regexp.MustCompile(`producer started: node=(\S+) rpc=(\S+) http_node=(\S+) http=(\S+)`)

// startProducer starts bin/producer against the Consul agent at registry,
// with a fixed node id and fixed loopback ports (so that it can restart as
// the same node), a 10 s TTL renewed every second and a 300 ms grace period;
// args override those. It waits for the start line and kills the process on
// cleanup, printing its log if the test failed.
func startProducer(t *testing.T, registry string, args ...string) *producer {
	t.Helper()
	p := newProducer(t, registry, args...)
	if err := p.launch(); err != nil {
		t.Fatal(err)
	}
	return p
}

// startProducers starts n producers in parallel with the same args.
func startProducers(t *testing.T, registry string, n int, args ...string) []*producer {
	t.Helper()
	ps := make([]*producer, n)
	errs := make(chan error, n)
	for i := range ps {
		ps[i] = newProducer(t, registry, args...)
		go func() { errs <- ps[i].launch() }()
	}
	for range ps {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return ps
}

// newProducer prepares a producer process and its cleanup.
func newProducer(t *testing.T, registry string, args ...string) *producer {
	n := producerSeq.Add(1)
	full := append([]string{
		"--registry", "consul", "--registry_address", registry,
		"--server_id", fmt.Sprintf("p%d-%d", n, time.Now().UnixNano()%1e6),
		"--server_address", freeAddr(t), "--http_address", freeAddr(t),
		"--register_ttl", "10", "--register_interval", "1", "--grace", "300ms",
	}, args...)
	p := &producer{t: t, args: full, logPath: filepath.Join(t.TempDir(), fmt.Sprintf("producer-%d.log", n))}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- log of producer %s:\n%s", p.ID, p.log())
		}
	})
	return p
}

// launch starts the process and waits for its start line. It is safe to
// call from any goroutine.
func (p *producer) launch() error {
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	off, _ := f.Seek(0, 2)
	cmd := exec.Command(producerBin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() {
		cmd.Wait()
		p.status.Store(int64(cmd.ProcessState.ExitCode()))
		close(done)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		if m := startedRE.FindStringSubmatch(p.logFrom(off)); m != nil {
			p.mu.Lock()
			p.ID, p.RPC, p.HTTPID, p.HTTP = m[1], m[2], m[3], m[4]
			p.mu.Unlock()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("producer exited with status %d before starting:\n%s", p.exitStatus(), p.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("producer not started after %v:\n%s", startTimeout, p.log())
		}
	}
}

// restart starts the producer again with the same flags: the same node ids
// and addresses. It must have exited.
func (p *producer) restart() {
	p.t.Helper()
	select {
	case <-p.doneCh():
	default:
		p.t.Fatalf("restart of running producer %s", p.ID)
	}
	if err := p.launch(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *producer) doneCh() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

func (p *producer) exitStatus() int { return int(p.status.Load()) }

func (p *producer) log() string { return p.logFrom(0) }

func (p *producer) logFrom(off int64) string {
	b, _ := os.ReadFile(p.logPath)
	if int64(len(b)) < off {
		return ""
	}
	return string(b[off:])
}

// kill9 kills the producer with SIGKILL (no drain, no deregistration) and
// waits for it.
func (p *producer) kill9() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// kill is kill9 unless the producer already exited.
func (p *producer) kill() {
	done := p.doneCh()
	if done == nil {
		return
	}
	select {
	case <-done:
	default:
		p.kill9()
	}
}

// term sends SIGTERM and waits for the drain to end; it returns the exit status.
func (p *producer) term() int {
	p.t.Helper()
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return p.exitStatus()
	case <-time.After(exitTimeout):
		p.t.Fatalf("producer %s still running %v after SIGTERM", p.ID, exitTimeout)
		return -1
	}
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// signal sends sig to the running process (SIGSTOP, SIGCONT).
func (p *producer) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		cmd.Process.Signal(sig)
	}
}
