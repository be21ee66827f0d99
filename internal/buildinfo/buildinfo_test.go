package buildinfo

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"testing"
)

func TestFrom(t *testing.T) {
	full := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/microlb/microlb", Version: "v0.0.0-20261128010203-5d1fb4a1b2c3+dirty"},
		Deps: []*debug.Module{
			{Path: "github.com/cespare/xxhash/v2", Version: "v2.3.0"},
			{Path: GoMicro, Version: "v4.11.0"},
		},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "5d1fb4a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	replaced := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/microlb/microlb", Version: "(devel)"},
		Deps: []*debug.Module{{Path: GoMicro, Version: "v4.11.0", Replace: &debug.Module{Path: "../go-micro", Version: "v4.11.1"}}},
	}
	tests := []struct {
		name  string
		bi    *debug.BuildInfo
		stamp Stamp
		want  Info
	}{
		{"nothing recorded", nil, Stamp{}, Info{Version: "unknown", Commit: "unknown", GoMicro: "unknown", Go: "unknown"}},
		{"full", full, Stamp{}, Info{Version: "v0.0.0-20261128010203-5d1fb4a1b2c3+dirty", Commit: "5d1fb4a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7", Modified: true, GoMicro: "v4.11.0", Go: "go1.26.8"}},
		{"version stamped", full, Stamp{Version: "v1.2.3"}, Info{Version: "v1.2.3", Commit: "5d1fb4a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7", Modified: true, GoMicro: "v4.11.0", Go: "go1.26.8"}},
		{"all stamped", full, Stamp{Version: "v1.2.3", Commit: "abc", Modified: "false"}, Info{Version: "v1.2.3", Commit: "abc", GoMicro: "v4.11.0", Go: "go1.26.8"}},
		{"no vcs, commit stamped", replaced, Stamp{Commit: "abc", Modified: "true"}, Info{Version: "(devel)", Commit: "abc", Modified: true, GoMicro: "v4.11.1", Go: "unknown"}},
		{"replaced go-micro", replaced, Stamp{}, Info{Version: "(devel)", Commit: "unknown", GoMicro: "v4.11.1", Go: "unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := From(tt.bi, tt.stamp); got != tt.want {
				t.Fatalf("From = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		name string
		in   Info
		want string
	}{
		{"clean", Info{Version: "v1.0.0", Commit: "abc", GoMicro: "v4.11.0", Go: "go1.26.8"}, "consumer v1.0.0 commit abc go-micro v4.11.0 go1.26.8"},
		{"modified", Info{Version: "v1.0.0", Commit: "abc", Modified: true, GoMicro: "v4.11.0", Go: "go1.26.8"}, "consumer v1.0.0 commit abc (modified) go-micro v4.11.0 go1.26.8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Line("consumer"); got != tt.want {
				t.Fatalf("Line = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequested(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want bool
	}{
		{"none", nil, false},
		{"double dash", []string{"--version"}, true},
		{"single dash", []string{"-version"}, true},
		{"among flags", []string{"--registry", "consul", "--version"}, true},
		{"after --", []string{"--", "--version"}, false},
		{"other flag", []string{"--versions"}, false},
		{"-v is not it", []string{"-v"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Requested(tt.args); got != tt.want {
				t.Fatalf("Requested(%q) = %v, want %v", tt.args, got, tt.want)
			}
		})
	}
}

// TestBinariesPrintVersion builds the three binaries with the -X flags
// `make build` uses and checks that each answers --version with its name,
// the stamped version and commit, and the go-micro it links.
func TestBinariesPrintVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", dir+"/",
		"-ldflags", "-X github.com/microlb/microlb/internal/buildinfo.version=v9.8.7"+
			" -X github.com/microlb/microlb/internal/buildinfo.commit=0123456789abcdef0123456789abcdef01234567"+
			" -X github.com/microlb/microlb/internal/buildinfo.modified=true",
		"./api-gateway", "./services/producer", "./services/consumer")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, name := range []string{"api-gateway", "producer", "consumer"} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(dir, name), "--version")
			var stderr []byte
			out, err := cmd.Output()
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			if err != nil {
				t.Fatalf("%s --version: %v\n%s", name, err, stderr)
			}
			re := regexp.MustCompile(`^` + name + ` v9\.8\.7 commit 0123456789abcdef0123456789abcdef01234567 \(modified\) go-micro v4\.11\.0 go\S+\n$`)
			if !re.Match(out) {
				t.Fatalf("%s --version printed %q, want a match of %s", name, out, re)
			}
		})
	}
}
