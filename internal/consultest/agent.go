package consultest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	startTimeout = 30 * time.Second // agent up and leader known
	stopTimeout  = 5 * time.Second  // SIGTERM grace before SIGKILL
	startTries   = 3                // fresh ports on a port clash
)

// errPortClash reports that consul exited because a port was taken.
var errPortClash = errors.New("consul could not bind a port")

// Agent is one running (or stopped) consul agent process.
type Agent struct {
	// Addr is host:port of the HTTP API, e.g. "127.0.0.1:34567".
	Addr string
	// Ports are the loopback ports the agent listens on.
	Ports Ports
	// Node is the agent's node name.
	Node string
	// Dir is the agent's private directory: data dir "data" and "consul.log".
	Dir string

	bin  string
	args []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when cmd has exited
	logOff int64         // size of the log when cmd was launched
}

// Start starts `consul agent -dev` on free 127.0.0.1 ports (DNS disabled) with
// its own temporary directory, waits until it has elected itself leader, and
// registers a cleanup that kills it and removes the directory. It fails the
// test, with the tail of the agent's log, if the agent does not come up within
// 30 s. Dev mode keeps the catalog and KV in memory; see Restart.
func Start(t testing.TB) *Agent {
	t.Helper()
	skipIfRequested(t)
	return startAgent(t, "dev agent", func(p Ports) (string, []string) {
		return "dev-" + fmt.Sprint(p.HTTP), []string{"-dev"}
	})
}

// startAgent starts an agent of its own directory on free ports, with the
// node name and extra flags that args gives for them, and waits until it
// knows a leader; a port taken meanwhile is retried on other ports. It
// registers a cleanup that kills it, and fails the test, naming what, with
// the tail of the agent's log, when the agent does not come up.
func startAgent(t testing.TB, what string, args func(Ports) (node string, extra []string)) *Agent {
	t.Helper()
	a := &Agent{bin: Binary(t), Dir: t.TempDir()}
	t.Cleanup(a.Stop)
	err := retryOnClash(a.Stop, func() error {
		ports, err := freePorts()
		if err != nil {
			t.Fatalf("consultest: %v", err)
		}
		node, extra := args(ports)
		a.configure(ports, node, extra...)
		if err := a.launch(); err != nil {
			return err
		}
		return a.waitUntil(time.Now().Add(startTimeout), "a leader", a.hasLeader)
	})
	if err != nil {
		t.Fatalf("consultest: starting consul %s: %v\n%s", what, err, a.logTail())
	}
	return a
}

// retryOnClash calls start up to startTries times: again, after stop, only
// while it fails because a port was taken before the agent bound it. It
// returns start's last error.
func retryOnClash(stop func(), start func() error) error {
	var err error
	for range startTries {
		if err = start(); !errors.Is(err, errPortClash) {
			return err
		}
		stop()
	}
	return err
}

// configure sets the agent's ports, node name and command line.
func (a *Agent) configure(p Ports, node string, extra ...string) {
	a.Ports, a.Node = p, node
	a.Addr = fmt.Sprintf("127.0.0.1:%d", p.HTTP)
	args := []string{"agent", "-node=" + node,
		"-bind=127.0.0.1", "-client=127.0.0.1",
		"-data-dir=" + filepath.Join(a.Dir, "data")}
	args = append(args, p.flags()...)
	args = append(args, versionFlags(a.bin)...)
	a.args = append(args, extra...)
}

// LogPath returns the path of the file that receives the agent's output.
// Output of every run (after Restart) is appended to it.
func (a *Agent) LogPath() string { return filepath.Join(a.Dir, "consul.log") }

// URL returns the HTTP API URL for path, e.g. a.URL("/v1/status/leader").
func (a *Agent) URL(path string) string { return "http://" + a.Addr + path }

// launch starts the consul process without waiting for it to be ready.
func (a *Agent) launch() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	f, err := os.OpenFile(a.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close() // the child has its own copy
	if fi, err := f.Stat(); err == nil {
		a.logOff = fi.Size()
	}
	fmt.Fprintf(f, "=== consultest %s: %s %s\n", time.Now().Format(time.RFC3339Nano), a.bin, strings.Join(a.args, " "))
	cmd := exec.Command(a.bin, a.args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec %s: %w", a.bin, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	a.cmd, a.done = cmd, done
	return nil
}

// exited reports whether the last launched process has exited.
func (a *Agent) exited() bool {
	a.mu.Lock()
	done := a.done
	a.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// waitUntil polls cond until it holds, the deadline passes, or the process
// exits. what describes cond for the error message.
func (a *Agent) waitUntil(deadline time.Time, what string, cond func() bool) error {
	return waitAll([]*Agent{a}, deadline, what, cond)
}

// waitAll polls cond until it holds, the deadline passes, or one of the
// agents' processes exits. what describes cond for the error message.
func waitAll(agents []*Agent, deadline time.Time, what string, cond func() bool) error {
	for {
		for _, a := range agents {
			if !a.exited() {
				continue
			}
			if strings.Contains(a.runLog(), "address already in use") {
				return fmt.Errorf("%s: %w", a.Node, errPortClash)
			}
			return fmt.Errorf("%s exited while waiting for %s", a.Node, what)
		}
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s after %v", what, startTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the agent (SIGTERM, then SIGKILL after 5 s) and waits for it to
// exit. Its ports, directory and configuration are kept, so Restart can start
// it again. Stop on a stopped agent does nothing.
func (a *Agent) Stop() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil {
		return
	}
	select {
	case <-a.done:
	default:
		a.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(stopTimeout):
			a.cmd.Process.Kill()
			<-a.done
		}
	}
	a.cmd = nil
}

// Restart stops the agent if it runs, starts it again on the same ports with
// the same directory and flags, and waits until it knows a leader. A dev agent
// (from Start) loses its catalog and KV, which dev mode keeps in memory, but
// may restore the services registered through it from its data directory. A
// cluster server keeps its data dir; use Cluster.Restart to also wait until it
// has rejoined.
func (a *Agent) Restart(t testing.TB) {
	t.Helper()
	a.Stop()
	err := a.launch()
	if err == nil {
		err = a.waitUntil(time.Now().Add(startTimeout), "a leader", a.hasLeader)
	}
	if err != nil {
		t.Fatalf("consultest: restarting consul agent %s: %v\n%s", a.Node, err, a.logTail())
	}
}

// runLog returns the log output of the last launched process.
func (a *Agent) runLog() string {
	a.mu.Lock()
	off := a.logOff
	a.mu.Unlock()
	b, err := os.ReadFile(a.LogPath())
	if err != nil || int64(len(b)) < off {
		return ""
	}
	return string(b[off:])
}

// logTail returns the last lines of the agent's log, for error messages.
func (a *Agent) logTail() string {
	b, err := os.ReadFile(a.LogPath())
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return "--- tail of " + a.LogPath() + " ---\n" + strings.Join(lines, "\n")
}
