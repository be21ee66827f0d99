package testutil

import (
	"os"
	"testing"
)

// WriteFile writes data to path through a temporary file renamed over it,
// as a deployment tool does, so that a watcher never reads half a file. It
// fails t on any error.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
