package load

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestFindPicks(t *testing.T) {
	const doc = `{"services":[{"name":"greeter","nodes":[{"id":"a","address":"127.0.0.1:1","picks":{"roundrobin":7,"random":1}},` +
		`{"id":"b","address":"127.0.0.1:2","picks":{"roundrobin":9}},{"id":"c","health":"ejected"}]}]}`
	tests := []struct {
		name, doc, node string
		want            int64
		wantOK          bool
	}{
		{name: "picks per strategy, by id", doc: doc, node: "b", want: 9, wantOK: true},
		{name: "by address", doc: doc, node: "127.0.0.1:1", want: 8, wantOK: true},
		{name: "service name does not count as the node", doc: doc, node: "greeter"},
		{name: "node without counters", doc: doc, node: "c"},
		{name: "not JSON", doc: `<html>`, node: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FindPicks([]byte(tt.doc), tt.node)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("FindPicks = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestLastPick(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	samples := []PickSample{{ms(0), 10}, {ms(50), 20}, {ms(100), 25}, {ms(150), 26}, {ms(200), 26}, {ms(250), 26}, {ms(300), 27}, {ms(350), 27}}
	tests := []struct {
		name      string
		from      time.Duration
		last      time.Duration
		picks     int64
		picksSeen bool
	}{
		{"from the start", 0, ms(300), 17, true},
		{"from the kill at 120 ms", ms(120), ms(300), 2, true},
		{"after the last growth", ms(301), 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			last, picks, ok := LastPick(samples, tt.from)
			if last != tt.last || picks != tt.picks || ok != tt.picksSeen {
				t.Fatalf("LastPick = %v, %d, %v; want %v, %d, %v", last, picks, ok, tt.last, tt.picks, tt.picksSeen)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	rs := []Record{
		{Start: ms(0), Latency: ms(10), Status: 200, Node: "a"},
		{Start: ms(5), Latency: ms(100), Status: 502, Err: "HTTP 502"},  // ends at 105
		{Start: ms(20), Latency: ms(30), Status: 200, Node: "b"},        // ends at 50
		{Start: ms(90), Latency: ms(20), Err: "read: connection reset"}, // ends at 110
		{Start: ms(120), Latency: ms(5), Status: 200, Node: "a"},
	}
	before := Summarise(rs, 0, ms(100))
	if before.Requests != 2 || before.Failed != 0 || before.Nodes["a"] != 1 || before.Nodes["b"] != 1 || before.P99 != ms(30) || before.P50 != ms(10) {
		t.Fatalf("before = %+v", before)
	}
	after := Summarise(rs, ms(100), ms(1000))
	if after.Requests != 3 || after.Failed != 2 || after.ErrorKinds["HTTP 502"] != 1 ||
		after.ErrorKinds["read: connection reset"] != 1 || after.Max != ms(100) || after.Nodes["a"] != 1 {
		t.Fatalf("after = %+v", after)
	}
	if empty := Summarise(rs, ms(5000), ms(6000)); empty.Requests != 0 || empty.P99 != 0 {
		t.Fatalf("empty window = %+v", empty)
	}
}

func TestRun(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%5 == 0 {
			http.Error(w, "no", http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, `{"message":"hi","node_id":"n%d"}`, n.Load()%2)
	}))
	defer srv.Close()
	_, recs := Run(context.Background(), Config{Method: "POST", URL: srv.URL, Body: `{}`, ContentType: "application/json",
		Conns: 2, Duration: 100 * time.Millisecond, Timeout: time.Second})
	if len(recs) < 10 {
		t.Fatalf("only %d requests in 100 ms", len(recs))
	}
	s := Summarise(recs, 0, time.Hour)
	if s.Requests != int64(len(recs)) || s.Failed == 0 || s.ErrorKinds["HTTP 502"] != s.Failed || len(s.Nodes) != 2 {
		t.Fatalf("summary = %+v", s)
	}
}

func TestRunOpen(t *testing.T) {
	// Every 10th request is answered 502; the rest 200. The schedule is
	// exact whatever the answers do.
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%10 == 0 {
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte(`{"id":"go.micro.client","code":502,"detail":"no","status":"Bad Gateway"}`))
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	_, recs := RunOpen(context.Background(), Config{Method: "POST", URL: srv.URL, Body: `{}`, ContentType: "application/json",
		Rate: 200, Duration: 500 * time.Millisecond, Timeout: 10 * time.Second})
	if len(recs) != 100 {
		t.Fatalf("sent %d requests, want 100 (200/s for 0.5 s)", len(recs))
	}
	for i, r := range recs {
		if want := time.Duration(i) * 5 * time.Millisecond; r.Start != want {
			t.Fatalf("request %d scheduled at %v, want %v", i, r.Start, want)
		}
	}
	s := Summarise(recs, 0, math.MaxInt64)
	if s.Requests != 100 || s.Failed != 10 || s.ErrorKinds["HTTP 502: no"] != 10 || s.Success != 0.9 {
		t.Fatalf("summary = %+v, want 100 requests, 10 failed with HTTP 502: no", s)
	}
}

func TestRunOpenNoAnswer(t *testing.T) {
	// A server that never answers: every request fails at its timeout,
	// counted from its scheduled start; with at most 2 in flight, the
	// third and later requests within the timeout are dropped.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	tests := []struct {
		name                    string
		duration, timeout       time.Duration
		maxInFlight             int
		wantFailed, wantDropped int64
		wantMinP50              time.Duration
	}{
		{name: "timeout", duration: 100 * time.Millisecond, timeout: 50 * time.Millisecond, wantFailed: 10, wantMinP50: 50 * time.Millisecond},
		{name: "drops", duration: 50 * time.Millisecond, timeout: time.Second, maxInFlight: 2, wantFailed: 5, wantDropped: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, recs := RunOpen(context.Background(), Config{Method: "GET", URL: srv.URL, Rate: 100, Duration: tt.duration,
				Timeout: tt.timeout, MaxInFlight: tt.maxInFlight})
			s := Summarise(recs, 0, math.MaxInt64)
			if s.Requests != tt.wantFailed || s.Failed != tt.wantFailed || s.ErrorKinds[errDropped] != tt.wantDropped || s.P50 < tt.wantMinP50 {
				t.Fatalf("summary = %+v, want %d requests, all failed, %d dropped, p50 ≥ %v", s, tt.wantFailed, tt.wantDropped, tt.wantMinP50)
			}
		})
	}
}

func TestSummariseOpenLoop(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var rs []Record
	for i := 1; i <= 1000; i++ {
		r := Record{Latency: ms(i), Status: 200, Lag: ms(i % 12)}
		if i > 995 {
			r = Record{Latency: ms(i), Err: "context deadline exceeded"}
		}
		rs = append(rs, r)
	}
	got := Summarise(rs, 0, math.MaxInt64)
	want := Summary{Requests: 1000, Failed: 5, Success: 0.995, P50: ms(500), P99: ms(990), P999: ms(999), Max: ms(1000)}
	if got.Requests != want.Requests || got.Failed != want.Failed || got.Success != want.Success ||
		got.P50 != want.P50 || got.P99 != want.P99 || got.P999 != want.P999 || got.Max != want.Max ||
		got.ErrorKinds["context deadline exceeded"] != 5 || got.MaxLag != ms(11) || got.Late != 166 {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if empty := Summarise(nil, 0, math.MaxInt64); empty.Requests != 0 || empty.P99 != 0 || empty.Success != 0 {
		t.Fatalf("empty = %+v", empty)
	}
}
