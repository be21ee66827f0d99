// Package upstream is the one place that decides what an HTTP client is
// told when the gateway got no answer from a service: which status, and
// which detail. The proxy, the RPC handler and dispatch all ask it, so that
// "503 or 404?" and the text of a 504 cannot drift apart (Caddy's shape: one
// statusError that every path asks).
//
// The rules:
//
//	unknown service (the registry never had it)            404
//	known service (route names it, or was watched) no node 503
//	nodes, but none healthy                                503
//	registry down and the service never seen               503
//	connection refused, reset or otherwise broken          502
//	timed out                                              504
package upstream

import (
	"errors"
	"net/http"
	"time"

	merrors "go-micro.dev/v4/errors"
	gselector "go-micro.dev/v4/selector"

	"github.com/microlb/microlb/api-gateway/apierr"
)

// Missing is the answer for a service the registry has no node of. A known
// service (the route names it, or the selector watched it before) has lost
// its nodes and is unavailable: 503. Any other is unknown: 404.
func Missing(service string, known bool) *merrors.Error {
	if known {
		return apierr.New(http.StatusServiceUnavailable, "service "+service+" has no registered node")
	}
	return apierr.New(http.StatusNotFound, "unknown service "+service)
}

// NoHealthyNode is the answer for a service whose nodes are all unusable: 503.
func NoHealthyNode(service string) *merrors.Error {
	return apierr.New(http.StatusServiceUnavailable, "no healthy node for service "+service)
}

// RegistryDown is the answer for a service the gateway never saw while the
// registry cannot be asked: it cannot tell what the service is, so 503
// rather than a guess.
func RegistryDown(service string) *merrors.Error {
	return apierr.New(http.StatusServiceUnavailable, "registry unavailable: service "+service+" cannot be looked up")
}

// SelectError is the answer for an error of the selector's Select or of its
// Next: ErrNotFound is Missing, anything else NoHealthyNode.
func SelectError(service string, err error, known bool) *merrors.Error {
	if errors.Is(err, gselector.ErrNotFound) {
		return Missing(service, known)
	}
	return NoHealthyNode(service)
}

// Timeout is the answer for an upstream that did not answer in time: 504.
// With the route's timeout limit (> 0) the detail names it, as the Timeout
// layer's own answer does; without one it names the service.
func Timeout(service string, limit time.Duration) *merrors.Error {
	if limit > 0 {
		return apierr.New(http.StatusGatewayTimeout, "upstream did not answer within "+limit.String())
	}
	return apierr.New(http.StatusGatewayTimeout, "upstream "+service+" timed out")
}

// Refused is the answer for a connection the node refused: 502.
func Refused(service string) *merrors.Error {
	return apierr.New(http.StatusBadGateway, "upstream "+service+" refused the connection")
}

// Reset is the answer for a connection the node closed during the call: 502.
func Reset(service string) *merrors.Error {
	return apierr.New(http.StatusBadGateway, "upstream "+service+" reset the connection")
}

// Failed is the answer for any other broken call: 502, with the cause
// appended to the detail when there is one.
func Failed(service, cause string) *merrors.Error {
	if cause == "" {
		return apierr.New(http.StatusBadGateway, "upstream "+service+" failed")
	}
	return apierr.New(http.StatusBadGateway, "upstream "+service+" failed: "+cause)
}
