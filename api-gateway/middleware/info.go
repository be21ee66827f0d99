// Package middleware holds the layers of the gateway's onion. Each layer is
// a func(http.Handler) http.Handler; the gateway package composes them in
// one ordered chain (see gateway.Chain). The layers share one *Info per
// request, created by RequestID, the outermost layer.
package middleware

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/microlb/microlb/api-gateway/apierr"
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

	// Set by the routing layer.
	Route   *route.Route
	Service string
	// Endpoint is the RPC endpoint, or the upstream path of a proxy.
	Endpoint string

	// Set by the auth layer.
	Principal string   // API key name or JWT subject
	Scopes    []string // granted scopes

	// Upstream is the dispatching handler's own state for the request (the
	// proxy's attempt), found through the context the request already
	// carries instead of another context value and request copy.
	Upstream any

	node     atomic.Pointer[string] // last node tried; set by attempts, possibly concurrently
	attempts atomic.Int32
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

// WithInfo returns ctx carrying info.
func WithInfo(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// InfoFrom returns the request's Info, or nil outside the chain.
func InfoFrom(ctx context.Context) *Info {
	i, _ := ctx.Value(infoKey{}).(*Info)
	return i
}

// guard makes a layer that guards something (auth, rate limits): serve
// gets the request's Info. Without route information the request is
// refused with a 500 and serve never runs: such a layer fails closed,
// never waving the request through.
func guard(serve func(w http.ResponseWriter, r *http.Request, next http.Handler, info *Info)) func(http.Handler) http.Handler {
	return layer(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		info := InfoFrom(r.Context())
		if info == nil || info.Route == nil {
			apierr.Write(w, http.StatusInternalServerError, "no route information; the request is refused")
			return
		}
		serve(w, r, next, info)
	})
}

// layer makes a layer of the onion from serve, which handles a request
// given the next handler.
func layer(serve func(w http.ResponseWriter, r *http.Request, next http.Handler)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(w, r, next) })
	}
}
