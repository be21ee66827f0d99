// Package wrk runs the wrk load generator and parses its report.
package wrk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/microlb/microlb/bench/internal/proc"
)

// Result is what one wrk run reports: completed Requests in Duration, RPS
// ("Requests/sec"), the --latency percentiles, socket errors (Connect, Read,
// Write, Timeout) and Non2xx, the answers whose status was not 2xx or 3xx.
type Result struct {
	Requests                              int64
	Duration                              time.Duration
	RPS                                   float64
	P50, P75, P90, P99                    time.Duration
	Connect, Read, Write, Timeout, Non2xx int64
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
	percentiles := map[string]*time.Duration{"50%": &r.P50, "75%": &r.P75, "90%": &r.P90, "99%": &r.P99}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		var err error
		switch {
		case len(f) == 2 && strings.HasSuffix(f[0], "%"):
			var d time.Duration
			if d, err = ParseDuration(f[1]); percentiles[f[0]] != nil {
				*percentiles[f[0]] = d
			}
			haveP50, haveP99 = haveP50 || f[0] == "50%", haveP99 || f[0] == "99%"
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			r.RPS, err = strconv.ParseFloat(f[1], 64)
			haveRPS = true
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			var err2 error
			r.Requests, err = strconv.ParseInt(f[0], 10, 64)
			r.Duration, err2 = ParseDuration(strings.TrimSuffix(f[3], ","))
			err, haveTotal = errors.Join(err, err2), true
		case strings.HasPrefix(line, "Socket errors:"):
			if err := parseSocketErrors(strings.TrimPrefix(line, "Socket errors:"), &r); err != nil {
				return r, err
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(f) == 5:
			r.Non2xx, err = strconv.ParseInt(f[4], 10, 64)
		}
		if err != nil {
			return r, fmt.Errorf("wrk: %q: %w", line, err)
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

// Load describes one wrk run: URL, -t Threads, -c Conns, -d Duration
// (rounded up to whole seconds), an optional Lua Script (-s, e.g. from
// PostScript), and --timeout, whole seconds (default 2 s).
type Load struct {
	URL, Script       string
	Threads, Conns    int
	Duration, Timeout time.Duration
}

// Args returns wrk's command line for l, always with --latency.
func (l Load) Args() []string {
	secs := max(1, int((l.Duration+time.Second-1)/time.Second))
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
