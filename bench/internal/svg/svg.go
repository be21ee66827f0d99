// Package svg draws the benchmark's results as a plain SVG bar chart, with
// no dependencies: one panel per measurement, one horizontal bar per row.
package svg

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
)

// Bar is one labelled value.
type Bar struct {
	Label string
	Value float64
	// Note is printed after the value, e.g. "skipped". A bar whose Value
	// is NaN or not positive is drawn empty, with its Note.
	Note string
}

// Panel is one titled group of bars sharing a scale.
type Panel struct {
	Title string
	// Unit follows each value, e.g. "×" or " ns".
	Unit string
	// Log draws bars on a log10 scale (for values spanning decades).
	Log bool
	// Ref, when positive, draws a dashed reference line at that value.
	Ref  float64
	Bars []Bar
}

// Chart is the whole figure.
type Chart struct {
	Title    string
	Subtitle string
	Panels   []Panel
}

// Layout, in pixels.
const (
	width    = 820
	labelW   = 230
	valueW   = 150
	barH     = 18
	gap      = 6
	titleH   = 26
	panelPad = 18
	top      = 56
)

// Write renders c as a standalone SVG document. Every bar is a <rect
// class="bar">, so tests and readers can count them.
func Write(w io.Writer, c Chart) error {
	var b bytes.Buffer
	h := top
	for _, p := range c.Panels {
		h += titleH + len(p.Bars)*(barH+gap) + panelPad
	}
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, h, width, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	text(&b, 10, 22, "16", "bold", "start", c.Title)
	text(&b, 10, 40, "11", "normal", "start", c.Subtitle)
	y := top
	for _, p := range c.Panels {
		y = panel(&b, y, p)
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// panel draws p from y down and returns the next free y.
func panel(b *bytes.Buffer, y int, p Panel) int {
	text(b, 10, y+16, "13", "bold", "start", p.Title)
	y += titleH
	maxW := float64(width - labelW - valueW - 20)
	scale := scaler(p)
	x0 := float64(labelW + 10)
	for i, bar := range p.Bars {
		by := y + i*(barH+gap)
		text(b, labelW, by+barH-5, "12", "normal", "end", bar.Label)
		w := 0.0
		if ok(bar.Value) {
			w = math.Max(1, scale(bar.Value)*maxW)
		}
		fmt.Fprintf(b, `<rect class="bar" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n",
			x0, by, w, barH, colour(i))
		label := bar.Note
		if ok(bar.Value) {
			label = fmt.Sprintf("%s%s %s", num(bar.Value), p.Unit, bar.Note)
		}
		text(b, int(x0+w)+6, by+barH-5, "11", "normal", "start", label)
	}
	if p.Ref > 0 {
		rx := x0 + scale(p.Ref)*maxW
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#444" stroke-dasharray="4 3"/>`+"\n",
			rx, y-4, rx, y+len(p.Bars)*(barH+gap))
	}
	return y + len(p.Bars)*(barH+gap) + panelPad
}

// scaler maps a value to [0, 1] of the panel's width.
func scaler(p Panel) func(float64) float64 {
	hi := p.Ref
	lo := math.Inf(1)
	for _, bar := range p.Bars {
		if ok(bar.Value) {
			hi = math.Max(hi, bar.Value)
			lo = math.Min(lo, bar.Value)
		}
	}
	if hi <= 0 {
		return func(float64) float64 { return 0 }
	}
	if !p.Log {
		return func(v float64) float64 { return v / hi }
	}
	floor := math.Floor(math.Log10(math.Min(lo, hi))) // a decade below the smallest
	span := math.Log10(hi) - floor + 0.1
	return func(v float64) float64 { return (math.Log10(v) - floor + 0.1) / span }
}

func ok(v float64) bool { return v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }

// num formats v with three significant digits, or as an integer when large.
func num(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

var palette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1"}

func colour(i int) string { return palette[i%len(palette)] }

// text writes an escaped <text> element.
func text(b *bytes.Buffer, x, y int, size, weight, anchor, s string) {
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="%s" font-weight="%s" text-anchor="%s">`, x, y, size, weight, anchor)
	xml.EscapeText(b, []byte(s))
	b.WriteString("</text>\n")
}
