package loadresult

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	out := `{"strategy":"weighted","requests":7,"errors":1,"nodes":{"a":5,"b":1},"p50_ms":0.5,"p99_ms":2.25}
{"strategy":"hash","requests":2,"errors":0,"nodes":{"a":2},"p50_ms":1,"p99_ms":1,"keys":{"k":"a"}}
`
	want := []Result{
		{Strategy: "weighted", Requests: 7, Errors: 1, Nodes: map[string]int{"a": 5, "b": 1}, P50: 0.5, P99: 2.25},
		{Strategy: "hash", Requests: 2, Nodes: map[string]int{"a": 2}, P50: 1, P99: 1, Keys: map[string]string{"k": "a"}},
	}
	got, err := Parse(out)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"", "not json", out + "{"} {
		if _, err := Parse(bad); err == nil || !strings.HasPrefix(err.Error(), "line ") {
			t.Errorf("Parse(%q) error = %v, want a line error", bad, err)
		}
	}
}
