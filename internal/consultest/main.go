package consultest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Main is the TestMain of tests that run the project's binaries, so that
// they run the current code without `make build`: it builds the main
// packages pkgs (import paths) into a temporary directory, calls built with
// that directory (the binary of .../producer is dir/producer), runs the
// tests and exits with their status, removing the directory. With
// MICROLB_SKIP_INTEGRATION=1 it builds nothing and runs the tests, which
// skip (Start does the skipping).
func Main(m *testing.M, built func(dir string), pkgs ...string) {
	if os.Getenv(EnvSkip) == "1" {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "microlb-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := build(dir, pkgs); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		built(dir)
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// build runs go build on pkgs with the output in dir, using the go of
// $GOROOT when it is set.
func build(dir string, pkgs []string) error {
	gobin := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		gobin = filepath.Join(root, "bin", "go")
	}
	cmd := exec.Command(gobin, append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}
