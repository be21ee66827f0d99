package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/api-gateway/reqinfo"
	"github.com/microlb/microlb/api-gateway/route"
)

// TestKinds: every kind config accepts has a handler, and dispatch refuses
// a kind without one instead of serving it as another.
func TestKinds(t *testing.T) {
	for _, k := range []string{config.KindRPC, config.KindProxy} {
		if kinds[k] == nil {
			t.Errorf("kind %q has no handler", k)
		}
	}
	if len(kinds) != 2 {
		t.Errorf("%d kinds, want 2", len(kinds))
	}
	t.Run("unknown kind", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{Route: &route.Route{Name: "r", Kind: "grpc"}}))
		w := httptest.NewRecorder()
		(&Gateway{}).dispatch(w, r)
		if e := microError(t, w.Body.String()); w.Code != 500 || e.Detail != `route r has no handler for kind "grpc"` {
			t.Fatalf("got %d %q", w.Code, e.Detail)
		}
	})
}
