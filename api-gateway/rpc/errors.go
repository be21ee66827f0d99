package rpc

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	merrors "go-micro.dev/v4/errors"
	gselector "go-micro.dev/v4/selector"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/upstream"
)

// go-micro's client error ids (go-micro.dev/v4@v4.11.0 client/rpc_client.go
// and rpc_codec.go): errors with these ids come from the gateway's side of
// the call, never from the handler.
const (
	clientID          = "go.micro.client"
	clientTransportID = "go.micro.client.transport"
	clientCodecID     = "go.micro.client.codec"
)

// errClientGone marks a request whose client disconnected: nothing is sent.
var errClientGone = apierr.New(apierr.StatusClientClosed, "client closed the request")

// asMicro returns err as a go-micro error, parsing its text when needed
// (a server error arrives as a string); Code is 0 for a plain error.
func asMicro(err error) *merrors.Error {
	var me *merrors.Error
	if errors.As(err, &me) {
		return me
	}
	return merrors.Parse(err.Error())
}

// failure classes of a call error.
type class int

const (
	classHandler      class = iota // the handler's own error
	classNotFound                  // the registry does not know the service
	classNoNode                    // no node available
	classRefused                   // connecting failed: the request never left
	classReset                     // the connection broke during the call
	classTimeout                   // an attempt timed out
	classNoMethod                  // the service has no such endpoint
	classBadRequest                // the codec refused the request body
	classPlainFailure              // the handler failed without a go-micro error
)

// classify sorts an error of client.Call or client.Stream.
func classify(err error) (class, *merrors.Error) {
	me := asMicro(err)
	d := me.Detail
	switch {
	case me.Id == clientID:
		switch {
		case me.Code == http.StatusRequestTimeout:
			return classTimeout, me
		case strings.HasPrefix(d, "service ") && strings.HasSuffix(d, ": "+gselector.ErrNotFound.Error()):
			return classNotFound, me
		case strings.Contains(d, gselector.ErrNoneAvailable.Error()):
			return classNoNode, me
		case strings.HasPrefix(d, "connection error"):
			if strings.Contains(d, "timeout") {
				return classTimeout, me
			}
			return classRefused, me
		}
		return classReset, me
	case strings.HasPrefix(me.Id, clientID): // transport, codec
		if strings.Contains(d, "timeout") {
			return classTimeout, me
		}
		return classReset, me
	case me.Code == 0:
		switch {
		case strings.HasPrefix(d, "rpc: can't find service"), strings.HasPrefix(d, "rpc: can't find method"),
			strings.HasPrefix(d, "rpc: service/endpoint request ill-formed"):
			return classNoMethod, me
		case isCodecError(d):
			return classBadRequest, me
		}
		return classPlainFailure, me
	}
	return classHandler, me
}

// isCodecError recognizes the decoding errors of go-micro's JSON codec
// (encoding/json for plain structs, jsonpb/protojson for proto messages).
func isCodecError(d string) bool {
	for _, p := range []string{"json: ", "proto:", "proto: ", "unexpected EOF", "invalid character", "bad input", "syntax error"} {
		if strings.HasPrefix(d, p) {
			return true
		}
	}
	return strings.Contains(d, "cannot unmarshal") || strings.Contains(d, "unknown field") || strings.Contains(d, "invalid value for")
}

// toHTTP maps a call error to the error the client gets; the statuses and
// details of the gateway's side come from package upstream. configured is
// true when the route names the service or the selector watched it (a
// missing service is then 503, not 404).
func toHTTP(ctx context.Context, err error, service, endpoint string, configured bool, timeout time.Duration) *merrors.Error {
	timedOut := upstream.Timeout(service, timeout)
	if ctx.Err() != nil {
		if middleware.TimedOut(ctx) {
			return timedOut
		}
		return errClientGone
	}
	if isTooLarge(err) {
		return apierr.New(http.StatusBadGateway, asMicro(err).Detail)
	}
	c, me := classify(err)
	switch c {
	case classNotFound:
		return upstream.Missing(service, configured)
	case classNoNode:
		return upstream.NoHealthyNode(service)
	case classRefused:
		return upstream.Refused(service)
	case classReset:
		return upstream.Failed(service, me.Detail)
	case classTimeout:
		return timedOut
	case classNoMethod:
		return apierr.New(http.StatusNotFound, "unknown endpoint "+endpoint+" on service "+service)
	case classBadRequest:
		return apierr.New(http.StatusBadRequest, "request does not match "+endpoint+": "+me.Detail)
	case classPlainFailure:
		return &merrors.Error{Id: service, Code: http.StatusInternalServerError, Detail: me.Detail, Status: http.StatusText(http.StatusInternalServerError)}
	}
	if me.Code == http.StatusRequestTimeout {
		// The node gave up at the deadline the gateway sent it (go-micro's
		// errors.Timeout): for the HTTP client the upstream timed out.
		return timedOut
	}
	if me.Status == "" && me.Code >= 400 && me.Code <= 599 {
		me.Status = http.StatusText(int(me.Code))
	}
	return me
}

// Retry is the go-micro RetryFunc of a route: a request that never left the
// gateway (connection refused) is retried whatever its method; one that may
// have reached a node (reset, timeout) only when idempotent. Handler errors
// are never retried.
func Retry(idempotent bool) func(ctx context.Context, _ any, _ int, err error) (bool, error) {
	return func(ctx context.Context, _ any, _ int, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, nil
		}
		switch c, _ := classify(err); c {
		case classRefused:
			return true, nil
		case classReset, classTimeout:
			return idempotent, nil
		}
		return false, nil
	}
}
