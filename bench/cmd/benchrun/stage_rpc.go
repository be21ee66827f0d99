package main

import (
	"fmt"

	"github.com/microlb/microlb/bench/internal/proc"
	"github.com/microlb/microlb/bench/internal/report"
	"github.com/microlb/microlb/bench/internal/wrk"
)

// rpcStage compares the HTTP → RPC route: microlb's gateway against go-micro
// v4's own api (rpc handler), both in front of the same 3 producers on the
// same Consul, in A/B pairs.
func (h *harness) rpcStage(st *report.Stage) error {
	if _, err := h.need(binProducer); err != nil {
		return err
	}
	agent, err := h.consul()
	if err != nil {
		return err
	}
	if _, err := h.startProducers(3, agent.Addr); err != nil {
		return err
	}
	h.logf("3 producers up")
	addrs, err := proc.FreeAddrs(1)
	if err != nil {
		return err
	}
	gm, err := h.g.Start(proc.Spec{Name: "gomicroapi", Bin: h.bins[binGoMicroAPI], Env: []string{h.o.gomaxprocs()},
		Args: []string{"--address", addrs[0], "--registry_address", agent.Addr}})
	if err != nil {
		return err
	}
	base := abTarget{name: report.NameGoMicro, url: "http://" + addrs[0]}
	if _, err := h.waitRPC(gm, base.name, base.url, 3); err != nil {
		return fmt.Errorf("go-micro api: %w", err)
	}
	gw := abTarget{name: report.NameGateway}
	if p, addr, _, err := h.startGateway("gateway-rpc.yaml.tmpl", agent.Addr); err != nil {
		if _, ok := err.(errSkip); !ok {
			return fmt.Errorf("gateway: %w", err)
		}
		gw.skip = err.Error()
		st.Notes = append(st.Notes, "microlb api-gateway skipped: "+gw.skip+"; go-micro api measured alone")
	} else {
		gw.url = "http://" + addr
		if _, err := h.waitRPC(p, gw.name, gw.url, 3); err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
	}
	script, err := wrk.PostScript(h.o.work, rpcBody)
	if err != nil {
		return err
	}
	for _, t := range []*abTarget{&base, &gw} {
		if t.url != "" {
			t.url += rpcPath
		}
	}
	res, err := h.abCompare(base.name, []abTarget{gw, base}, script)
	if err != nil {
		return err
	}
	h.res.RPC = res
	return nil
}
