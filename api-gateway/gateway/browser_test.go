package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/go-micro/plugins/v4/registry/consul"
	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/internal/consultest"
)

// chromium returns Debian's chromium. Without it the browser test is skipped,
// except under CI=true, where .ci/run installs it and the test must run.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MICROLB_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "chromium not found: install Debian's chromium (apt-get install -y chromium) or set MICROLB_CHROMIUM"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg) // CI installs it: the browser test must run there
	}
	t.Skip(msg + "; skipping the browser test")
	return ""
}

// browser starts headless chromium and records console errors and uncaught
// exceptions of the page.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	b := &browser{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			b.errors = append(b.errors, "exception: "+ev.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				b.errors = append(b.errors, fmt.Sprintf("console.error: %v", ev.Args))
			}
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				b.errors = append(b.errors, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	}))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b.ctx = ctx
	return b
}

func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.errors)
}

// do runs browser steps, failing the test on error.
func (b *browser) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression that returns JSON text into v.
func (b *browser) eval(t *testing.T, expr string, v any) {
	t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string]("JSON.stringify("+expr+")"))
	if err != nil {
		t.Fatalf("browser: evaluating %s: %v", expr, err)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("browser: %s gave %q: %v", expr, s, err)
	}
}

// waitJS polls a boolean JavaScript expression until it is true.
func (b *browser) waitJS(t *testing.T, what, expr string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var ok bool
		b.eval(t, "!!("+expr+")", &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("browser: %s: not within %v", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

const (
	greeterRowsJS = `[...document.querySelectorAll('#nodes tbody tr[data-service="greeter"]')]`
	resultJS      = `Object.fromEntries([...document.querySelectorAll('#cmp-result .row')].map(r => [r.dataset.label, +r.dataset.count]))`
)

// sendTestCalls sets the form, clicks the button and returns the final
// counts per node.
func (b *browser) sendTestCalls(t *testing.T, strategy string, n int) map[string]int {
	t.Helper()
	b.do(t,
		chromedp.SetValue(chromedp.CSS("#cmp-service"), "greeter"),
		chromedp.SetValue(chromedp.CSS("#cmp-strategy"), strategy),
		chromedp.SetValue(chromedp.CSS("#cmp-n"), fmt.Sprint(n)),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('cmp-n').dispatchEvent(new Event('input'))`, chromedp.EvalIgnoreExceptions),
	)
	var label string
	b.eval(t, `document.getElementById('cmp-send').textContent`, &label)
	if want := fmt.Sprintf("send %d test calls", n); label != want {
		t.Fatalf("button says %q, want %q", label, want)
	}
	b.do(t, chromedp.Click(chromedp.CSS("#cmp-send")))
	b.waitJS(t, "test calls running", `document.getElementById('cmp-result').dataset.state !== 'running'`, 60*time.Second)
	var state string
	b.eval(t, `document.getElementById('cmp-result').dataset.state`, &state)
	if state != "done" {
		var msg string
		b.eval(t, `document.getElementById('cmp-error').textContent`, &msg)
		t.Fatalf("test calls ended %s: %s", state, msg)
	}
	counts := map[string]int{}
	b.eval(t, resultJS, &counts)
	return counts
}

// TestDashboardBrowser drives the dashboard in headless Chromium against a
// real gateway, three real producers (weights 5, 1, 1) and a real Consul.
func TestDashboardBrowser(t *testing.T) {
	agent := consultest.Start(t)
	needProducer(t)
	b := newBrowser(t)
	reg := consul.NewRegistry(registry.Addrs(agent.Addr))
	fast := []string{"--register_ttl", "3", "--register_interval", "1"}
	ps := []*producer{
		startProducer(t, agent.Addr, append(fast, "--weight", "5", "--zone", "a")...),
		startProducer(t, agent.Addr, append(fast, "--weight", "1", "--zone", "a")...),
		startProducer(t, agent.Addr, append(fast, "--weight", "1", "--zone", "b", "--latency", "20ms")...),
	}
	nodes := waitNodes(t, reg, "greeter", 3)
	weight := map[string]int{}
	var zoneB string
	for _, n := range nodes {
		var w int
		fmt.Sscan(n.Metadata["weight"], &w)
		weight[n.Id] = w
		if n.Metadata["zone"] == "b" {
			zoneB = n.Id
		}
	}
	g := newTestGateway(t, reg, "")

	b.do(t, chromedp.Navigate(g.admin+"/"))
	b.waitJS(t, "3 greeter rows", greeterRowsJS+".length === 3", 15*time.Second)
	var rows [][]string
	b.eval(t, greeterRowsJS+`.map(r => [r.dataset.node, r.querySelector('.node-weight').textContent])`, &rows)
	for _, r := range rows {
		if w, ok := weight[r[0]]; !ok || fmt.Sprint(w) != r[1] {
			t.Fatalf("row %v: want one of the producers %v with its weight", r, weight)
		}
	}

	// 1000 weighted calls: 142 full periods of a a b a c a a plus 6 picks,
	// so every count is within one of its exact share.
	counts := b.sendTestCalls(t, "weighted", 1000)
	sum := 0
	for id, c := range counts {
		sum += c
		if exp := 1000 * float64(weight[id]) / 7; math.Abs(float64(c)-exp) > 1 {
			t.Fatalf("weighted 1000: node %s got %d, want %.1f ± 1 (%v)", id, c, exp, counts)
		}
	}
	if sum != 1000 || len(counts) != 3 {
		t.Fatalf("weighted 1000: counts %v", counts)
	}
	// 700 calls are 100 whole periods: exactly 5:1:1.
	counts = b.sendTestCalls(t, "weighted", 700)
	for id, c := range counts {
		if c != 100*weight[id] {
			t.Fatalf("weighted 700: node %s got %d, want exactly %d (%v)", id, c, 100*weight[id], counts)
		}
	}

	// kill -9 one producer: the page shows it ejected or gone within seconds.
	ps[2].kill9(t)
	if counts := b.sendTestCalls(t, "roundrobin", 60); counts[zoneB] != 0 || counts[nodes[0].Id]+counts[nodes[1].Id]+counts[nodes[2].Id] != 60 {
		t.Fatalf("after kill -9: counts %v, want all 60 served by the live nodes (retries move on)", counts)
	}
	b.waitJS(t, "killed node ejected or gone",
		fmt.Sprintf(`!%s.some(r => r.dataset.node === %q && r.dataset.health !== 'ejected')`, greeterRowsJS, zoneB), 10*time.Second)

	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := t.TempDir()
	if d := os.Getenv("MICROLB_SCREENSHOT_DIR"); d != "" {
		dir = d
	}
	path := filepath.Join(dir, "dashboard.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Fatalf("the page logged errors: %v", errs)
	}
}
