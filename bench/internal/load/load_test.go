package load

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestFindPicks(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		node   string
		want   int64
		wantOK bool
	}{
		{
			name:   "microlb admin: picks per strategy, by id",
			doc:    `{"services":[{"name":"greeter","nodes":[{"id":"a","address":"127.0.0.1:1","picks":{"roundrobin":7,"random":1}},{"id":"b","address":"127.0.0.1:2","picks":{"roundrobin":9}}]}]}`,
			node:   "b",
			want:   9,
			wantOK: true,
		},
		{
			name:   "by address",
			doc:    `{"services":[{"nodes":[{"id":"a","address":"127.0.0.1:1","picks":{"roundrobin":7,"random":1}}]}]}`,
			node:   "127.0.0.1:1",
			want:   8,
			wantOK: true,
		},
		{
			name:   "a plain number",
			doc:    `[{"node":"x","pick_count":12}]`,
			node:   "x",
			want:   12,
			wantOK: true,
		},
		{
			name:   "nested counters",
			doc:    `{"nodes":[{"id":"x","stats":{"picks":3}}]}`,
			node:   "x",
			want:   3,
			wantOK: true,
		},
		{
			name:   "service name does not count as the node",
			doc:    `{"name":"x","picks":5,"nodes":[]}`,
			node:   "y",
			wantOK: false,
		},
		{
			name:   "node without counters",
			doc:    `{"nodes":[{"id":"x","health":"ejected"}]}`,
			node:   "x",
			wantOK: false,
		},
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
	if before.Requests != 2 || before.Errors != 0 || before.Nodes["a"] != 1 || before.Nodes["b"] != 1 || before.P99 != ms(30) || before.P50 != ms(10) {
		t.Fatalf("before = %+v", before)
	}
	after := Summarise(rs, ms(100), ms(1000))
	if after.Requests != 3 || after.Errors != 2 || after.ErrorKinds["HTTP 502"] != 1 ||
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
	if s.Requests != int64(len(recs)) || s.Errors == 0 || s.ErrorKinds["HTTP 502"] != s.Errors || len(s.Nodes) != 2 {
		t.Fatalf("summary = %+v", s)
	}
}
