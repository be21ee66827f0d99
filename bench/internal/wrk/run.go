package wrk

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/microlb/microlb/bench/internal/proc"
)

// Load describes one wrk run.
type Load struct {
	// URL is the target.
	URL string
	// Threads and Conns are wrk's -t and -c.
	Threads, Conns int
	// Duration is wrk's -d, rounded up to whole seconds.
	Duration time.Duration
	// Script is an optional Lua script (-s), e.g. from PostScript.
	Script string
	// Timeout is wrk's per-request --timeout in whole seconds (default 2 s).
	Timeout time.Duration
}

// Args returns wrk's command line for l, always with --latency.
func (l Load) Args() []string {
	secs := int((l.Duration + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	to := int((l.Timeout + time.Second - 1) / time.Second)
	if to < 1 {
		to = 2
	}
	args := []string{
		"-t", strconv.Itoa(max(1, l.Threads)),
		"-c", strconv.Itoa(max(1, l.Conns)),
		"-d", strconv.Itoa(secs) + "s",
		"--timeout", strconv.Itoa(to) + "s",
		"--latency",
	}
	if l.Script != "" {
		args = append(args, "-s", l.Script)
	}
	return append(args, l.URL)
}

// Run runs wrk (bin) as a child of g and parses its report.
func Run(ctx context.Context, g *proc.Group, bin, name string, l Load) (Result, error) {
	out, err := g.Run(ctx, proc.Spec{Name: "wrk-" + name, Bin: bin, Args: l.Args()})
	if err != nil {
		return Result{}, err
	}
	r, err := Parse(out)
	if err != nil {
		return r, fmt.Errorf("%w\n--- wrk output ---\n%s", err, out)
	}
	return r, nil
}

// PostScript writes a Lua script into dir that makes wrk POST body as JSON,
// and returns its path.
func PostScript(dir, body string) (string, error) {
	lua := "wrk.method = \"POST\"\n" +
		"wrk.headers[\"Content-Type\"] = \"application/json\"\n" +
		"wrk.body = " + strconv.Quote(body) + "\n"
	p := filepath.Join(dir, "post.lua")
	return p, os.WriteFile(p, []byte(lua), 0o644)
}
