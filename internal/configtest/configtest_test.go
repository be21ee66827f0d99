package configtest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/microlb/microlb/api-gateway/config"
)

// fakeTB records the message of a Fatal and ends the goroutine, as
// testing.T does.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatal(args ...any) {
	f.failed = fmt.Sprint(args...)
	runtime.Goexit()
}

// load runs Load on f in its own goroutine, which a Fatal ends.
func load(f *fakeTB, yaml string) (cfg *config.Config) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		cfg = Load(f, yaml)
	}()
	<-done
	return cfg
}

func TestLoad(t *testing.T) {
	tests := []struct{ name, yaml, wantFail string }{
		{"valid", "routes: [{path: /x, service: s}]", ""},
		{"does not parse", "adress: x", "field adress not found"},
		{"does not validate", "routes: [{path: x, service: s}]", "clean absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeTB{TB: t}
			cfg := load(f, tt.yaml)
			if tt.wantFail == "" {
				if f.failed != "" || cfg == nil || len(cfg.Routes) != 1 {
					t.Fatalf("Load failed %q, config %+v; want one route", f.failed, cfg)
				}
				return
			}
			if cfg != nil || !strings.Contains(f.failed, tt.wantFail) {
				t.Fatalf("Load failed %q, want a failure containing %q", f.failed, tt.wantFail)
			}
		})
	}
}
