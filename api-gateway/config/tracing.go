package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Tracing exporters.
const (
	TraceNone   = "none"   // spans are made and propagated, never exported
	TraceStdout = "stdout" // spans are written as JSON to standard output
	TraceOTLP   = "otlp"   // spans are sent to an OTLP/HTTP collector
)

// Tracing turns on OpenTelemetry tracing. Absent, the gateway makes no span
// and passes a client's traceparent on as it is (when the metadata
// allow-list has it). Present, even with exporter none, every request gets
// a server span and every attempt a client span, and the upstream receives
// the gateway's attempt span as the parent in a W3C traceparent:
//
//	tracing:
//	  exporter: otlp                 # none (default), stdout or otlp
//	  endpoint: collector:4318       # otlp only: host:port of an OTLP/HTTP collector
//	  sample_ratio: 0.1              # of new traces; a sampled parent is always followed. Default 1
type Tracing struct {
	Exporter string `yaml:"exporter"`
	// Endpoint is the OTLP/HTTP collector's host:port (or a URL); empty
	// means the exporter's own default, localhost:4318.
	Endpoint string `yaml:"endpoint"`
	// SampleRatio is the share of new traces sampled, 0 to 1; nil means 1.
	SampleRatio *float64 `yaml:"sample_ratio"`
}

// Ratio returns the sample ratio, 1 when unset.
func (t *Tracing) Ratio() float64 {
	if t.SampleRatio == nil {
		return 1
	}
	return *t.SampleRatio
}

// UnmarshalYAML decodes the tracing key, rejecting unknown keys (the
// document's own decoder does not reach into a custom unmarshaler), an
// unknown exporter and a ratio outside [0, 1].
func (t *Tracing) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			switch k := n.Content[i].Value; k {
			case "exporter", "endpoint", "sample_ratio":
			default:
				return fmt.Errorf("line %d: tracing: unknown key %q", n.Content[i].Line, k)
			}
		}
	}
	type plain Tracing
	if err := n.Decode((*plain)(t)); err != nil {
		return err
	}
	switch t.Exporter {
	case "":
		t.Exporter = TraceNone
	case TraceNone, TraceStdout, TraceOTLP:
	default:
		return fmt.Errorf("line %d: tracing.exporter %q: want none, stdout or otlp", n.Line, t.Exporter)
	}
	if r := t.Ratio(); r < 0 || r > 1 || r != r {
		return fmt.Errorf("line %d: tracing.sample_ratio %v: want 0 to 1", n.Line, r)
	}
	if t.Endpoint != "" && t.Exporter != TraceOTLP {
		return fmt.Errorf("line %d: tracing.endpoint is for exporter otlp only", n.Line)
	}
	return nil
}
