package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/microlb/microlb/bench/internal/gobench"
	"github.com/microlb/microlb/bench/internal/proc"
	"github.com/microlb/microlb/bench/internal/report"
)

// selectorStage runs selector.BenchmarkSelect (every strategy and go-micro's
// default selector at 3, 100 and 1000 nodes, in one run) and keeps the raw
// output next to the results, for benchstat.
func (h *harness) selectorStage(st *report.Stage) error {
	args := []string{"test", "-run", "^$", "-bench", "^BenchmarkSelect$", "-benchmem",
		"-count", fmt.Sprint(h.o.benchCount), "-benchtime", h.o.benchTime, "github.com/microlb/microlb/selector"}
	h.logf("go %v", args)
	out, err := h.g.Run(h.ctx, proc.Spec{Name: "go-test-bench", Bin: "go", Args: args, Dir: h.o.repo})
	if err != nil {
		return err
	}
	runs, err := gobench.Parse(out)
	if err != nil {
		return err
	}
	rows := gobench.SelectRows(gobench.Summarise(runs))
	if len(rows) == 0 {
		return fmt.Errorf("no BenchmarkSelect results in the output of go test")
	}
	h.res.Selector = rows
	raw := filepath.Join(h.o.out, h.o.base()+"-selector.txt")
	if err := os.WriteFile(raw, []byte(out), 0o644); err != nil {
		return err
	}
	st.Notes = append(st.Notes, "raw `go test` output: `bench/results/"+filepath.Base(raw)+"` (benchstat reads it)")
	for _, line := range splitLines(gobench.Text(rows)) {
		h.logf("%s", line)
	}
	return nil
}
