package config

import (
	"testing"
)

func TestTracingKey(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       *Tracing // nil: tracing off
		wantRatio  float64
		wantErr    string
	}{
		{name: "absent", yaml: "log_level: info\n"},
		{name: "empty is none", yaml: "tracing: {}\n", want: &Tracing{Exporter: TraceNone}, wantRatio: 1},
		{name: "stdout", yaml: "tracing: {exporter: stdout}\n", want: &Tracing{Exporter: TraceStdout}, wantRatio: 1},
		{name: "otlp", yaml: "tracing: {exporter: otlp, endpoint: 'http://collector:4318', sample_ratio: 0.25}\n",
			want: &Tracing{Exporter: TraceOTLP, Endpoint: "http://collector:4318"}, wantRatio: 0.25},
		{name: "ratio 0", yaml: "tracing: {exporter: none, sample_ratio: 0}\n", want: &Tracing{Exporter: TraceNone}, wantRatio: 0},
		{name: "unknown exporter", yaml: "tracing: {exporter: jaeger}\n", wantErr: `tracing.exporter "jaeger": want none, stdout or otlp`},
		{name: "ratio above 1", yaml: "tracing: {sample_ratio: 1.5}\n", wantErr: "tracing.sample_ratio 1.5: want 0 to 1"},
		{name: "negative ratio", yaml: "tracing: {sample_ratio: -0.1}\n", wantErr: "tracing.sample_ratio -0.1: want 0 to 1"},
		{name: "unknown key", yaml: "tracing: {exporter: none, sampler: always}\n", wantErr: `tracing: unknown key "sampler"`},
		{name: "endpoint without otlp", yaml: "tracing: {exporter: stdout, endpoint: 'x:1'}\n", wantErr: "tracing.endpoint is for exporter otlp only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseValid(tt.yaml)
			if !checkErr(t, err, tt.wantErr) {
				return
			}
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
