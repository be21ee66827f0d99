// Package consultest starts real Consul agents for tests: a single dev agent
// (Start) or a small server cluster (StartCluster), each on free loopback
// ports with its own temporary data directory. It never mocks Consul and never
// skips silently: if no consul binary is found the test fails, unless
// MICROLB_SKIP_INTEGRATION=1 is set (used by `make unit`).
package consultest

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// modulePath is the main module's path, used to find the repository root.
const modulePath = "github.com/microlb/microlb"

// EnvBinary names the environment variable that points at the consul binary.
const EnvBinary = "MICROLB_CONSUL"

// EnvSkip names the environment variable that, when set to 1, makes Start and
// StartCluster skip the test.
const EnvSkip = "MICROLB_SKIP_INTEGRATION"

// Binary returns the path of the consul binary to run: $MICROLB_CONSUL if set
// and present, else <repo root>/bin/consul, else consul on PATH. It fails the
// test if none is found.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBinary); p != "" {
		if isFile(p) {
			return p
		}
		t.Logf("consultest: $%s=%q does not exist, looking elsewhere", EnvBinary, p)
	}
	if root := repoRoot(); root != "" {
		if p := filepath.Join(root, "bin", "consul"); isFile(p) {
			return p
		}
	}
	if p, err := exec.LookPath("consul"); err == nil {
		return p
	}
	t.Fatalf("consul binary not found: run `make consul` (builds bin/consul), " +
		"put consul >= 1.13 on PATH, or set " + EnvBinary + " to its path")
	return ""
}

func skipIfRequested(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvSkip) == "1" {
		t.Skip(EnvSkip + "=1")
	}
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// repoRoot walks up from the working directory to the directory whose go.mod
// declares modulePath. It returns "" if there is none.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if goModModule(filepath.Join(dir, "go.mod")) == modulePath {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// goModModule returns the module path declared in the go.mod file at p.
func goModModule(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "module" {
			return strings.Trim(fields[1], "\"`")
		}
	}
	return ""
}

var (
	versionRE    = regexp.MustCompile(`Consul v(\d+)\.(\d+)`)
	versionCache sync.Map // binary path -> [2]int{major, minor}
)

// version returns the major and minor version reported by `bin version`, or
// 0, 0 if it cannot be parsed.
func version(bin string) (major, minor int) {
	if v, ok := versionCache.Load(bin); ok {
		mm := v.([2]int)
		return mm[0], mm[1]
	}
	out, _ := exec.Command(bin, "version").Output()
	if m := versionRE.FindStringSubmatch(string(out)); m != nil {
		major, _ = strconv.Atoi(m[1])
		minor, _ = strconv.Atoi(m[2])
	}
	versionCache.Store(bin, [2]int{major, minor})
	return major, minor
}

// versionFlags returns flags that depend on the consul version: from 1.14 on,
// dev mode also listens on a fixed gRPC TLS port (8503), which is disabled so
// that agents can run side by side.
func versionFlags(bin string) []string {
	major, minor := version(bin)
	if major > 1 || (major == 1 && minor >= 14) {
		return []string{"-grpc-tls-port=-1"}
	}
	return nil
}
