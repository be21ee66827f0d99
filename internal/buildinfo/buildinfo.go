// Package buildinfo says what a binary was built from, for --version: the
// main module's version, the commit and the go-micro version, read from the
// build information the Go toolchain embeds (runtime/debug.ReadBuildInfo).
//
// `go build` in a git checkout stamps the commit (vcs.revision) and whether
// the tree had changes (vcs.modified), unless -buildvcs=false (or a git
// worktree) keeps it from doing so; since Go 1.24 it also derives the main
// module's version from the commit. The linker can set each of them, as
// `make build` does for the commit:
//
//	go build -ldflags "-X github.com/microlb/microlb/internal/buildinfo.version=v1.0.0
//	  -X github.com/microlb/microlb/internal/buildinfo.commit=$(git rev-parse HEAD)
//	  -X github.com/microlb/microlb/internal/buildinfo.modified=true" ./api-gateway
package buildinfo

import (
	"fmt"
	"runtime/debug"
)

// GoMicro is the module path of go-micro v4.
const GoMicro = "go-micro.dev/v4"

// version, commit and modified, when set with -ldflags -X, replace the main
// module's version, vcs.revision and vcs.modified ("true" or "false").
var version, commit, modified string

// Stamp is what the linker set: a non-empty field replaces what the build
// information says.
type Stamp struct {
	Version, Commit, Modified string
}

// Info is what a binary was built from. A field the build did not record is
// "unknown".
type Info struct {
	Version  string // main module version, or the -X version
	Commit   string // vcs.revision
	Modified bool   // vcs.modified: the tree had uncommitted changes
	GoMicro  string // version of go-micro.dev/v4 linked in
	Go       string // Go toolchain version
}

// Read returns the running binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return From(bi, Stamp{Version: version, Commit: commit, Modified: modified})
}

// From builds the Info of bi (nil: nothing recorded), overridden by the
// non-empty fields of st.
func From(bi *debug.BuildInfo, st Stamp) Info {
	i := Info{Version: "unknown", Commit: "unknown", GoMicro: "unknown", Go: "unknown"}
	if bi != nil {
		if v := bi.Main.Version; v != "" {
			i.Version = v
		}
		if bi.GoVersion != "" {
			i.Go = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if s.Value != "" {
					i.Commit = s.Value
				}
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
		for _, d := range bi.Deps {
			if d.Path != GoMicro {
				continue
			}
			if d.Replace != nil {
				d = d.Replace
			}
			if d.Version != "" {
				i.GoMicro = d.Version
			}
		}
	}
	if st.Version != "" {
		i.Version = st.Version
	}
	if st.Commit != "" {
		i.Commit = st.Commit
	}
	if st.Modified != "" {
		i.Modified = st.Modified == "true"
	}
	return i
}

// Line is the --version output of the binary called name, one line:
//
//	api-gateway v1.0.0 commit 5d1fb4a1b2c3 (modified) go-micro v4.11.0 go1.26.8
func (i Info) Line(name string) string {
	commit := i.Commit
	if i.Modified {
		commit += " (modified)"
	}
	return fmt.Sprintf("%s %s commit %s go-micro %s %s", name, i.Version, commit, i.GoMicro, i.Go)
}

// Requested reports whether args, a command line without the program name,
// asks for the version: -version or --version before any "--".
func Requested(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-version", "--version":
			return true
		}
	}
	return false
}
