// Package reqinfo is the state of one request that the layers of the
// gateway's onion and its dispatching handler share: the Info, and the
// response Writer it carries.
//
// Who creates it, and who sets which field (every other layer only reads):
//
//	New, NewContext   the request_id layer (middleware.RequestID), the outermost:
//	                  it creates the Info and its Writer, sets RequestID,
//	                  ClientIP and Start, and puts the Info in the context
//	Route, Service    the route layer; dispatch sets Service again once the
//	                  service a path names was looked up
//	Endpoint          the dispatching handler (the RPC endpoint, or the
//	                  upstream path of a proxied request)
//	Principal, Scopes the auth layer
//	SetNode           each upstream attempt, possibly concurrently
//	a Slot            the dispatching handler, for its own state (the proxy's
//	                  attempt), once, before it starts goroutines
//	the Writer        written by whichever layer answers; claimed, settled
//	                  and given a status by the timeout layer only
//
// A layer that finds no Info, or no Route in it, must not guess; one that
// guards something (auth, rate limits) refuses the request.
package reqinfo

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/microlb/microlb/api-gateway/route"
)

// Info is the per-request state the layers share: who asked, which route
// and service answered, through which node, and the response writer.
type Info struct {
	RequestID string
	ClientIP  string
	Start     time.Time
	// Writer is the request's response writer (status and bytes written).
	Writer *Writer

	Route   *route.Route
	Service string
	// Endpoint is the RPC endpoint, or the upstream path of a proxy.
	Endpoint string

	Principal string   // API key name or JWT subject
	Scopes    []string // granted scopes

	node     atomic.Pointer[string] // last node tried; set by attempts, possibly concurrently
	attempts atomic.Int32
	slot     any // the dispatching handler's own state; see Slot
}

// New returns the Info of a request answered through rw, with its Writer
// (writeTimeout is the server's WriteTimeout, 0: none) and Start set: one
// allocation for both, which live and die together.
func New(rw http.ResponseWriter, writeTimeout time.Duration) *Info {
	iw := &struct {
		info Info
		w    Writer
	}{}
	iw.w.init(rw, writeTimeout)
	iw.info.Writer, iw.info.Start = &iw.w, time.Now()
	return &iw.info
}

// SetNode records an attempt on node (id or address).
func (i *Info) SetNode(node string) {
	i.node.Store(&node)
	i.attempts.Add(1)
}

// Node returns the last node tried, or "".
func (i *Info) Node() string {
	if p := i.node.Load(); p != nil {
		return *p
	}
	return ""
}

// Attempts returns how many upstream attempts were made.
func (i *Info) Attempts() int { return int(i.attempts.Load()) }

// RouteName returns the route's name, or "" before routing.
func (i *Info) RouteName() string {
	if i.Route == nil {
		return ""
	}
	return i.Route.Name
}

type infoKey struct{}

// NewContext returns ctx carrying info.
func NewContext(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// FromContext returns the request's Info, or nil outside the chain.
func FromContext(ctx context.Context) *Info {
	i, _ := ctx.Value(infoKey{}).(*Info)
	return i
}

// RouteOf returns the request's route; nil before the route layer.
func RouteOf(r *http.Request) *route.Route {
	if info := FromContext(r.Context()); info != nil {
		return info.Route
	}
	return nil
}

// Slot is the place in a request's Info where the handler that dispatches
// the request keeps its own state, of type T. That handler declares the one
// Slot of its unexported T, so no other package can read or replace what it
// keeps; its helpers (the reverse proxy's Rewrite, transport and error
// handler) find the state through the context the request already carries,
// with no context value and no request copy of their own. A request has one
// slot: it is set once, before the handler starts goroutines.
type Slot[T any] struct{}

// Set keeps v in info's slot and reports whether it did: not when info is
// nil or its slot is taken.
func (Slot[T]) Set(info *Info, v *T) bool {
	if info == nil || info.slot != nil {
		return false
	}
	info.slot = v
	return true
}

// Get returns what Set kept in info's slot, or nil when info is nil or its
// slot holds no *T.
func (Slot[T]) Get(info *Info) *T {
	if info == nil {
		return nil
	}
	v, _ := info.slot.(*T)
	return v
}
