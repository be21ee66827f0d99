package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/microlb/microlb/bench/internal/report"
	"github.com/microlb/microlb/bench/internal/sysload"
)

func splitLines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

// idleLoad measures the machine for d before anything starts.
func idleLoad(ctx context.Context, d time.Duration) sysload.Load {
	m := sysload.Start(func() map[int]bool { return nil })
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
	return m.Stop()
}

// machine describes this machine and checkout.
func machine(repo string) report.Machine {
	m := report.Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), CPU: "unknown CPU"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb float64
		fmt.Sscanf(strings.TrimPrefix(string(b), "MemTotal:"), "%f", &kb)
		m.MemGiB = kb / (1 << 20)
	}
	m.Commit = gitCommit(repo)
	return m
}

// gitCommit returns the short HEAD commit, marked when the tree is dirty.
func gitCommit(repo string) string {
	out, err := runOut(repo, "git", "rev-parse", "--short", "HEAD")
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(out)
	if st, err := runOut(repo, "git", "status", "--porcelain"); err == nil && strings.TrimSpace(st) != "" {
		c += " with uncommitted changes"
	}
	return c
}

// writeResults writes <base>.md and .json into the results directory.
func writeResults(o options, r *report.Results) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	write := func(ext string, fn func(io.Writer) error) error {
		p := filepath.Join(o.out, o.base()+ext)
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := write(".md", func(w io.Writer) error { return report.Markdown(w, r) }); err != nil {
		return err
	}
	return write(".json", func(w io.Writer) error { return report.JSON(w, r) })
}

// summary prints where the results went and the targets' verdicts.
func (h *harness) summary(r *report.Results) {
	h.stage.Store("done")
	for _, st := range r.Stages {
		line := fmt.Sprintf("stage %d %-11s %s", st.ID, st.Name, st.Status)
		if st.Reason != "" {
			line += ": " + st.Reason
		}
		h.logf("%s", line)
	}
	for _, g := range report.Goals(r) {
		if g.Known {
			verdict := "met"
			if !g.Met {
				verdict = "MISSED"
			}
			h.logf("target %-26s %-45s %s: %s", g.What, g.Target, verdict, g.Measured)
		}
	}
	h.logf("results: %s", filepath.Join(h.o.out, h.o.base()+".md"))
}

// getBody GETs url and returns the body of a 2xx answer.
func getBody(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode/100 != 2 {
		return b, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, err
}

// runOut runs a short command in dir and returns its output.
func runOut(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	return string(out), err
}
