// Package proc starts the benchmark's child processes, each in its own
// process group, and stops every one of them even when a run fails or is
// interrupted. Each child's process group id is also appended to a file so
// that scripts/bench.sh can kill what is left if benchrun itself dies.
package proc

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// EnvMarker is set, to the run's scratch directory, in the environment of
// every child, so that scripts/bench.sh kills only processes of its own run.
const EnvMarker = "MICROLB_BENCH_RUN"

// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// Spec describes one child process: Name labels it in logs (its output goes
// to <dir>/<Name>.log), Bin and Args are the command line, Env is added to
// the benchmark's own environment, and Dir is the working directory
// (default: the Group's log directory, so that every child of a run can be
// told by its working directory).
type Spec struct {
	Name, Bin, Dir string
	Args, Env      []string
}

// Group owns every child process of a run.
type Group struct {
	logDir   string
	pgidFile string

	mu    sync.Mutex
	procs []*Proc
	names map[string]int
}

// NewGroup returns a Group that writes child logs into logDir and appends
// each child's process group id to pgidFile (skipped when empty).
func NewGroup(logDir, pgidFile string) *Group {
	return &Group{logDir: logDir, pgidFile: pgidFile, names: map[string]int{}}
}

// Proc is one started child process: Name is its unique label within its
// Group, LogPath receives its stderr (and stdout unless captured).
type Proc struct {
	Name, LogPath string
	cmd           *exec.Cmd
	done          chan struct{}
}

// Start starts s in a new process group. The child gets SIGKILL if the
// benchmark process dies first (Linux parent-death signal).
func (g *Group) Start(s Spec) (*Proc, error) { return g.start(s, nil) }

func (g *Group) start(s Spec, stdout io.Writer) (*Proc, error) {
	g.mu.Lock()
	g.names[s.Name]++
	name := s.Name
	if n := g.names[s.Name]; n > 1 {
		name += "-" + strconv.Itoa(n)
	}
	g.mu.Unlock()
	logPath := filepath.Join(g.logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the child holds its own descriptor
	cmd := exec.Command(s.Bin, s.Args...)
	cmd.Dir = s.Dir
	if cmd.Dir == "" {
		cmd.Dir = g.logDir
	}
	cmd.Env = append(append(os.Environ(), EnvMarker+"="+g.logDir), s.Env...)
	cmd.Stdout, cmd.Stderr = cmp.Or[io.Writer](stdout, f), f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	g.mu.Lock()
	g.procs = append(g.procs, p)
	g.mu.Unlock()
	g.recordPgid(cmd.Process.Pid)
	return p, nil
}

// recordPgid appends pgid to the group file, for the shell's trap.
func (g *Group) recordPgid(pgid int) {
	if g.pgidFile == "" {
		return
	}
	if f, err := os.OpenFile(g.pgidFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
		fmt.Fprintln(f, pgid)
		f.Close()
	}
}

// Run starts s, waits for it to exit and returns its standard output. When
// ctx ends first the whole process group is killed.
func (g *Group) Run(ctx context.Context, s Spec) (string, error) {
	var out bytes.Buffer
	p, err := g.start(s, &out)
	if err != nil {
		return "", err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		p.Kill()
		return out.String(), ctx.Err()
	}
	if st := p.cmd.ProcessState; !st.Success() {
		return out.String(), fmt.Errorf("%s: %s\n%s", p.Name, st, p.LogTail(20))
	}
	return out.String(), nil
}

// Pgids returns the process group ids of the children still running.
func (g *Group) Pgids() map[int]bool {
	m := map[int]bool{}
	for _, p := range g.list() {
		if !p.Exited() {
			m[p.Pid()] = true
		}
	}
	return m
}

// StopOnly stops, all at once, the children whose process groups are in
// pgids, and waits for them.
func (g *Group) StopOnly(pgids map[int]bool) {
	var wg sync.WaitGroup
	for _, p := range g.list() {
		if pgids == nil || pgids[p.Pid()] {
			wg.Add(1)
			go func() { defer wg.Done(); p.Stop() }()
		}
	}
	wg.Wait()
}

// StopAll stops every child that still runs, all at once, and waits.
func (g *Group) StopAll() { g.StopOnly(nil) }

// KillAll sends SIGKILL to every child's process group at once, without a
// grace period, and waits for them.
func (g *Group) KillAll() {
	for _, p := range g.list() {
		syscall.Kill(-p.Pid(), syscall.SIGKILL)
	}
	for _, p := range g.list() {
		p.Kill()
	}
}

// list returns the children started so far.
func (g *Group) list() []*Proc {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.procs)
}

// Pid returns the process id, which is also its process group id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process group, then SIGKILL after a grace
// period, and waits for the leader to exit. Stragglers in the group get
// SIGKILL as well.
func (p *Proc) Stop() {
	if !p.Exited() {
		syscall.Kill(-p.Pid(), syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopGrace):
		}
	}
	p.Kill()
}

// Kill sends SIGKILL to the whole process group and waits for the leader.
func (p *Proc) Kill() {
	err := syscall.Kill(-p.Pid(), syscall.SIGKILL)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		p.cmd.Process.Kill()
	}
	<-p.done
}

// LogTail returns the last n lines of the process's log.
func (p *Proc) LogTail(n int) string {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// FreeAddrs returns n distinct "127.0.0.1:port" addresses that were free a
// moment ago.
func FreeAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // held until all are picked, so they differ
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// WaitReady polls ready every 50 ms until it returns nil, p exits, ctx ends
// or timeout passes. Errors carry the tail of p's log.
func WaitReady(ctx context.Context, p *Proc, timeout time.Duration, what string, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		last := ready()
		switch {
		case last == nil:
			return nil
		case p.Exited():
			return fmt.Errorf("%s exited before %s: %v\n%s", p.Name, what, last, p.LogTail(15))
		case time.Now().After(deadline):
			return fmt.Errorf("no %s after %v: %v\n%s", what, timeout, last, p.LogTail(15))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// DialCheck returns a readiness check that succeeds once addr accepts TCP.
func DialCheck(addr string) func() error {
	return func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}
}
