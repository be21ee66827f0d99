package main

import (
	"fmt"

	"github.com/microlb/microlb/bench/internal/report"
)

// proxyStage compares the HTTP reverse-proxy route: wrk against one backend
// directly (the ceiling), microlb's gateway, nginx, HAProxy and Caddy, each
// round robin over the same 3 backends, in A/B pairs with nginx.
func (h *harness) proxyStage(st *report.Stage) error {
	if _, ok := h.bins["wrk"]; !ok {
		return fmt.Errorf("%s", h.missing["wrk"])
	}
	if _, ok := h.bins["nginx"]; !ok {
		return fmt.Errorf("nginx, the reference, is missing: %s", h.missing["nginx"])
	}
	agent, err := h.consul()
	if err != nil {
		return err
	}
	backends, err := h.startBackends(agent.Addr)
	if err != nil {
		return err
	}
	h.logf("backends on %v, registered as %s", backends, backendService)
	ts := []abTarget{{name: report.NameDirect, url: "http://" + backends[0] + "/"}}
	gw := abTarget{name: report.NameGateway}
	if p, addr, _, err := h.startGateway("gateway-proxy.yaml.tmpl", agent.Addr); err != nil {
		if _, ok := err.(errSkip); !ok {
			return fmt.Errorf("gateway: %w", err)
		}
		gw.skip = err.Error()
	} else {
		gw.url = "http://" + addr + "/"
		if err := h.waitReady(p, "gateway proxying to a backend", proxyReady(gw.url)); err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
	}
	ts = append(ts, gw)
	for _, name := range []string{report.NameNginx, report.NameHAProxy, report.NameCaddy} {
		t := abTarget{name: name}
		if _, ok := h.bins[name]; !ok {
			t.skip = h.missing[name]
		} else if t.url, err = h.startPeer(name, backends); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		ts = append(ts, t)
	}
	for _, t := range ts {
		if t.url == "" {
			st.Notes = append(st.Notes, fmt.Sprintf("%s skipped: %s", t.name, t.skip))
		}
	}
	h.logf("targets up; %d pair(s) of %v each", h.o.reps*(countURLs(ts)-1), h.o.duration)
	res, err := h.abCompare(report.NameNginx, ts, "")
	if err != nil {
		return err
	}
	h.res.Proxy = res
	return nil
}

func countURLs(ts []abTarget) int {
	n := 0
	for _, t := range ts {
		if t.url != "" {
			n++
		}
	}
	return n
}
