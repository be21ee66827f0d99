// Package peers holds the configuration templates of the stage-2 peers
// (nginx, HAProxy, Caddy) and of microlb's gateway, and renders them for one
// run. Every peer gets the same worker budget and the same backends.
package peers

import (
	"bytes"
	"embed"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/template"
)

//go:embed *.tmpl
var files embed.FS

var tmpl = template.Must(template.New("").Funcs(template.FuncMap{"join": strings.Join}).ParseFS(files, "*.tmpl"))

// Params fill a template.
type Params struct {
	// Listen is the peer's host:port.
	Listen string
	// Admin is the gateway's admin host:port.
	Admin string
	// Backends are the upstream host:port addresses.
	Backends []string
	// Workers is the worker process, thread or GOMAXPROCS budget.
	Workers int
	// Dir is the peer's private directory (pid, temp files, error log).
	Dir string
	// Registry is the Consul HTTP address, Service the backends' name.
	Registry, Service string
	// Strategy, Timeout and Extra (YAML lines under defaults) tune the
	// gateway's RPC route; Strategy defaults to roundrobin.
	Strategy, Timeout, Extra string
	// Root is true when running as root (nginx then keeps its workers
	// as root, so they can use Dir).
	Root bool
}

// ListenHost is the host part of Listen.
func (p Params) ListenHost() string { h, _, _ := net.SplitHostPort(p.Listen); return h }

// ListenPort is the port part of Listen.
func (p Params) ListenPort() string { _, port, _ := net.SplitHostPort(p.Listen); return port }

// Render executes template name (e.g. "nginx.conf.tmpl") with p.
func Render(name string, p Params) (string, error) {
	var b bytes.Buffer
	err := tmpl.ExecuteTemplate(&b, name, p)
	return b.String(), err
}

// Write renders template name into p.Dir, under the template's name without
// ".tmpl", and returns the file's path.
func Write(name string, p Params) (string, error) {
	s, err := Render(name, p)
	if err != nil {
		return "", err
	}
	path := filepath.Join(p.Dir, strings.TrimSuffix(name, ".tmpl"))
	return path, os.WriteFile(path, []byte(s), 0o644)
}
