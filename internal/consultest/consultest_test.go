package consultest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// do sends method url with body and returns the status code and body.
func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// eventually retries f every 100 ms for up to 10 s until it returns "",
// then fails with f's last message.
func eventually(t *testing.T, f func() string) {
	t.Helper()
	var msg string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if msg = f(); msg == "" {
			return
		}
	}
	t.Fatalf("after 10 s: %s", msg)
}

type catalogService struct {
	ServiceID      string
	ServiceName    string
	ServiceAddress string
	ServicePort    int
}

func catalog(t *testing.T, a *Agent, name string) []catalogService {
	t.Helper()
	var out []catalogService
	if err := getJSON(a.Addr, "/v1/catalog/service/"+name, &out); err != nil {
		t.Fatalf("catalog %s: %v", name, err)
	}
	return out
}

func portClosed(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return true
}

func TestStart(t *testing.T) {
	a := Start(t)
	if l := a.leader(); l != fmt.Sprintf("127.0.0.1:%d", a.Ports.Server) {
		t.Fatalf("leader = %q, want 127.0.0.1:%d", l, a.Ports.Server)
	}
	reg := `{"ID":"web-1","Name":"web","Address":"127.0.0.1","Port":8080}`
	if code, body := do(t, http.MethodPut, a.URL("/v1/agent/service/register"), reg); code != http.StatusOK {
		t.Fatalf("register: %d %s", code, body)
	}
	want := catalogService{ServiceID: "web-1", ServiceName: "web", ServiceAddress: "127.0.0.1", ServicePort: 8080}
	eventually(t, func() string {
		got := catalog(t, a, "web")
		if len(got) != 1 || got[0] != want {
			return fmt.Sprintf("catalog web = %+v, want [%+v]", got, want)
		}
		return ""
	})
	if err := Deregister(context.Background(), a.Addr, "web-1"); err != nil {
		t.Fatalf("Deregister: %v", err)
	}
	eventually(t, func() string {
		if got := catalog(t, a, "web"); len(got) != 0 {
			return fmt.Sprintf("catalog web after Deregister = %+v, want none", got)
		}
		return ""
	})

	a.Stop()
	if !portClosed(a.Addr) {
		t.Fatalf("HTTP port %s still open after Stop", a.Addr)
	}
	a.Stop() // a second Stop is a no-op

	a.Restart(t)
	if l := a.leader(); l != fmt.Sprintf("127.0.0.1:%d", a.Ports.Server) {
		t.Fatalf("leader after restart = %q, want 127.0.0.1:%d", l, a.Ports.Server)
	}
	// The catalog answers again. Whether "web" is back depends on whether
	// the agent persisted its local service to the data directory before it
	// stopped, so only its shape is checked.
	if got := catalog(t, a, "web"); len(got) > 1 || (len(got) == 1 && got[0].ServiceID != "web-1") {
		t.Fatalf("catalog web after restart = %+v, want nothing or the restored web-1", got)
	}
	if fi, err := os.Stat(a.LogPath()); err != nil || fi.Size() == 0 {
		t.Fatalf("log %s: %v (size 0?)", a.LogPath(), err)
	}
}

func TestStartCluster(t *testing.T) {
	c := StartCluster(t, 3)
	addrs := c.Addrs()
	if len(addrs) != 3 || addrs[0] == addrs[1] || addrs[1] == addrs[2] || addrs[0] == addrs[2] {
		t.Fatalf("Addrs = %v, want 3 distinct", addrs)
	}
	for _, a := range c.Agents {
		if n := a.aliveMembers(); n != 3 {
			t.Fatalf("%s sees %d alive members, want 3", a.Node, n)
		}
	}

	// Stop the leader: the other two elect a new one and accept writes.
	old := c.Leader(t)
	c.Stop(old)
	if !portClosed(c.Agents[old].Addr) {
		t.Fatalf("server-%d HTTP port still open after Stop", old)
	}
	if now := c.Leader(t); now == old {
		t.Fatalf("leader is still the stopped server-%d", old)
	}
	w, r := c.Agents[(old+1)%3], c.Agents[(old+2)%3]
	eventually(t, func() string {
		if code, body := do(t, http.MethodPut, w.URL("/v1/kv/consultest/key"), "v1"); code != 200 || body != "true" {
			return fmt.Sprintf("KV put on %s: %d %s", w.Node, code, body)
		}
		return ""
	})
	if code, body := do(t, http.MethodGet, r.URL("/v1/kv/consultest/key?raw"), ""); code != 200 || body != "v1" {
		t.Fatalf("KV get on %s: %d %q, want 200 \"v1\"", r.Node, code, body)
	}

	// Restart it: it rejoins with its data dir and catches up.
	c.Restart(t, old)
	a := c.Agents[old]
	eventually(t, func() string {
		if code, body := do(t, http.MethodGet, a.URL("/v1/kv/consultest/key?raw&stale"), ""); code != 200 || body != "v1" {
			return fmt.Sprintf("stale KV get on restarted %s: %d %q, want 200 \"v1\"", a.Node, code, body)
		}
		return ""
	})
	var peers []string
	if err := getJSON(a.Addr, "/v1/status/peers", &peers); err != nil || len(peers) != 3 {
		t.Fatalf("peers on restarted %s = %v (%v), want 3", a.Node, peers, err)
	}
	for _, b := range c.Agents {
		if n := b.aliveMembers(); n != 3 {
			t.Fatalf("%s sees %d alive members after the restart, want 3", b.Node, n)
		}
	}
}

func TestSkipIntegration(t *testing.T) {
	t.Run("start", func(t *testing.T) {
		t.Setenv(EnvSkip, "1")
		defer func() {
			if !t.Skipped() {
				t.Errorf("Start did not skip with %s=1", EnvSkip)
			}
		}()
		Start(t)
	})
}

func TestRepoRoot(t *testing.T) {
	root := repoRoot()
	if root == "" {
		t.Fatalf("repoRoot found no go.mod declaring %s", modulePath)
	}
	if got := goModModule(root + "/go.mod"); got != modulePath {
		t.Fatalf("module in %s/go.mod = %q, want %q", root, got, modulePath)
	}
}

func TestBuildFailsOnAMissingPackage(t *testing.T) {
	err := build(t.TempDir(), []string{modulePath + "/no/such/command"})
	if err == nil || !strings.HasPrefix(err.Error(), "building "+modulePath+"/no/such/command: ") {
		t.Fatalf("build = %v, want an error naming the package", err)
	}
}
