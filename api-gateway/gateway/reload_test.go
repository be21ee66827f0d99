package gateway

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/internal/testutil"
)

const (
	reloadV1 = `
routes:
  - {name: a, path: /a, kind: proxy, service: plain-http, strip_prefix: true}
  - {name: s, path: /s, kind: proxy, service: slow-http, strip_prefix: true}
`
	reloadV2 = `
routes:
  - {name: a, path: /a, kind: proxy, service: plain-http, strip_prefix: true}
  - {name: b, path: /b, kind: proxy, service: plain-http, strip_prefix: true, auth: {mode: api_key}}
auth:
  api_keys: [{name: k, key: key-0123456789}]
`
	reloadInvalid = `
routes:
  - {name: c, path: /c, kind: teleport, service: plain-http}
`
)

// yamlLoader returns a loader of the YAML in src, validated as config.Load does.
func yamlLoader(src *atomic.Value) func() (*config.Config, error) {
	return func() (*config.Config, error) {
		cfg, err := config.Parse([]byte(src.Load().(string)))
		if err != nil {
			return nil, err
		}
		return cfg, cfg.Validate()
	}
}

func TestHotReloadUnderLoad(t *testing.T) {
	old := configPollInterval
	configPollInterval = time.Hour // SIGHUP only
	t.Cleanup(func() { configPollInterval = old })
	reg := registry.NewMemoryRegistry()
	startHTTP(t, reg, "plain-http", "p1")
	arrived, release := make(chan struct{}), make(chan struct{})
	slowNode := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
	}))
	t.Cleanup(slowNode.Close)
	var releaseOnce sync.Once
	freeSlow := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(freeSlow) // runs before slowNode.Close: a failed test must not hang on the held request
	register(t, reg, "slow-http", "s1", slowNode.Listener.Addr().String(), map[string]string{"protocol": "http"})
	var src atomic.Value
	src.Store(reloadV1)
	g := serveGateway(t, reg, reloadV1, nil, func(g *Gateway) { g.ReloadFrom(yamlLoader(&src)) })
	base := "http://" + g.pub

	// Load: 4 clients on keep-alive connections, at most 500 requests each.
	var sent, failed atomic.Int64
	var firstFailure atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{}}
			defer c.CloseIdleConnections()
			for range 500 {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				rsp, err := c.Get(base + "/a/x")
				if err != nil {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				rsp.Body.Close()
				if rsp.StatusCode != 200 {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, rsp.Status)
				}
			}
		}()
	}
	// A request in flight across every reload: its upstream holds it until
	// the route is gone.
	slow := make(chan int, 1)
	go func() {
		rsp, err := http.Get(base + "/s/x")
		if err != nil {
			slow <- 0
			return
		}
		rsp.Body.Close()
		slow <- rsp.StatusCode
	}()
	<-arrived
	waitFor(t, "load", func() bool { return sent.Load() >= 50 })

	t.Run("SIGHUP adds a route", func(t *testing.T) {
		if code, _, _ := do(t, "GET", base+"/b/x", ""); code != 404 {
			t.Fatalf("/b before the reload: %d; want 404", code)
		}
		src.Store(reloadV2)
		g.hangUp()
		waitFor(t, "the new route", func() bool {
			code, _, _ := do(t, "GET", base+"/b/x", "", "X-API-Key", "key-0123456789")
			return code == 200
		})
		if code, _, _ := do(t, "GET", base+"/b/x", ""); code != 401 {
			t.Errorf("/b without its key: %d; want 401 (the new auth applies)", code)
		}
	})
	t.Run("an invalid configuration is rejected", func(t *testing.T) {
		src.Store(reloadInvalid)
		g.hangUp()
		waitFor(t, "the rejection", func() bool {
			return len(g.logs.lines("configuration reload rejected; the previous configuration stays in use")) == 1
		})
		if l := g.logs.lines("configuration reload rejected; the previous configuration stays in use")[0]; !strings.Contains(l["error"].(string), "teleport") || l["trigger"] != "SIGHUP" {
			t.Errorf("log line %v: want the error naming the bad kind, trigger SIGHUP", l)
		}
		if code, _, body := do(t, "GET", "http://"+g.adm+"/metrics", ""); code != 200 || !strings.Contains(body, "microlb_config_reload_errors_total 1\n") {
			t.Errorf("metrics: %d %s", code, testutil.Grep(body, "microlb_config"))
		}
		if code, _, _ := do(t, "GET", base+"/b/x", "", "X-API-Key", "key-0123456789"); code != 200 {
			t.Errorf("/b after the rejected reload: %d; want 200 (the previous configuration)", code)
		}
	})
	// A loaded machine under -race can serve slowly: wait for the load by
	// progress, not by a fixed 5 s.
	for deadline := time.Now().Add(60 * time.Second); sent.Load() < 400 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if sent.Load() < 400 {
		t.Errorf("only %d requests in 60 s, want at least 400 across the reloads", sent.Load())
	}
	t.Run("0 failed requests", func(t *testing.T) {
		if n := failed.Load(); n != 0 {
			t.Errorf("%d of %d requests failed during the reloads; first: %v", n, sent.Load(), firstFailure.Load())
		}
		t.Logf("%d requests, %d failed", sent.Load(), failed.Load())
	})
	t.Run("a request in flight finishes on its generation", func(t *testing.T) {
		src.Store("disable_default_route: true\nroutes: [{name: a, path: /a, kind: proxy, service: plain-http}]\n")
		g.hangUp()
		waitFor(t, "/s to go", func() bool { code, _, _ := do(t, "GET", base+"/s/x", ""); return code == 404 })
		freeSlow()
		if code := <-slow; code != 200 {
			t.Errorf("the request started before the reloads: %d; want 200", code)
		}
	})
}

func TestHotReloadOnConfigChange(t *testing.T) {
	old := configPollInterval
	configPollInterval = 20 * time.Millisecond
	t.Cleanup(func() { configPollInterval = old })
	reg := registry.NewMemoryRegistry()
	startHTTP(t, reg, "plain-http", "p1")
	file := filepath.Join(t.TempDir(), "gateway.yaml")
	write := func(s string) { testutil.WriteFile(t, file, []byte(s)) }
	write(reloadV1)
	load := func() (*config.Config, error) {
		return config.Load([]string{"--config", file, "--address", "127.0.0.1:0"}, func(string) string { return "" })
	}
	g := serveGateway(t, reg, reloadV1+"address: 127.0.0.1:0\n", nil, func(g *Gateway) { g.ReloadFrom(load) })
	base := "http://" + g.pub

	write(reloadV2)
	waitFor(t, "the route added to the file", func() bool {
		code, _, _ := do(t, "GET", base+"/b/x", "", "X-API-Key", "key-0123456789")
		return code == 200
	})
	if n := len(g.logs.lines("configuration reloaded")); n != 1 {
		t.Errorf("%d reloads logged for one change; want 1", n)
	}
	write(reloadInvalid)
	waitFor(t, "the rejection", func() bool {
		return len(g.logs.lines("configuration reload rejected; the previous configuration stays in use")) >= 1
	})
	time.Sleep(100 * time.Millisecond) // several polls of the same bad file
	if n := len(g.logs.lines("configuration reload rejected; the previous configuration stays in use")); n != 1 {
		t.Errorf("the same bad file logged %d times; want once", n)
	}
	if code, _, _ := do(t, "GET", base+"/b/x", "", "X-API-Key", "key-0123456789"); code != 200 {
		t.Errorf("/b with a bad file in place: %d; want 200", code)
	}
	write(reloadV2 + "admin_address: 127.0.0.1:1\n")
	waitFor(t, "the restart warning", func() bool {
		return len(g.logs.lines("configuration reloaded, but these settings only take effect after a restart")) == 1
	})
	if l := g.logs.lines("configuration reloaded, but these settings only take effect after a restart")[0]; len(l["keys"].([]any)) != 1 || l["keys"].([]any)[0] != "admin_address" {
		t.Errorf("restart keys %v; want [admin_address]", l["keys"])
	}
}
