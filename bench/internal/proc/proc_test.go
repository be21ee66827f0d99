package proc

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether pid runs; a zombie (killed, not yet reaped by
// whoever inherited it) counts as dead.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(s[i+1:], " Z")
}

func TestRunCapturesStdout(t *testing.T) {
	g := NewGroup(t.TempDir(), "")
	out, err := g.Run(context.Background(), Spec{Name: "echo", Bin: "/bin/sh", Args: []string{"-c", "echo hi; echo oops >&2"}})
	if err != nil || out != "hi\n" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	_, err = g.Run(context.Background(), Spec{Name: "fail", Bin: "/bin/sh", Args: []string{"-c", "echo why >&2; exit 3"}})
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "why") {
		t.Fatalf("failing Run error = %v, want exit status and log tail", err)
	}
}

func TestStopAllKillsWholeGroups(t *testing.T) {
	dir := t.TempDir()
	pgids := filepath.Join(dir, "pgids")
	g := NewGroup(dir, pgids)
	// The shell ignores SIGTERM and leaves a grandchild: both must go.
	p, err := g.Start(Spec{Name: "stubborn", Bin: "/bin/sh", Args: []string{"-c", "trap '' TERM; sleep 60 & echo $! > " + dir + "/child; wait"}})
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for range 100 {
		b, _ := os.ReadFile(filepath.Join(dir, "child"))
		if child, _ = strconv.Atoi(strings.TrimSpace(string(b))); child > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("grandchild never started")
	}
	if got := g.Pgids(); !got[p.Pid()] {
		t.Fatalf("Pgids = %v, want %d", got, p.Pid())
	}
	b, _ := os.ReadFile(pgids)
	if strings.TrimSpace(string(b)) != strconv.Itoa(p.Pid()) {
		t.Fatalf("pgid file = %q, want %d", b, p.Pid())
	}
	start := time.Now()
	g.KillAll()
	if !p.Exited() || time.Since(start) > 2*time.Second {
		t.Fatalf("KillAll took %v, exited %v", time.Since(start), p.Exited())
	}
	for range 100 {
		if !alive(child) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if alive(child) {
		syscall.Kill(child, syscall.SIGKILL)
		t.Fatal("the grandchild survived its group's kill")
	}
}

func TestStopOnlyAndRunCancel(t *testing.T) {
	g := NewGroup(t.TempDir(), "")
	a, _ := g.Start(Spec{Name: "a", Bin: "sleep", Args: []string{"60"}})
	b, _ := g.Start(Spec{Name: "a", Bin: "sleep", Args: []string{"60"}})
	if b.Name != "a-2" {
		t.Fatalf("second process named %q, want a-2", b.Name)
	}
	g.StopOnly(map[int]bool{a.Pid(): true})
	if !a.Exited() || b.Exited() {
		t.Fatalf("StopOnly: a exited %v, b exited %v", a.Exited(), b.Exited())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := g.Run(ctx, Spec{Name: "long", Bin: "sleep", Args: []string{"60"}}); err != context.DeadlineExceeded {
		t.Fatalf("Run after the deadline = %v", err)
	}
	g.StopAll()
	if !b.Exited() {
		t.Fatal("StopAll left b running")
	}
}

func TestWaitReady(t *testing.T) {
	g := NewGroup(t.TempDir(), "")
	p, _ := g.Start(Spec{Name: "dies", Bin: "/bin/sh", Args: []string{"-c", "echo bye >&2; exit 1"}})
	err := WaitReady(context.Background(), p, 5*time.Second, "port", DialCheck("127.0.0.1:1"))
	if err == nil || !strings.Contains(err.Error(), "exited before port") || !strings.Contains(err.Error(), "bye") {
		t.Fatalf("WaitReady = %v", err)
	}
	addrs, err := FreeAddrs(3)
	if err != nil || len(addrs) != 3 || addrs[0] == addrs[1] {
		t.Fatalf("FreeAddrs = %v, %v", addrs, err)
	}
}
