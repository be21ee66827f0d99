package upstream

import (
	"errors"
	"fmt"
	"testing"
	"time"

	merrors "go-micro.dev/v4/errors"
	gselector "go-micro.dev/v4/selector"

	"github.com/microlb/microlb/api-gateway/apierr"
)

func TestAnswers(t *testing.T) {
	tests := []struct {
		name       string
		got        *merrors.Error
		wantCode   int32
		wantDetail string
	}{
		{"missing unknown", Missing("a", false), 404, "unknown service a"},
		{"missing known", Missing("a", true), 503, "service a has no registered node"},
		{"no healthy node", NoHealthyNode("a"), 503, "no healthy node for service a"},
		{"registry down", RegistryDown("a"), 503, "registry unavailable: service a cannot be looked up"},
		{"select not found, unknown", SelectError("a", gselector.ErrNotFound, false), 404, "unknown service a"},
		{"select not found, known", SelectError("a", fmt.Errorf("wrapped: %w", gselector.ErrNotFound), true), 503, "service a has no registered node"},
		{"select none available", SelectError("a", gselector.ErrNoneAvailable, false), 503, "no healthy node for service a"},
		{"select other error", SelectError("a", errors.New("boom"), true), 503, "no healthy node for service a"},
		{"timeout with limit", Timeout("a", 150*time.Millisecond), 504, "upstream did not answer within 150ms"},
		{"timeout without limit", Timeout("a", 0), 504, "upstream a timed out"},
		{"refused", Refused("a"), 502, "upstream a refused the connection"},
		{"reset", Reset("a"), 502, "upstream a reset the connection"},
		{"failed", Failed("a", ""), 502, "upstream a failed"},
		{"failed with cause", Failed("a", "EOF"), 502, "upstream a failed: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.got
			if e.Id != apierr.ID || e.Code != tt.wantCode || e.Detail != tt.wantDetail {
				t.Fatalf("got %s %d %q, want %s %d %q", e.Id, e.Code, e.Detail, apierr.ID, tt.wantCode, tt.wantDetail)
			}
			if want := map[int32]string{404: "Not Found", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}[tt.wantCode]; e.Status != want {
				t.Fatalf("status %q, want %q", e.Status, want)
			}
		})
	}
}
