package gateway

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"go-micro.dev/v4/registry"
)

func TestTestCallsErrors(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	startGreeter(t, reg, "a", map[string]string{"weight": "1"})
	g := newTestGateway(t, reg, "")
	tests := []struct {
		name   string
		body   string
		code   int
		detail string
	}{
		{name: "not JSON", body: `{`, code: 400, detail: "test-calls body: unexpected EOF"},
		{name: "unknown field", body: `{"service":"greeter","strategy":"weighted","n":1,"x":1}`, code: 400, detail: `test-calls body: json: unknown field "x"`},
		{name: "bad strategy", body: `{"service":"greeter","strategy":"fastest","n":1}`, code: 400, detail: `unknown strategy "fastest": valid strategies are random, roundrobin, weighted, hash, leastloaded`},
		{name: "n zero", body: `{"service":"greeter","strategy":"weighted","n":0}`, code: 400, detail: "n must be between 1 and 10000"},
		{name: "n too big", body: `{"service":"greeter","strategy":"weighted","n":10001}`, code: 400, detail: "n must be between 1 and 10000"},
		{name: "unknown service", body: `{"service":"nobody","strategy":"weighted","n":1}`, code: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := do(t, "POST", g.admin+"/admin/api/test-calls", tt.body)
			if code != tt.code || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d %q, want %d application/json: %s", code, hdr.Get("Content-Type"), tt.code, body)
			}
			e := microError(t, body)
			if e.Code != int32(tt.code) || (tt.detail != "" && e.Detail != tt.detail) {
				t.Fatalf("error %+v, want code %d detail %q", e, tt.code, tt.detail)
			}
		})
	}
}

func TestTestCallsWeighted(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	a := startGreeter(t, reg, "a", map[string]string{"weight": "5"})
	b := startGreeter(t, reg, "b", map[string]string{"weight": "1"})
	c := startGreeter(t, reg, "c", map[string]string{"weight": "1"})
	g := newTestGateway(t, reg, "")
	code, hdr, body := do(t, "POST", g.admin+"/admin/api/test-calls", `{"service":"greeter","strategy":"weighted","n":700}`)
	if code != 200 || hdr.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d %q: %s", code, hdr.Get("Content-Type"), body)
	}
	var last testCallsProgress
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		lines++
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
	}
	want := map[string]int{a.id: 500, b.id: 100, c.id: 100}
	if !last.Final || last.Done != 700 || last.Errors != 0 || last.Endpoint != "Greeter.Hello" {
		t.Fatalf("last line %+v", last)
	}
	for id, n := range want {
		if last.Counts[id] != n {
			t.Fatalf("counts %v, want %v", last.Counts, want)
		}
	}
}
