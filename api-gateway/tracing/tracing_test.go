package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/microlb/microlb/api-gateway/config"
)

// TestSetup: no tracing key leaves tracing off and adds no header; with
// the stdout exporter tracing is on, an attempt's span reaches the
// Traceparent it injects, and shutdown writes the span as JSON and turns
// tracing off.
func TestSetup(t *testing.T) {
	t.Run("off", func(t *testing.T) {
		shutdown, err := Setup(context.Background(), nil, "test", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer shutdown(context.Background())
		if Enabled() {
			t.Fatal("tracing on without a tracing key")
		}
		req, _ := http.NewRequest("GET", "http://x/", nil)
		req.Header.Set("Traceparent", "client")
		got, span := StartRequest(req, "svc", "n1", 1, "random")
		if got != req || span != nil || req.Header.Get("Traceparent") != "client" {
			t.Fatalf("off: request changed (span %v, Traceparent %q)", span, req.Header.Get("Traceparent"))
		}
	})
	t.Run("stdout", func(t *testing.T) {
		var out bytes.Buffer
		shutdown, err := Setup(context.Background(), &config.Tracing{Exporter: config.TraceStdout}, "test", &out)
		if err != nil {
			t.Fatal(err)
		}
		if !Enabled() {
			t.Fatal("tracing off")
		}
		req, _ := http.NewRequest("GET", "http://x/", nil)
		req.Header.Set("Traceparent", "client")
		req.Header.Set("Tracestate", "k=v")
		treq, span := StartRequest(req, "svc", "n1", 2, "random")
		sc := span.SpanContext()
		want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
		if got := treq.Header.Get("Traceparent"); got != want {
			t.Errorf("Traceparent %q, want %q", got, want)
		}
		if got := treq.Header.Get("Tracestate"); got != "" {
			t.Errorf("the client's Tracestate %q stayed beside the gateway's traceparent", got)
		}
		EndRequest(span, &http.Response{StatusCode: 200}, nil)
		if err := shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if Enabled() {
			t.Error("tracing still on after shutdown")
		}
		var exported struct {
			Name       string
			Attributes []struct {
				Key   string
				Value struct{ Value any }
			}
		}
		if err := json.Unmarshal(out.Bytes(), &exported); err != nil {
			t.Fatalf("stdout %q: %v", out.String(), err)
		}
		attrs := map[string]any{}
		for _, a := range exported.Attributes {
			attrs[a.Key] = a.Value.Value
		}
		if exported.Name != "proxy svc" || attrs["microlb.node.id"] != "n1" || attrs["microlb.attempt"] != float64(2) || attrs["microlb.strategy"] != "random" {
			t.Errorf("exported %q %v, want proxy svc with node n1, attempt 2, strategy random", exported.Name, attrs)
		}
	})
}

func TestMetadata(t *testing.T) {
	md := map[string]string{"Traceparent": "client", "Tracestate": "k=v", "X-Request-Id": "r1"}
	got := Metadata(context.Background(), md)
	if len(got) != 1 || got["X-Request-Id"] != "r1" {
		t.Errorf("Metadata without tracing on = %v, want only X-Request-Id", got)
	}
	if md["Traceparent"] != "client" {
		t.Error("Metadata changed its argument")
	}
}
