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
// after every attempt. A Mark for a service not selected yet loads it from the
// registry first (as Select would), so that a health checker's early marks
// count; a service the registry does not know is ignored. Failures (see IsFailure) are transport errors
// (refused, reset, EOF), attempts that timed out whichever context expired
// (a 408, context.DeadlineExceeded, ErrAttemptTimeout) and errors with a code
// of 500 or more, such as the go-micro client's own connection errors; an
// application error (a go-micro error below 500) and a caller's own
// cancellation (context.Canceled, or a 408 whose detail is "context canceled")
// are not. After the failure threshold of consecutive failures
// (WithFailureThreshold) the node is ejected for base × times ejected, capped
// (WithEjection), as Envoy's outlier detection does; a success resets the
// count. Ejected nodes are skipped by every strategy unless fewer than half of
// the service's nodes are healthy (healthy × 2 < nodes: the panic threshold,
// as Envoy's), in which case ejection is ignored for the service. With 2 nodes
// and 1 ejected, the healthy node takes all the traffic.
func (s *Selector) Mark(service string, node *registry.Node, err error) {
	if node == nil {
		return
	}
	svc, lerr := s.service(service) // a Mark before the first Select loads the service
	if lerr != nil {
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
	svc.noteEjection(now.Add(d))
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

// ErrAttemptTimeout is the canonical error of an attempt that did not answer
// in time, for callers that run their own per-attempt deadline (such as a
// gateway's per-try timeout) and report it with Mark: a go-micro 408 from
// "go.micro.client" with detail "attempt timed out". IsFailure counts it.
// Treat it as read-only.
var ErrAttemptTimeout = &merrors.Error{
	Id:     "go.micro.client",
	Code:   408,
	Detail: "attempt timed out",
	Status: "Request Timeout",
}

// IsFailure reports whether err from an attempt counts against the node's
// health; see Mark. In order:
//   - nil and context.Canceled (plain or wrapped) never count;
//   - context.DeadlineExceeded (plain or wrapped), and any error whose text
//     says "deadline exceeded", counts: the node did not answer in time,
//     whichever context expired;
//   - a go-micro error (typed or as its JSON text) with code 408 counts unless
//     its detail says "context canceled" (the caller left: go-micro's client
//     reports a cancelled context as a 408 with ctx.Err() as detail);
//   - a go-micro error with a code of 500 or more counts, one below 500 does
//     not (an application error);
//   - anything else is a transport error and counts, unless its text says
//     "context canceled".
func IsFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var me *merrors.Error
	if !errors.As(err, &me) || me == nil {
		me = merrors.Parse(err.Error())
	}
	if strings.Contains(me.Detail, "deadline exceeded") {
		return true
	}
	switch {
	case me.Code == 408:
		return !strings.Contains(me.Detail, context.Canceled.Error())
	case me.Code >= 500:
		return true
	case me.Code > 0:
		return false
	}
	return !strings.Contains(me.Detail, context.Canceled.Error())
}

// Reset clears the health state of every node of service: failure counts,
// ejections and their multipliers.
func (s *Selector) Reset(service string) {
	svc := s.lookup(service)
	if svc == nil {
		return
	}
	svc.ejectHorizon.Store(0)
	for _, st := range svc.snap.Load().nodes {
		st.failures.Store(0)
		st.ejections.Store(0)
		st.ejectedUntil.Store(0)
		st.lastEjectEnd.Store(0)
	}
}
