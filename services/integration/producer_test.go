package integration_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/microlb/microlb/internal/consultest"
)

// Timeouts of the helpers.
const (
	startTimeout = 15 * time.Second // producer up and registered
	exitTimeout  = 15 * time.Second // producer exits after a signal
)

// producerSeq numbers the producers' log files.
var producerSeq atomic.Int64

// producer is one running producer process.
type producer struct {
	t       *testing.T
	cmd     *exec.Cmd
	logPath string        // stderr: the log
	outPath string        // stdout: must stay empty
	done    chan struct{} // closed when the process has exited
	status  int           // exit status, set before done closes

	ID   string // RPC node id
	RPC  string // RPC address
	HTTP string // HTTP address
}

// startedRE matches the producer's start line.
var startedRE = regexp.MustCompile(`producer started: node=(\S+) rpc=(\S+) http_node=\S+ http=(\S+)`)

// startProducer starts bin/producer registering service in agent's Consul,
// with a 5 s TTL renewed every second (args may override them), waits for
// its start line, and kills it on cleanup. Its log goes to a file that is
// printed if the test fails; its stdout must stay empty.
func startProducer(t *testing.T, agent *consultest.Agent, service string, args ...string) *producer {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), fmt.Sprintf("producer-%d.log", producerSeq.Add(1)))
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	outPath := logPath + ".stdout"
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	full := append([]string{
		"--registry", "consul", "--registry_address", agent.Addr,
		"--server_name", service,
		"--server_address", "127.0.0.1:0", "--http_address", "127.0.0.1:0",
		"--register_ttl", "5", "--register_interval", "1",
	}, args...)
	p := &producer{t: t, logPath: logPath, outPath: outPath, done: make(chan struct{})}
	p.cmd = exec.Command(bins.producer, full...)
	p.cmd.Stdout, p.cmd.Stderr = out, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.status = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if b, _ := os.ReadFile(outPath); len(b) != 0 {
			t.Errorf("producer %s wrote to stdout, where nothing belongs:\n%s", p.ID, b)
		}
		if t.Failed() {
			t.Logf("--- log of producer %s (%s):\n%s", p.ID, strings.Join(args, " "), p.log())
		}
	})

	deadline := time.Now().Add(startTimeout)
	for {
		if m := startedRE.FindStringSubmatch(p.log()); m != nil {
			p.ID, p.RPC, p.HTTP = m[1], m[2], m[3]
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("producer exited with status %d before starting:\n%s", p.status, p.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("producer not started after %v:\n%s", startTimeout, p.log())
		}
	}
}

// log returns the producer's output so far.
func (p *producer) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// signal sends sig to the producer.
func (p *producer) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v to producer %s: %v", sig, p.ID, err)
	}
}

// kill kills the producer (SIGKILL) unless it has exited, and waits for it.
func (p *producer) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// wait waits for the producer to exit and returns its exit status.
func (p *producer) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.status
	case <-time.After(exitTimeout):
		p.t.Fatalf("producer %s still running %v after the signal", p.ID, exitTimeout)
		return -1
	}
}

// waitLog waits until the producer's log has a line containing s and
// returns that line.
func (p *producer) waitLog(s string) string {
	p.t.Helper()
	deadline := time.Now().Add(exitTimeout)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(p.log()))
		for sc.Scan() {
			if strings.Contains(sc.Text(), s) {
				return sc.Text()
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.t.Fatalf("producer %s never logged %q", p.ID, s)
	return ""
}

// logLine is one of the producer's slog JSON log lines.
type logLine struct {
	Time time.Time `json:"time"`
	Msg  string    `json:"msg"`
}

// logTime returns the time stamp of one of the producer's log lines.
func logTime(t *testing.T, line string) time.Time {
	t.Helper()
	var l logLine
	if err := json.Unmarshal([]byte(line), &l); err != nil || l.Time.IsZero() {
		t.Fatalf("no time stamp in %q (%v)", line, err)
	}
	return l.Time
}

// drainSteps returns the messages of the producer's "drain i/4" lines.
func (p *producer) drainSteps() []string {
	var steps []string
	sc := bufio.NewScanner(strings.NewReader(p.log()))
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && strings.HasPrefix(l.Msg, "drain ") {
			steps = append(steps, l.Msg)
		}
	}
	return steps
}

// passing returns the ids of service's nodes whose checks all pass in
// Consul, sorted.
func passing(t *testing.T, agent *consultest.Agent, service string) []string {
	t.Helper()
	rsp, err := http.Get(agent.URL("/v1/health/service/" + service + "?passing=true"))
	if err != nil {
		return nil
	}
	defer rsp.Body.Close()
	var entries []struct{ Service struct{ ID string } }
	if err := json.NewDecoder(rsp.Body).Decode(&entries); err != nil {
		return nil
	}
	ids := []string{}
	for _, e := range entries {
		ids = append(ids, e.Service.ID)
	}
	slices.Sort(ids)
	return ids
}

// waitPassing waits until exactly the producers ps are service's passing
// nodes in Consul.
func waitPassing(t *testing.T, agent *consultest.Agent, service string, ps ...*producer) {
	t.Helper()
	want := []string{}
	for _, p := range ps {
		want = append(want, p.ID)
	}
	slices.Sort(want)
	deadline := time.Now().Add(startTimeout)
	var got []string
	for time.Now().Before(deadline) {
		if got = passing(t, agent, service); slices.Equal(got, want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s passing in Consul: %v, want %v", service, got, want)
}

// startProducers starts one producer per weight and waits until Consul lists
// all of them.
func startProducers(t *testing.T, agent *consultest.Agent, service string, weights ...int) []*producer {
	t.Helper()
	var ps []*producer
	for _, w := range weights {
		ps = append(ps, startProducer(t, agent, service, "--weight", fmt.Sprint(w)))
	}
	waitPassing(t, agent, service, ps...)
	return ps
}
