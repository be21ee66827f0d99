package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

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
	_, recs := RunOpen(context.Background(), OpenConfig{Method: "POST", URL: srv.URL, Body: `{}`, ContentType: "application/json",
		Rate: 200, Duration: 500 * time.Millisecond, Timeout: 10 * time.Second})
	if len(recs) != 100 {
		t.Fatalf("sent %d requests, want 100 (200/s for 0.5 s)", len(recs))
	}
	for i, r := range recs {
		if want := time.Duration(i) * 5 * time.Millisecond; r.Start != want {
			t.Fatalf("request %d scheduled at %v, want %v", i, r.Start, want)
		}
	}
	s := SummariseTail(recs)
	if s.Requests != 100 || s.Failed != 10 || s.ErrorKinds["HTTP 502: no"] != 10 || s.Success != 0.9 {
		t.Fatalf("summary = %+v, want 100 requests, 10 failed with HTTP 502: no", s)
	}
}

func TestRunOpenTimeout(t *testing.T) {
	// A server that never answers: every request fails at its timeout,
	// counted from its scheduled start.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	_, recs := RunOpen(context.Background(), OpenConfig{Method: "GET", URL: srv.URL, Rate: 100, Duration: 100 * time.Millisecond,
		Timeout: 50 * time.Millisecond})
	s := SummariseTail(recs)
	if s.Requests != 10 || s.Failed != 10 || s.P50 < 50*time.Millisecond {
		t.Fatalf("summary = %+v, want 10 requests, all failed, none under 50 ms", s)
	}
}

func TestRunOpenDrops(t *testing.T) {
	// A server that never answers in time, with at most 2 in flight:
	// the third and later requests within the timeout are dropped.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	_, recs := RunOpen(context.Background(), OpenConfig{Method: "GET", URL: srv.URL, Rate: 100, Duration: 50 * time.Millisecond,
		Timeout: time.Second, MaxInFlight: 2})
	s := SummariseTail(recs)
	if s.Requests != 5 || s.Failed != 5 || s.ErrorKinds[errDropped] != 3 {
		t.Fatalf("summary = %+v, want 5 requests, 5 failed, 3 dropped", s)
	}
}

func TestSummariseTail(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var rs []Record
	for i := 1; i <= 1000; i++ {
		r := Record{Latency: ms(i), Status: 200, Lag: ms(i % 12)}
		if i > 995 {
			r = Record{Latency: ms(i), Err: "context deadline exceeded"}
		}
		rs = append(rs, r)
	}
	got := SummariseTail(rs)
	want := Tail{Requests: 1000, Failed: 5, Success: 0.995, P50: ms(500), P99: ms(990), P999: ms(999), Max: ms(1000)}
	if got.Requests != want.Requests || got.Failed != want.Failed || got.Success != want.Success ||
		got.P50 != want.P50 || got.P99 != want.P99 || got.P999 != want.P999 || got.Max != want.Max ||
		got.ErrorKinds["context deadline exceeded"] != 5 || got.MaxLag != ms(11) || got.Late != 166 {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if empty := SummariseTail(nil); empty.Requests != 0 || empty.P99 != 0 || empty.Success != 0 {
		t.Fatalf("empty = %+v", empty)
	}
}
