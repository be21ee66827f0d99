package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/microlb/microlb/internal/loadresult"
)

// barWidth is the width of a 100 % bar, in cells.
const barWidth = 40

// eighths are the partial blocks of a bar, from 1/8 to 7/8 of a cell.
var eighths = []string{"▏", "▎", "▍", "▌", "▋", "▊", "▉"}

// writeTable prints res for people:
//
//	weighted: 700 requests to greeter, concurrency 4, retries 2, 1.52s
//	  NODE        WEIGHT  COUNT   SHARE
//	  greeter-a        5    500   71.4%  ████████████████████████████▌
//	  greeter-b        1    100   14.3%  █████▊
//	  greeter-c        1    100   14.3%  █████▊
//	  latency p50 1.20ms  p99 3.40ms  errors 0
//
// A share is a node's count over all requests (failed ones included), and a
// bar of 40 cells is 100 %.
func writeTable(w io.Writer, res *result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d requests to %s, concurrency %d, retries %d, %s\n",
		res.Strategy, res.Requests, res.Service, res.Concurrency, res.Retries, res.Elapsed.Round(10*time.Millisecond))
	idWidth := len("NODE")
	for _, n := range res.Nodes {
		idWidth = max(idWidth, len(n.ID))
	}
	fmt.Fprintf(&b, "  %-*s  %6s  %6s  %6s\n", idWidth, "NODE", "WEIGHT", "COUNT", "SHARE")
	for _, n := range res.Nodes {
		share := 0.0
		if res.Requests > 0 {
			share = float64(n.Count) / float64(res.Requests)
		}
		row := fmt.Sprintf("  %-*s  %6d  %6d  %5.1f%%  %s", idWidth, n.ID, n.Weight, n.Count, 100*share, bar(share))
		b.WriteString(strings.TrimRight(row, " ") + "\n")
	}
	if len(res.Nodes) == 0 {
		b.WriteString("  (no node answered)\n")
	}
	fmt.Fprintf(&b, "  latency p50 %s  p99 %s  errors %d\n", ms(res.P50), ms(res.P99), res.Errors)
	if res.FirstError != "" {
		fmt.Fprintf(&b, "  first error: %s\n", res.FirstError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// bar draws share (0..1) as full blocks plus one partial block, to 1/8 cell.
func bar(share float64) string {
	units := int(math.Round(share * barWidth * 8))
	full, part := units/8, units%8
	s := strings.Repeat("█", full)
	if part > 0 {
		s += eighths[part-1]
	}
	return s
}

// ms formats d in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", msFloat(d)) }

// msFloat is d in milliseconds, rounded to the microsecond.
func msFloat(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// writeJSON prints res as one JSON object on one line. nodes lists the nodes
// that served at least one call.
func writeJSON(w io.Writer, res *result) error {
	out := loadresult.Result{
		Strategy: string(res.Strategy),
		Requests: res.Requests,
		Errors:   res.Errors,
		Nodes:    map[string]int{},
		P50:      msFloat(res.P50),
		P99:      msFloat(res.P99),
		Keys:     res.Keys,
	}
	for _, n := range res.Nodes {
		if n.Count > 0 {
			out.Nodes[n.ID] = n.Count
		}
	}
	return json.NewEncoder(w).Encode(out)
}
