package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/microlb/microlb/bench/internal/proc"
	"github.com/microlb/microlb/bench/peers"
)

// backendService is the registry name of the stage-2 backends.
const backendService = "bench-http"

// backendBody starts every backend answer (see bench/backend).
const backendBody = "hello from a microlb bench backend"

// readyTimeout bounds the wait for a started process to answer.
const readyTimeout = 30 * time.Second

// peerDir returns a fresh private directory for one peer.
func (h *harness) peerDir(name string) (string, error) {
	d := filepath.Join(h.o.work, name)
	return d, os.MkdirAll(d, 0o755)
}

// startBackends starts the 3 HTTP backends in one process, registered in
// Consul as service bench-http, and returns their addresses.
func (h *harness) startBackends(registry string) ([]string, error) {
	addrs, err := proc.FreeAddrs(3)
	if err != nil {
		return nil, err
	}
	p, err := h.g.Start(proc.Spec{Name: "backends", Bin: h.bins[binBackend], Env: []string{h.o.gomaxprocs()},
		Args: []string{"--addrs", strings.Join(addrs, ","), "--registry_address", registry, "--service", backendService}})
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if err := proc.WaitReady(h.ctx, p, readyTimeout, "backend "+a, proc.DialCheck(a)); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// proxyReady checks that GET url answers with a backend's body.
func proxyReady(url string) func() error {
	return proc.HTTPCheck(func() (*http.Request, error) { return http.NewRequest(http.MethodGet, url, nil) },
		func(b []byte) error {
			if !bytes.HasPrefix(b, []byte(backendBody)) {
				return fmt.Errorf("GET %s: not a backend's answer: %.100q", url, b)
			}
			return nil
		})
}

// startPeer renders the peer's configuration, starts it in the foreground
// with its own pid, temp and log paths, and waits until a request through it
// reaches a backend. It returns the URL to load.
func (h *harness) startPeer(name string, backends []string) (string, error) {
	dir, err := h.peerDir(name)
	if err != nil {
		return "", err
	}
	addrs, err := proc.FreeAddrs(1)
	if err != nil {
		return "", err
	}
	p := peers.Params{Listen: addrs[0], Backends: backends, Workers: h.o.workers, Dir: dir, Root: os.Geteuid() == 0}
	var spec proc.Spec
	switch name {
	case "nginx":
		conf, err := peers.Write("nginx.conf.tmpl", p)
		if err != nil {
			return "", err
		}
		spec = proc.Spec{Bin: h.o.nginx, Args: []string{"-e", filepath.Join(dir, "nginx-error.log"), "-p", dir, "-c", conf}}
	case "haproxy":
		conf, err := peers.Write("haproxy.cfg.tmpl", p)
		if err != nil {
			return "", err
		}
		spec = proc.Spec{Bin: h.o.haproxy, Args: []string{"-db", "-f", conf}}
	case "caddy":
		conf, err := peers.Write("Caddyfile.tmpl", p)
		if err != nil {
			return "", err
		}
		spec = proc.Spec{Bin: h.o.caddy, Args: []string{"run", "--config", conf, "--adapter", "caddyfile"},
			Env: []string{h.o.gomaxprocs(), "HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}}
	default:
		return "", fmt.Errorf("unknown peer %q", name)
	}
	spec.Name, spec.Dir = name, dir
	pr, err := h.g.Start(spec)
	if err != nil {
		return "", err
	}
	url := "http://" + addrs[0] + "/"
	return url, proc.WaitReady(h.ctx, pr, readyTimeout, name+" proxying to a backend", proxyReady(url))
}

// startGateway starts microlb's api-gateway with the configuration template
// tmpl and returns its public and admin addresses.
func (h *harness) startGateway(tmpl, registry string) (*proc.Proc, string, string, error) {
	bin, err := h.need(binGateway)
	if err != nil {
		return nil, "", "", err
	}
	dir, err := h.peerDir("gateway")
	if err != nil {
		return nil, "", "", err
	}
	addrs, err := proc.FreeAddrs(2)
	if err != nil {
		return nil, "", "", err
	}
	conf, err := peers.Write(tmpl, peers.Params{Listen: addrs[0], Admin: addrs[1], Workers: h.o.workers,
		Dir: dir, Registry: registry, Service: backendService})
	if err != nil {
		return nil, "", "", err
	}
	p, err := h.g.Start(proc.Spec{Name: "api-gateway", Bin: bin, Dir: dir, Env: []string{h.o.gomaxprocs()},
		Args: []string{"--config", conf}})
	if err != nil {
		return nil, "", "", err
	}
	if err := proc.WaitReady(h.ctx, p, readyTimeout, "gateway listening", proc.DialCheck(addrs[0])); err != nil {
		return nil, "", "", err
	}
	return p, addrs[0], addrs[1], nil
}

// waitReady waits up to readyTimeout for check to pass while p runs.
func (h *harness) waitReady(p *proc.Proc, what string, check func() error) error {
	return proc.WaitReady(h.ctx, p, readyTimeout, what, check)
}
