package integration_test

import (
	"path/filepath"
	"testing"

	"github.com/microlb/microlb/internal/consultest"
)

// bins are the binaries under test, built by TestMain.
var bins struct {
	producer, consumer string
}

// TestMain builds bin/producer and bin/consumer, then runs the tests (see
// consultest.Main).
func TestMain(m *testing.M) {
	consultest.Main(m, func(dir string) {
		bins.producer = filepath.Join(dir, "producer")
		bins.consumer = filepath.Join(dir, "consumer")
	}, "github.com/microlb/microlb/services/producer", "github.com/microlb/microlb/services/consumer")
}
