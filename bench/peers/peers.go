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

// Params fill a template: the peer's Listen host:port, the gateway's Admin
// host:port, the upstream Backends, the Workers budget (processes, threads
// or GOMAXPROCS), the peer's private Dir (pid, temp files, error log), the
// Consul Registry address and the backends' Service name; Strategy
// (default roundrobin), Timeout and Extra (YAML lines under defaults) tune
// the gateway's RPC route; Root is true when running as root (nginx then
// keeps its workers as root, so they can use Dir).
type Params struct {
	Listen, Admin, Dir, Registry, Service, Strategy, Timeout, Extra string
	Backends                                                        []string
	Workers                                                         int
	Root                                                            bool
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
