package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/internal/testutil"
)

// nodeOf returns the node_id of a Greeter.Hello answer.
func nodeOf(t testing.TB, code int, body string) string {
	t.Helper()
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	var r struct {
		NodeID string `json:"node_id"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return r.NodeID
}

const strategiesYAML = `
routes:
  - {path: /rr, service: greeter, strategy: roundrobin}
  - {path: /wrr, service: greeter, strategy: weighted}
  - {path: /random, service: greeter, strategy: random}
  - {path: /ll, service: greeter, strategy: leastloaded}
  - {path: /hh, service: greeter, strategy: hash, hash_key: "header:X-User"}
  - {path: /hc, service: greeter, strategy: hash, hash_key: "cookie:session"}
  - {path: /hq, service: greeter, strategy: hash, hash_key: "query:user"}
  - {path: /hp, service: greeter, strategy: hash, hash_key: path}
  - {path: /hip, service: greeter, strategy: hash, hash_key: client_ip}
`

// TestRPCStrategies sends RPCs through each strategy to two nodes of
// weights 1 and 2 and checks the spread exactly where it is deterministic.
func TestRPCStrategies(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	a := startGreeter(t, reg, "a", map[string]string{"weight": "1"})
	b := startGreeter(t, reg, "b", map[string]string{"weight": "2"})
	g := newTestGateway(t, reg, strategiesYAML)
	count := func(path string, n int, hdr ...string) map[string]int {
		got := map[string]int{}
		for i := range n {
			p := strings.ReplaceAll(path, "{i}", fmt.Sprint(i))
			h := make([]string, len(hdr))
			for j := range hdr {
				h[j] = strings.ReplaceAll(hdr[j], "{i}", fmt.Sprint(i))
			}
			code, _, body := do(t, "GET", g.url+p, "", h...)
			got[nodeOf(t, code, body)]++
		}
		return got
	}
	t.Run("roundrobin", func(t *testing.T) {
		if got := count("/rr/hello?name=x", 10); got[a.id] != 5 || got[b.id] != 5 {
			t.Fatalf("%v, want 5 and 5", got)
		}
	})
	t.Run("weighted", func(t *testing.T) {
		if got := count("/wrr/hello?name=x", 30); got[a.id] != 10 || got[b.id] != 20 {
			t.Fatalf("%v, want 10 and 20", got)
		}
	})
	t.Run("random", func(t *testing.T) {
		got := count("/random/hello?name=x", 60)
		if got[a.id] < 5 || got[b.id] < 20 {
			t.Fatalf("%v: want both nodes, b about twice a", got)
		}
	})
	t.Run("leastloaded", func(t *testing.T) {
		got := count("/ll/hello?name=x", 20)
		if got[a.id]+got[b.id] != 20 {
			t.Fatalf("%v", got)
		}
	})
	sticky := []struct {
		name, path string
		hdr        []string
	}{
		{"hash header", "/hh/hello", []string{"X-User", "user-{i}"}},
		{"hash cookie", "/hc/hello", []string{"Cookie", "session=s-{i}"}},
		{"hash query", "/hq/hello?user=u-{i}", nil},
		{"hash path", "/hp/greeter/hello", nil},
	}
	for _, s := range sticky {
		t.Run(s.name, func(t *testing.T) {
			nodes := map[string]bool{}
			for i := range 12 {
				p := strings.ReplaceAll(s.path, "{i}", fmt.Sprint(i))
				var h []string
				for _, x := range s.hdr {
					h = append(h, strings.ReplaceAll(x, "{i}", fmt.Sprint(i)))
				}
				first := ""
				for range 4 {
					code, _, body := do(t, "GET", g.url+p, "", h...)
					n := nodeOf(t, code, body)
					if first == "" {
						first = n
					} else if n != first {
						t.Fatalf("key %d moved from %s to %s", i, first, n)
					}
				}
				nodes[first] = true
			}
			if len(nodes) != 2 && s.name != "hash path" {
				t.Fatalf("12 keys all on %v", nodes)
			}
		})
	}
	t.Run("hash client_ip", func(t *testing.T) {
		if got := count("/hip/hello", 8); len(got) != 1 {
			t.Fatalf("one client spread over %v", got)
		}
	})
}

// TestRPCMetadata checks the allow-list: listed headers and the request ID
// reach the handler as metadata, others and go-micro's own do not.
func TestRPCMetadata(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	a := startGreeter(t, reg, "a", nil)
	g := newTestGateway(t, reg, "metadata: {headers: [X-User]}")
	code, _, body := do(t, "GET", g.url+"/greeter/hello?name=md", "",
		"X-Request-Id", "md-1", "X-User", "alice", "X-Secret", "s", "Micro-Endpoint", "Evil.Call", "X-Hash-Key", "spoof")
	nodeOf(t, code, body)
	v, ok := a.md.Load("md-1")
	if !ok {
		t.Fatal("no metadata recorded for request md-1")
	}
	md := v.(metadata.Metadata)
	if md["X-User"] != "alice" || md["X-Request-Id"] != "md-1" || md["X-Forwarded-For"] != "127.0.0.1" {
		t.Fatalf("metadata %v", md)
	}
	for _, k := range []string{"X-Secret", "X-Hash-Key", "X-Microlb-Stream", "X-Microlb-Deadline"} {
		if _, ok := md[k]; ok {
			t.Fatalf("%s leaked into metadata: %v", k, md)
		}
	}
	if md["Micro-Endpoint"] != "Greeter.Hello" {
		t.Fatalf("Micro-Endpoint %q", md["Micro-Endpoint"])
	}
}

// resettingAddr listens and resets every connection after reading from it:
// a node that accepted the request and died before answering.
func resettingAddr(t *testing.T) string {
	l := testutil.Listen(t)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				c.Read(make([]byte, 4096))
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}()
		}
	}()
	return l.Addr().String()
}

// TestRPCRetries puts a dead node (its listener closed) and a resetting node
// beside a live one: refused attempts are retried on a different node for
// every method; reset ones only for idempotent methods.
func TestRPCRetries(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	live := startGreeter(t, reg, "live", nil)
	mucp := map[string]string{"protocol": "mucp", "server": "mucp"}
	t.Run("refused", func(t *testing.T) {
		register(t, reg, "greeter", "greeter-dead", deadAddr(t), mucp)
		g := newTestGateway(t, reg, "routes: [{path: /rr, service: greeter, strategy: roundrobin, retries: 1}]")
		for i := range 6 {
			method, body := "GET", ""
			if i%2 == 1 {
				method, body = "POST", `{"name":"p"}`
			}
			code, _, rsp := do(t, method, g.url+"/rr/hello?name=g", body)
			if n := nodeOf(t, code, rsp); n != live.id {
				t.Fatalf("answered by %s", n)
			}
		}
		retried := 0
		for _, l := range g.logs.lines("request") {
			if l["attempts"] == float64(2) {
				retried++
			}
		}
		if retried == 0 {
			t.Fatal("no request was retried")
		}
		reg.Deregister(&registry.Service{Name: "greeter", Version: "1", Nodes: []*registry.Node{{Id: "greeter-dead"}}})
	})
	t.Run("reset", func(t *testing.T) {
		register(t, reg, "greeter", "greeter-reset", resettingAddr(t), mucp)
		g := newTestGateway(t, reg, "routes: [{path: /rr, service: greeter, strategy: roundrobin, retries: 1}]")
		got := map[int]int{}
		for range 4 {
			code, _, _ := do(t, "GET", g.url+"/rr/hello?name=g", "")
			got[code]++
		}
		if got[200] != 4 {
			t.Fatalf("GET: %v, want all 200 (retried)", got)
		}
		got = map[int]int{}
		for range 4 {
			code, _, _ := do(t, "POST", g.url+"/rr/hello", `{"name":"p"}`)
			got[code]++
		}
		if got[502] == 0 || got[200] == 0 {
			t.Fatalf("POST: %v, want some 502 (not retried after a reset) and some 200", got)
		}
	})
}

// openSSE sends a GET for Server-Sent Events to url, with the header pairs
// hdr, and returns the response, failing t when there is none.
func openSSE(t *testing.T, url string, hdr ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rsp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return rsp
}

// readSeqEvents reads the n events of the greeter's stream, ids and seqs 1
// to n, each data containing node, and then its end event.
func readSeqEvents(t *testing.T, br *bufio.Reader, n int, node string) {
	t.Helper()
	for i := 1; i <= n; i++ {
		e, err := readEvent(br)
		if err != nil || e.id != fmt.Sprint(i) || !strings.Contains(e.data, fmt.Sprintf(`"seq":%d`, i)) || !strings.Contains(e.data, node) {
			t.Fatalf("event %d: %+v %v", i, e, err)
		}
	}
	if e, err := readEvent(br); err != nil || e.event != "end" {
		t.Fatalf("end event: %+v %v", e, err)
	}
}

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct{ event, id, data string }

func readEvent(r *bufio.Reader) (sseEvent, error) {
	var e sseEvent
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return e, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			return e, nil
		case strings.HasPrefix(line, "event: "):
			e.event = line[7:]
		case strings.HasPrefix(line, "id: "):
			e.id = line[4:]
		case strings.HasPrefix(line, "data: "):
			e.data += line[6:]
		}
	}
}

func TestRPCStreaming(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	a := startGreeter(t, reg, "a", nil)
	g := newTestGateway(t, reg, "")

	t.Run("SSE", func(t *testing.T) {
		rsp := openSSE(t, g.url+"/greeter/stream?name=s&count=3")
		defer rsp.Body.Close()
		if rsp.StatusCode != 200 || rsp.Header.Get("Content-Type") != "text/event-stream" || rsp.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%d %v", rsp.StatusCode, rsp.Header)
		}
		br := bufio.NewReader(rsp.Body)
		readSeqEvents(t, br, 3, a.id)
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("stream did not end cleanly: %v", err)
		}
	})
	t.Run("NDJSON by default for a streaming endpoint", func(t *testing.T) {
		code, hdr, body := do(t, "POST", g.url+"/greeter/stream", `{"name":"n","count":4}`)
		lines := strings.Split(strings.TrimSpace(body), "\n")
		if code != 200 || hdr.Get("Content-Type") != "application/x-ndjson" || len(lines) != 4 {
			t.Fatalf("%d %v %q", code, hdr, body)
		}
		for i, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil || m["seq"] != float64(i+1) {
				t.Fatalf("line %d: %q", i, l)
			}
		}
	})
	t.Run("error before the first message", func(t *testing.T) {
		code, _, body := do(t, "GET", g.url+"/greeter/stream?name=fail", "", "Accept", "text/event-stream")
		if e := microError(t, body); code != 409 || e.Id != "greeter.stream" || e.Detail != "stream refused" {
			t.Fatalf("%d %s", code, body)
		}
	})
	t.Run("unary endpoint as SSE", func(t *testing.T) {
		code, hdr, body := do(t, "GET", g.url+"/greeter/hello?name=u", "", "Accept", "text/event-stream")
		if code != 200 || hdr.Get("Content-Type") != "text/event-stream" ||
			!strings.HasPrefix(body, "id: 1\ndata: {") || !strings.HasSuffix(body, "event: end\ndata: {}\n\n") {
			t.Fatalf("%d %q", code, body)
		}
	})
	// go-micro's server streams cannot see the client leave (their Send
	// always returns nil, their context only has the Timeout deadline), so
	// what the gateway can do is close its connection to the node at once
	// instead of waiting for the node's next message; the access log line
	// shows the gateway's side ended.
	t.Run("client disconnect ends the gateway side at once", func(t *testing.T) {
		rsp := openSSE(t, g.url+"/greeter/stream?name=silent", "X-Request-Id", "silent-1")
		if e, err := readEvent(bufio.NewReader(rsp.Body)); err != nil || e.id != "1" {
			t.Fatalf("first event %+v %v", e, err)
		}
		left := time.Now()
		rsp.Body.Close() // the client goes away while the node is silent
		waitFor(t, "the access log line of the stream", func() bool {
			for _, l := range g.logs.lines("request") {
				if l["request_id"] == "silent-1" {
					return true
				}
			}
			return false
		})
		if d := time.Since(left); d > 2*time.Second {
			t.Fatalf("the gateway held the stream %v after the client left", d)
		}
	})
}
