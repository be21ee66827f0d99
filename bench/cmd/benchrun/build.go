package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/microlb/microlb/bench/internal/proc"
)

// Binary names.
const (
	binBackend    = "backend"
	binGoMicroAPI = "gomicroapi"
	binGateway    = "api-gateway"
	binProducer   = "producer"
	binStockNode  = "stocknode"
)

// buildAll builds the harness's own binaries (required) and the project's
// gateway and producer (optional: a stage that needs a missing one is
// skipped with the build error as its reason), and checks the tools.
func (h *harness) buildAll() error {
	dir := filepath.Join(h.o.work, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	h.bins, h.missing = map[string]string{}, map[string]string{}
	t0 := time.Now()
	h.logf("building the harness binaries into %s", dir)
	if err := h.goBuild(dir+"/", "./bench/backend", "./bench/gomicroapi", "./bench/stocknode"); err != nil {
		return fmt.Errorf("building the harness: %w", err)
	}
	h.bins[binBackend] = filepath.Join(dir, binBackend)
	h.bins[binGoMicroAPI] = filepath.Join(dir, binGoMicroAPI)
	h.bins[binStockNode] = filepath.Join(dir, binStockNode)
	for name, pkg := range map[string]string{binGateway: "./api-gateway", binProducer: "./services/producer"} {
		out := filepath.Join(dir, name)
		if err := h.goBuild(out, pkg); err != nil {
			h.missing[name] = fmt.Sprintf("%s does not build (%s)", pkg, oneLine(err.Error()))
			h.logf("%s", h.missing[name])
			continue
		}
		h.bins[name] = out
	}
	h.logf("built in %v", time.Since(t0).Round(100*time.Millisecond))
	for name, bin := range map[string]*string{"wrk": &h.o.wrk, "nginx": &h.o.nginx, "haproxy": &h.o.haproxy, "caddy": &h.o.caddy, "consul": &h.o.consul} {
		p, err := exec.LookPath(*bin)
		if err != nil {
			h.missing[name] = fmt.Sprintf("%s not found (%s); scripts/bench.sh installs it", name, *bin)
			h.logf("%s", h.missing[name])
			continue
		}
		*bin = p
		h.bins[name] = p
	}
	return nil
}

// goBuild runs `go build -o out pkgs...` in the repository and returns the
// compiler's first error line on failure.
func (h *harness) goBuild(out string, pkgs ...string) error {
	args := append([]string{"build", "-o", out}, pkgs...)
	name := "go-build-" + strings.ReplaceAll(strings.Trim(pkgs[0], "./"), "/", "-")
	_, err := h.g.Run(h.ctx, proc.Spec{Name: name, Bin: "go", Args: args, Dir: h.o.repo})
	if err != nil {
		_, log, _ := strings.Cut(err.Error(), "\n") // after proc's "name: exit status" line
		if msg := firstError(log); msg != "" {
			return fmt.Errorf("%s", msg)
		}
		return err
	}
	return nil
}

// firstError returns the first line of go build's output that is not a
// "# package" header.
func firstError(out string) string {
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return ""
}

// need returns the path of binary name, or a skip error saying why it is
// missing.
func (h *harness) need(name string) (string, error) {
	if p, ok := h.bins[name]; ok {
		return p, nil
	}
	return "", skip("%s", h.missing[name])
}
