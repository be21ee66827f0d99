package selector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
)

// Mark records the outcome of one attempt on node; go-micro's client calls it
// after every attempt. Failures are transport errors (refused, reset, EOF),
// timeouts (408) and errors with a code of 500 or more, such as the go-micro
// client's own connection errors; an application error (a go-micro error
// below 500) and a caller's own cancellation are not. After the failure
// threshold of consecutive failures (WithFailureThreshold) the node is
// ejected for base × times ejected, capped (WithEjection), as Envoy's outlier
// detection does; a success resets the count. Ejected nodes are skipped by
// every strategy unless at least half of the service's nodes are ejected
// (the panic threshold), in which case ejection is ignored for the service.
func (s *Selector) Mark(service string, node *registry.Node, err error) {
	if node == nil {
		return
	}
	svc := s.lookup(service)
	if svc == nil {
		return
	}
	snap := svc.snap.Load()
	i, ok := snap.byID[node.Id]
	if !ok {
		return
	}
	st := snap.nodes[i]
	cfg := s.cfg.Load()
	if !IsFailure(err) {
		st.failures.Store(0)
		if until := st.ejectedUntil.Load(); until != 0 && until <= cfg.now().UnixNano() && st.ejectedUntil.CompareAndSwap(until, 0) {
			svc.events.add(cfg.now(), EventRecovered, st.id, "back in rotation")
		}
		return
	}
	if st.failures.Add(1) < cfg.failures {
		return
	}
	now := cfg.now()
	if until := st.ejectedUntil.Load(); until > now.UnixNano() {
		return // already ejected
	}
	st.failures.Store(0)
	d := st.ejectionTime(cfg, now)
	st.ejectedUntil.Store(now.Add(d).UnixNano())
	svc.events.add(now, EventEjected, st.id, fmt.Sprintf("ejected for %s after %d consecutive failures", d, cfg.failures))
}

// ejectionTime computes the next ejection's length: base × the ejection
// multiplier, which grows by one per ejection and shrinks by one for every
// base period the node stayed in rotation since its last ejection ended.
func (st *nodeState) ejectionTime(cfg *config, now time.Time) time.Duration {
	m := st.ejections.Load()
	if end := st.lastEjectEnd.Load(); end > 0 && m > 0 {
		healthy := now.Sub(time.Unix(0, end))
		m = max(0, m-int32(healthy/cfg.ejectBase))
	}
	m++
	d := min(cfg.ejectBase*time.Duration(m), cfg.ejectMax)
	st.ejections.Store(m)
	st.lastEjectEnd.Store(now.Add(d).UnixNano())
	return d
}

// IsFailure reports whether err from a call counts against the node's
// health; see Mark.
func IsFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var me *merrors.Error
	if !errors.As(err, &me) {
		me = merrors.Parse(err.Error())
		if me.Code == 0 {
			return true // not a go-micro error: transport
		}
	}
	switch {
	case me.Code == 408:
		return !strings.Contains(me.Detail, context.Canceled.Error())
	case me.Code >= 500:
		return true
	case me.Code > 0:
		return false
	}
	return true
}

// Reset clears the health state of every node of service: failure counts,
// ejections and their multipliers.
func (s *Selector) Reset(service string) {
	svc := s.lookup(service)
	if svc == nil {
		return
	}
	for _, st := range svc.snap.Load().nodes {
		st.failures.Store(0)
		st.ejections.Store(0)
		st.ejectedUntil.Store(0)
		st.lastEjectEnd.Store(0)
	}
}
