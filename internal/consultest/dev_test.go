package consultest

import (
	"slices"
	"strings"
	"testing"
)

func TestDevArgs(t *testing.T) {
	// A path that is no binary: `version` fails, so no version flags.
	args, addr, err := DevArgs("/nonexistent/consul", "/tmp/x", "-log-level=warn")
	if err != nil {
		t.Fatal(err)
	}
	port := strings.TrimPrefix(addr, "127.0.0.1:")
	want := []string{"agent", "-node=dev-" + port, "-bind=127.0.0.1", "-client=127.0.0.1", "-data-dir=/tmp/x/data",
		"-http-port=" + port, "-dns-port=-1", "-dev", "-log-level=warn"}
	for _, w := range want {
		if !slices.Contains(args, w) {
			t.Errorf("args %q lack %q", args, w)
		}
	}
	if n := len(args); args[n-2] != "-dev" || args[n-1] != "-log-level=warn" {
		t.Errorf("args %q do not end with -dev and the extra flags", args)
	}
	if len(args) != 13 {
		t.Errorf("%d args %q, want 13", len(args), args)
	}
}
