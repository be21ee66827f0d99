package wrk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, file string
		want       Result
		errors     int64
	}{
		{
			name: "clean run",
			file: "ok.txt",
			want: Result{Requests: 34404, Duration: time.Second, RPS: 34381.79,
				P50: 171 * time.Microsecond, P75: 281 * time.Microsecond, P90: 880 * time.Microsecond, P99: 3840 * time.Microsecond},
		},
		{
			name: "non-2xx answers",
			file: "non2xx.txt",
			want: Result{Requests: 1333, Duration: time.Second, RPS: 1332.28, Non2xx: 1333,
				P50: 2770 * time.Microsecond, P75: 3320 * time.Microsecond, P90: 3880 * time.Microsecond, P99: 14250 * time.Microsecond},
			errors: 1333,
		},
		{
			name: "socket errors and seconds",
			file: "errors.txt",
			want: Result{Requests: 40512, Duration: 10010 * time.Millisecond, RPS: 4047.15,
				P50: 5100 * time.Microsecond, P75: 7200 * time.Microsecond, P90: 11 * time.Millisecond, P99: 1200 * time.Millisecond,
				Read: 12, Write: 1, Timeout: 3, Non2xx: 7},
			errors: 23,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(string(b))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got != tt.want {
				t.Errorf("Parse =\n %+v\nwant\n %+v", got, tt.want)
			}
			if got.Errors() != tt.errors {
				t.Errorf("Errors() = %d, want %d", got.Errors(), tt.errors)
			}
		})
	}
}

func TestParseRejectsIncompleteOutput(t *testing.T) {
	ok, err := os.ReadFile(filepath.Join("testdata", "ok.txt"))
	if err != nil {
		t.Fatal(err)
	}
	drop := func(prefix string) string {
		var keep []string
		for _, l := range strings.Split(string(ok), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), prefix) {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	tests := []struct {
		name, out, want string
	}{
		{"empty", "", "no Requests/sec"},
		{"connection refused", "unable to connect to 127.0.0.1:1 Connection refused\n", "no Requests/sec"},
		{"no --latency", drop("99%"), "no latency distribution"},
		{"no total", drop("34404 requests"), "requests in"},
		{"bad latency", strings.Replace(string(ok), "171.00us", "171.00xs", 1), "bad wrk duration"},
		{"bad socket errors", string(ok) + "  Socket errors: connect x, read 0, write 0, timeout 0\n", "socket errors"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"171.00us", 171 * time.Microsecond},
		{"0.88ms", 880 * time.Microsecond},
		{"1.04ms", 1040 * time.Microsecond},
		{"10.01s", 10010 * time.Millisecond},
		{"2.00m", 2 * time.Minute},
		{"1.50h", 90 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "12", "ms", "-1ms", "1.2.3s", "5d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded, want an error", bad)
		}
	}
}

func TestLoadArgs(t *testing.T) {
	tests := []struct {
		name string
		load Load
		want []string
	}{
		{
			name: "defaults",
			load: Load{URL: "http://127.0.0.1:1/"},
			want: []string{"-t", "1", "-c", "1", "-d", "1s", "--timeout", "2s", "--latency", "http://127.0.0.1:1/"},
		},
		{
			name: "rounded up, with script",
			load: Load{URL: "http://h/x", Threads: 2, Conns: 64, Duration: 1500 * time.Millisecond, Timeout: 3 * time.Second, Script: "/tmp/post.lua"},
			want: []string{"-t", "2", "-c", "64", "-d", "2s", "--timeout", "3s", "--latency", "-s", "/tmp/post.lua", "http://h/x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.load.Args(); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("Args() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPostScript(t *testing.T) {
	p, err := PostScript(t.TempDir(), `{"name":"bench"}`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = \"{\\\"name\\\":\\\"bench\\\"}\"\n"
	if string(b) != want {
		t.Fatalf("script =\n%s\nwant\n%s", b, want)
	}
}
