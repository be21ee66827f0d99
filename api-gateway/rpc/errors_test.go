package rpc

import (
	"context"
	"errors"
	"testing"
	"time"

	merrors "go-micro.dev/v4/errors"
	gselector "go-micro.dev/v4/selector"
)

// TestToHTTP checks the mapping of call errors that the reliability suite
// depends on.
func TestToHTTP(t *testing.T) {
	notFound := merrors.InternalServerError(clientID, "service greeter: %s", gselector.ErrNotFound.Error())
	tests := []struct {
		name       string
		err        error
		configured bool
		wantCode   int32
		wantID     string
	}{
		// A node that gives up at the deadline the gateway sent it answers
		// go-micro's 408 just before the gateway's own timer fires.
		{name: "node's 408 is an upstream timeout", err: merrors.Timeout("greeter-n1", "latency: context deadline exceeded"), wantCode: 504, wantID: "microlb.gateway"},
		{name: "client timeout", err: merrors.Timeout(clientID, "call timeout: context deadline exceeded"), wantCode: 504, wantID: "microlb.gateway"},
		{name: "handler's own code", err: merrors.NotFound("greeter.hello", "no such person"), wantCode: 404, wantID: "greeter.hello"},
		{name: "unknown service", err: notFound, wantCode: 404, wantID: "microlb.gateway"},
		{name: "known service without nodes", err: notFound, configured: true, wantCode: 503, wantID: "microlb.gateway"},
		{name: "no node left", err: merrors.InternalServerError(clientID, "service greeter: %s", gselector.ErrNoneAvailable.Error()), wantCode: 503, wantID: "microlb.gateway"},
		{name: "refused", err: merrors.InternalServerError(clientID, "connection error: dial tcp 127.0.0.1:1: connect: connection refused"), wantCode: 502, wantID: "microlb.gateway"},
		{name: "plain handler error", err: errors.New("something broke"), wantCode: 500, wantID: "greeter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			me := toHTTP(context.Background(), tt.err, "greeter", "Greeter.Hello", tt.configured, 20*time.Millisecond)
			if me.Code != tt.wantCode || me.Id != tt.wantID {
				t.Fatalf("%v → %+v, want %d from %s", tt.err, me, tt.wantCode, tt.wantID)
			}
		})
	}
}
