package main

import (
	"errors"
	"io"
	"math"
	"net"
	"testing"
	"time"
)

func TestFaultsFail(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		draws []float64
		want  []bool
	}{
		{name: "rate 0 never fails", rate: 0, draws: []float64{0, 0.5}, want: []bool{false, false}},
		{name: "rate 1 always fails", rate: 1, draws: []float64{0, 0.5, 0.9999999}, want: []bool{true, true, true}},
		{name: "below the rate fails", rate: 0.25, draws: []float64{0.1, 0.24999, 0.25, 0.3}, want: []bool{true, true, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := 0
			f := faults{rate: tt.rate, draw: func() float64 { d := tt.draws[i]; i++; return d }}
			for k, want := range tt.want {
				if got := f.fail(); got != want {
					t.Errorf("call %d (draw %v): fail = %v, want %v", k, tt.draws[k], got, want)
				}
			}
			if tt.rate > 0 && i != len(tt.draws) {
				t.Errorf("drew %d times, want %d (one draw per call)", i, len(tt.draws))
			}
		})
	}
}

// TestFaultsFailShare checks the share over an evenly spread sequence of
// draws: exactly rate × calls fail.
func TestFaultsFailShare(t *testing.T) {
	for _, rate := range []float64{0.1, 0.5, 0.9} {
		i := 0
		f := faults{rate: rate, draw: func() float64 { d := float64(i) / 1000; i++; return d }}
		failed := 0
		for range 1000 {
			if f.fail() {
				failed++
			}
		}
		if want := int(rate * 1000); failed != want {
			t.Errorf("rate %v: %d of 1000 failed, want %d", rate, failed, want)
		}
	}
}

func TestCheckFailRate(t *testing.T) {
	tests := []struct {
		rate    float64
		wantErr bool
	}{
		{0, false}, {0.5, false}, {1, false},
		{-0.1, true}, {1.01, true}, {math.NaN(), true}, {math.Inf(1), true},
	}
	for _, tt := range tests {
		if err := checkFailRate(tt.rate); (err != nil) != tt.wantErr {
			t.Errorf("checkFailRate(%v) = %v, want error %v", tt.rate, err, tt.wantErr)
		}
	}
}

func TestParseFailMode(t *testing.T) {
	for _, mode := range []string{"error", "drop"} {
		if got, err := parseFailMode(mode); err != nil || got != mode {
			t.Errorf("parseFailMode(%q) = %q, %v", mode, got, err)
		}
	}
	if _, err := parseFailMode("explode"); err == nil || err.Error() != `fail_mode "explode": want error or drop` {
		t.Errorf("parseFailMode(explode) error = %v", err)
	}
}

// TestConnTrackerDrop checks that drop closes the server side of exactly the
// connection from the given remote address, so that its client reads EOF
// while another client's connection stays open.
func TestConnTrackerDrop(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := &connTracker{Listener: ln}
	defer tr.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := tr.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		<-accepted
		return c
	}
	a, b := dial(), dial()
	if n := tr.open(); n != 2 {
		t.Fatalf("open = %d, want 2", n)
	}
	if !tr.drop(a.LocalAddr().String()) {
		t.Fatal("drop(a) = false, want true")
	}
	if tr.drop("127.0.0.1:1") {
		t.Fatal("drop(unknown) = true, want false")
	}
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read on dropped connection = %v, want EOF", err)
	}
	b.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := b.Read(make([]byte, 1)); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("read on the other connection = %v, want a timeout", err)
	}
	if n := tr.open(); n != 1 {
		t.Fatalf("open after drop = %d, want 1", n)
	}
}
