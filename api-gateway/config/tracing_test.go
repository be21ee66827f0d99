package config

import (
	"testing"
)

func TestTracingKey(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       *Tracing // nil: tracing off
		wantRatio  float64
	}{
		{name: "absent", yaml: "log_level: info\n"},
		{name: "empty is none", yaml: "tracing: {}\n", want: &Tracing{Exporter: TraceNone}, wantRatio: 1},
		{name: "stdout", yaml: "tracing: {exporter: stdout}\n", want: &Tracing{Exporter: TraceStdout}, wantRatio: 1},
		{name: "otlp", yaml: "tracing: {exporter: otlp, endpoint: 'http://collector:4318', sample_ratio: 0.25}\n",
			want: &Tracing{Exporter: TraceOTLP, Endpoint: "http://collector:4318"}, wantRatio: 0.25},
		{name: "ratio 0", yaml: "tracing: {exporter: none, sample_ratio: 0}\n", want: &Tracing{Exporter: TraceNone}, wantRatio: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseValid(tt.yaml)
			checkErr(t, err, "")
			got := cfg.Tracing
			if tt.want == nil {
				if got != nil {
					t.Fatalf("tracing %+v, want nil (off)", got)
				}
				return
			}
			if got == nil || got.Exporter != tt.want.Exporter || got.Endpoint != tt.want.Endpoint || got.Ratio() != tt.wantRatio {
				t.Fatalf("tracing %+v (ratio %v), want %+v (ratio %v)", got, got.Ratio(), tt.want, tt.wantRatio)
			}
		})
	}
}
