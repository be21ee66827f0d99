// Package loadresult is the consumer's --json output: one Result a line. The
// consumer writes it; its tests and the integration tests read it back.
package loadresult

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Result is one run of one strategy: the calls made and failed, the calls
// each node served, latency percentiles in milliseconds and, for the hash
// strategy, the node each key went to.
type Result struct {
	Strategy string            `json:"strategy"`
	Requests int               `json:"requests"`
	Errors   int               `json:"errors"`
	Nodes    map[string]int    `json:"nodes"`
	P50      float64           `json:"p50_ms"`
	P99      float64           `json:"p99_ms"`
	Keys     map[string]string `json:"keys,omitempty"`
}

// Parse decodes out, one Result a line. An empty out is an error, as is any
// line that is not a Result.
func Parse(out string) ([]Result, error) {
	var results []Result
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("line %q: %w", line, err)
		}
		results = append(results, r)
	}
	return results, nil
}
