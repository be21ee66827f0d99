// Package wrk runs the wrk load generator and parses its report.
package wrk

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/microlb/microlb/bench/internal/proc"
)

// Result is what one wrk run reports.
type Result struct {
	// Requests is the number of completed requests.
	Requests int64
	// Duration is the measured run time.
	Duration time.Duration
	// RPS is wrk's "Requests/sec".
	RPS float64
	// P50, P75, P90 and P99 come from wrk's --latency distribution.
	P50, P75, P90, P99 time.Duration
	// Connect, Read, Write and Timeout are wrk's socket errors.
	Connect, Read, Write, Timeout int64
	// Non2xx counts responses whose status was not 2xx or 3xx.
	Non2xx int64
}

// Errors returns every failed request: socket errors plus non-2xx/3xx
// responses.
func (r Result) Errors() int64 {
	return r.Connect + r.Read + r.Write + r.Timeout + r.Non2xx
}

// Parse reads wrk's text report, as printed with --latency. It fails when the
// report lacks the requests/s line or the latency distribution, so a crashed
// or misconfigured run never passes as numbers.
func Parse(out string) (Result, error) {
	var r Result
	var haveRPS, haveP50, haveP99, haveTotal bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && strings.HasSuffix(f[0], "%"):
			d, err := ParseDuration(f[1])
			if err != nil {
				return r, fmt.Errorf("wrk: latency line %q: %w", line, err)
			}
			switch f[0] {
			case "50%":
				r.P50, haveP50 = d, true
			case "75%":
				r.P75 = d
			case "90%":
				r.P90 = d
			case "99%":
				r.P99, haveP99 = d, true
			}
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("wrk: %q: %w", line, err)
			}
			r.RPS, haveRPS = v, true
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: %q: %w", line, err)
			}
			d, err := ParseDuration(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return r, fmt.Errorf("wrk: %q: %w", line, err)
			}
			r.Requests, r.Duration, haveTotal = n, d, true
		case strings.HasPrefix(line, "Socket errors:"):
			if err := parseSocketErrors(strings.TrimPrefix(line, "Socket errors:"), &r); err != nil {
				return r, err
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(f) == 5:
			n, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: %q: %w", line, err)
			}
			r.Non2xx = n
		}
	}
	switch {
	case !haveRPS:
		return r, fmt.Errorf("wrk: no Requests/sec line in output")
	case !haveTotal:
		return r, fmt.Errorf("wrk: no \"N requests in T\" line in output")
	case !haveP50 || !haveP99:
		return r, fmt.Errorf("wrk: no latency distribution (run wrk with --latency)")
	}
	return r, nil
}

// parseSocketErrors reads "connect 0, read 1, write 0, timeout 2".
func parseSocketErrors(s string, r *Result) error {
	dst := map[string]*int64{"connect": &r.Connect, "read": &r.Read, "write": &r.Write, "timeout": &r.Timeout}
	for _, part := range strings.Split(s, ",") {
		f := strings.Fields(part)
		if len(f) != 2 || dst[f[0]] == nil {
			return fmt.Errorf("wrk: socket errors %q", s)
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return fmt.Errorf("wrk: socket errors %q: %w", s, err)
		}
		*dst[f[0]] = n
	}
	return nil
}

// units are wrk's time suffixes, longest first so "ms" wins over "s".
var units = []struct {
	suffix string
	d      time.Duration
}{
	{"us", time.Microsecond},
	{"ms", time.Millisecond},
	{"s", time.Second},
	{"m", time.Minute},
	{"h", time.Hour},
}

// ParseDuration parses wrk's time format: a decimal number and one of us, ms,
// s, m or h ("250.00us", "1.04ms", "10.01s", "2.00m").
func ParseDuration(s string) (time.Duration, error) {
	for _, u := range units {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("bad wrk duration %q", s)
		}
		return time.Duration(math.Round(v * float64(u.d))), nil
	}
	return 0, fmt.Errorf("bad wrk duration %q", s)
}

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
