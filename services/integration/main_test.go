package integration_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/microlb/microlb/internal/consultest"
)

// bins are the binaries under test, built by TestMain.
var bins struct {
	producer, consumer string
}

// TestMain builds bin/producer and bin/consumer into a temporary directory,
// so that the tests run the current code without `make build`, then runs the
// tests. With MICROLB_SKIP_INTEGRATION=1 it builds nothing and every test
// skips (consultest.Start does the skipping).
func TestMain(m *testing.M) {
	if os.Getenv(consultest.EnvSkip) == "1" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "microlb-services-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles the two services into dir.
func build(dir string) error {
	gobin := "go"
	if p := filepath.Join(os.Getenv("GOROOT"), "bin", "go"); os.Getenv("GOROOT") != "" {
		gobin = p
	}
	cmd := exec.Command(gobin, "build", "-o", dir+string(filepath.Separator),
		"github.com/microlb/microlb/services/producer",
		"github.com/microlb/microlb/services/consumer")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the services: %v\n%s", err, out)
	}
	bins.producer = filepath.Join(dir, "producer")
	bins.consumer = filepath.Join(dir, "consumer")
	return nil
}
