package svg

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

// elements decodes doc fully (failing on malformed XML) and returns every
// start element.
func elements(t *testing.T, doc []byte) []xml.StartElement {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var out []xml.StartElement
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		if se, ok := tok.(xml.StartElement); ok {
			out = append(out, se.Copy())
		}
	}
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name  string
		chart Chart
		bars  int
	}{
		{"empty", Chart{Title: "nothing"}, 0},
		{
			name: "ratios and a skipped target",
			chart: Chart{Title: "proxy <&> \"quotes\"", Panels: []Panel{{Title: "req/s ÷ nginx", Unit: "×", Ref: 1, Bars: []Bar{
				{Label: "direct", Value: 2.4}, {Label: "microlb <gw>", Value: 0.9},
				{Label: "nginx", Value: 1, Note: "(base)"}, {Label: "caddy", Value: math.NaN(), Note: "skipped"},
			}}}},
			bars: 4,
		},
		{
			name: "two panels, log scale",
			chart: Chart{Title: "selector", Panels: []Panel{
				{Title: "3 nodes", Log: true, Bars: []Bar{{Label: "gomicro-default", Value: 1700}, {Label: "roundrobin", Value: 17}}},
				{Title: "1000 nodes", Log: true, Bars: []Bar{{Label: "gomicro-default", Value: 90000}, {Label: "weighted", Value: 0.5}, {Label: "zero", Value: 0}}},
			}},
			bars: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tt.chart); err != nil {
				t.Fatal(err)
			}
			els := elements(t, b.Bytes())
			if len(els) == 0 || els[0].Name.Local != "svg" {
				t.Fatalf("root element is not <svg>")
			}
			var bars []xml.StartElement
			for _, e := range els {
				if e.Name.Local == "rect" && attr(e, "class") == "bar" {
					bars = append(bars, e)
				}
			}
			if len(bars) != tt.bars {
				t.Fatalf("got %d bars, want %d", len(bars), tt.bars)
			}
			for _, bar := range bars {
				if w := attr(bar, "width"); strings.HasPrefix(w, "-") || w == "NaN" || w == "+Inf" {
					t.Errorf("bar width %q", w)
				}
			}
		})
	}
}

func TestBarWidthsFollowValues(t *testing.T) {
	var b bytes.Buffer
	c := Chart{Panels: []Panel{{Bars: []Bar{{Label: "a", Value: 1}, {Label: "b", Value: 2}, {Label: "c", Value: math.Inf(1)}}}}}
	if err := Write(&b, c); err != nil {
		t.Fatal(err)
	}
	var widths []string
	for _, e := range elements(t, b.Bytes()) {
		if attr(e, "class") == "bar" {
			widths = append(widths, attr(e, "width"))
		}
	}
	want := []string{"210.0", "420.0", "0.0"} // half, full (420 px), none for +Inf
	if strings.Join(widths, " ") != strings.Join(want, " ") {
		t.Fatalf("widths = %v, want %v", widths, want)
	}
}
