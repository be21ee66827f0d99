package report

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/microlb/microlb/bench/internal/svg"
)

// Chart builds the bar chart of r: requests/s ratios of stage 2 (and 3)
// targets, and ns/op per selector strategy at each node count.
func Chart(r *Results) svg.Chart {
	c := svg.Chart{
		Title:    "microlb benchmark (" + r.Mode + ")",
		Subtitle: fmt.Sprintf("%s · %s · %d cores · %s", r.Date.UTC().Format("2006-01-02 15:04 MST"), r.Machine.CPU, r.Machine.Cores, r.Machine.GoVersion),
	}
	if len(r.Proxy) > 0 {
		c.Panels = append(c.Panels, ratioPanel("HTTP proxy route: requests/s ÷ nginx (median of A/B pairs)", r.Proxy))
	}
	if len(r.RPC) > 0 {
		c.Panels = append(c.Panels, ratioPanel("HTTP → RPC route: requests/s ÷ go-micro api (median of A/B pairs)", r.RPC))
	}
	var sizes []int
	for _, row := range r.Selector {
		if !slices.Contains(sizes, row.Nodes) {
			sizes = append(sizes, row.Nodes)
		}
	}
	for _, n := range sizes {
		p := svg.Panel{Title: fmt.Sprintf("Selector Select+Next at %d nodes: ns/op (log scale, shorter is faster)", n), Unit: " ns", Log: true}
		for _, row := range r.Selector {
			if row.Nodes == n {
				p.Bars = append(p.Bars, svg.Bar{Label: row.Strategy, Value: row.Stat.NsOp})
			}
		}
		c.Panels = append(c.Panels, p)
	}
	return c
}

// ratioPanel has one bar per target: its requests/s ratio to the base.
func ratioPanel(title string, ts []Target) svg.Panel {
	p := svg.Panel{Title: title, Unit: "×", Ref: 1}
	for _, t := range ts {
		bar := svg.Bar{Label: t.Name, Value: t.Ratio.RPS}
		switch {
		case t.Status != StatusOK:
			bar.Value, bar.Note = math.NaN(), t.Status
		case t.Base:
			bar.Value, bar.Note = 1, "(base)"
		}
		p.Bars = append(p.Bars, bar)
	}
	return p
}

// SVG writes r's chart.
func SVG(w io.Writer, r *Results) error { return svg.Write(w, Chart(r)) }
