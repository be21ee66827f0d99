package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	raw "go-micro.dev/v4/codec/bytes"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/registry"
	"go-micro.dev/v4/server"
	"go-micro.dev/v4/transport"

	"github.com/microlb/microlb/internal/configtest"
	"github.com/microlb/microlb/internal/greetertest"
	"github.com/microlb/microlb/internal/testutil"
	"github.com/microlb/microlb/proto/greeter"
)

// greeterNode is an in-process go-micro greeter node.
type greeterNode struct {
	id, addr string
	srv      server.Server
	calls    sync.Map // name → count, for tests that check where calls went
	md       sync.Map // last metadata seen, by request id
	streamed chan string
}

// Hello answers with the node id; some names trigger behaviours:
// "notfound" a go-micro 404, "teapot" a 418, "plain" a plain error,
// "slow" hangs for a second whatever its deadline, "panic" panics.
func (n *greeterNode) Hello(ctx context.Context, req *greeter.HelloRequest, rsp *greeter.HelloResponse) error {
	if md, ok := metadataFrom(ctx); ok {
		n.md.Store(md["X-Request-Id"], md)
	}
	switch req.Name {
	case "notfound":
		return merrors.NotFound("greeter.hello", "no such person")
	case "teapot":
		return merrors.New("greeter.hello", "I am a teapot", 418)
	case "plain":
		return fmt.Errorf("something broke")
	case "slow":
		// A stuck node that ignores its deadline: answering at the deadline
		// instead would race the gateway's own timer on a loaded machine.
		time.Sleep(time.Second)
	}
	rsp.Message = "Hello " + req.Name
	rsp.NodeId = n.id
	rsp.Address = n.addr
	return nil
}

// rawStream sends each message as a pre-encoded JSON frame. go-micro
// v4.11.0's server codec hands the node's socket writer a slice of a buffer
// that the next Send overwrites (server/rpc_codec.go Write: Body =
// wbuf.Bytes()), a data race in go-micro that -race reports in any
// in-process multi-message stream; a raw frame carries its own slice.
type rawStream struct{ greeter.Greeter_StreamStream }

func (s rawStream) Send(m *greeter.HelloResponse) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.SendMsg(&raw.Frame{Data: b})
}

// Stream sends Count messages (default 3), 5 ms apart, until the client
// goes away; when it ends it reports why on n.streamed.
func (n *greeterNode) Stream(ctx context.Context, req *greeter.HelloRequest, gs greeter.Greeter_StreamStream) error {
	stream := rawStream{gs}
	count := int(req.Count)
	if count == 0 {
		count = 3
	}
	if req.Name == "fail" {
		return merrors.New("greeter.stream", "stream refused", 409)
	}
	if req.Name == "silent" { // one message, then nothing for 3 s
		stream.Send(&greeter.HelloResponse{NodeId: n.id, Seq: 1})
		time.Sleep(3 * time.Second)
		stream.Send(&greeter.HelloResponse{NodeId: n.id, Seq: 2})
		return nil
	}
	if req.Name == "endless" { // one message, then one every 10 ms until Send fails
		for i := 1; i <= 1000; i++ {
			if err := stream.Send(&greeter.HelloResponse{NodeId: n.id, Seq: int32(i)}); err != nil {
				n.report(fmt.Sprint("send failed at ", i))
				return err
			}
			time.Sleep(10 * time.Millisecond)
		}
		n.report("endless stream ran to its end")
		return nil
	}
	for i := 1; i <= count; i++ {
		if err := stream.Send(&greeter.HelloResponse{Message: "Hello " + req.Name, NodeId: n.id, Seq: int32(i)}); err != nil {
			n.report("send failed at " + fmt.Sprint(i))
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
	n.report("done")
	return nil
}

func (n *greeterNode) report(s string) {
	if n.streamed != nil {
		select {
		case n.streamed <- s:
		default:
		}
	}
}

// startGreeter starts a greeter node registered in reg.
func startGreeter(t testing.TB, reg registry.Registry, id string, md map[string]string) *greeterNode {
	t.Helper()
	return startGreeterAs(t, reg, "greeter", id, md)
}

// privateGreeter is the name fixtures give a greeter that a configured
// route protects with auth: the dynamic route guards it (issue 11), so the
// open greeter stays reachable at /greeter/... without credentials.
const privateGreeter = "private.greeter"

// startGreeterAs starts a greeter node registered in reg as service name.
// A dotted name keeps the default handler Greeter (/{service}/hello calls
// Greeter.Hello).
func startGreeterAs(t testing.TB, reg registry.Registry, name, id string, md map[string]string) *greeterNode {
	t.Helper()
	n := &greeterNode{id: id, streamed: make(chan string, 16)}
	srv := greetertest.Serve(t, server.NewRPCServer, n, server.Name(name), server.Id(id), server.Registry(reg),
		server.Transport(transport.NewHTTPTransport()), server.Metadata(md), server.RegisterTTL(time.Minute),
		server.Version(md["version"]))
	n.srv = srv
	n.id = name + "-" + id
	n.addr = srv.Options().Address
	return n
}

// httpNode is an HTTP backend registered as service name.
type httpNode struct {
	id  string
	srv *httptest.Server
}

// startHTTP starts an HTTP node registered as name. It answers JSON naming
// itself and the path; /stream?n=N writes N lines 10 ms apart; /ws echoes a
// raw upgraded connection; /slow waits 2 s.
func startHTTP(t testing.TB, reg registry.Registry, name, id string) *httpNode {
	t.Helper()
	n := &httpNode{id: id}
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, `{"node_id":%q,"seq":%d}`+"\n", id, i)
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		buf := make([]byte, 64)
		for {
			k, err := brw.Read(buf)
			if err != nil {
				return
			}
			conn.Write([]byte(id + ":" + string(buf[:k])))
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"node_id": id, "path": r.URL.Path, "query": r.URL.RawQuery, "method": r.Method,
			"body": string(body), "xff": r.Header.Get("X-Forwarded-For"), "request_id": r.Header.Get("X-Request-Id"),
			"host": r.Host,
		})
	})
	n.srv = httptest.NewServer(mux)
	t.Cleanup(n.srv.Close)
	register(t, reg, name, id, n.srv.Listener.Addr().String(), map[string]string{"protocol": "http"})
	return n
}

// register adds one node to reg.
func register(t testing.TB, reg registry.Registry, name, id, addr string, md map[string]string) {
	t.Helper()
	svc := &registry.Service{Name: name, Version: "1", Nodes: []*registry.Node{{Id: id, Address: addr, Metadata: md}}}
	if err := reg.Register(svc); err != nil {
		t.Fatal(err)
	}
}

// dial connects to addr, host:port, failing t when it cannot.
func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	l := testutil.Listen(t)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// testGateway is a gateway under test with its public and admin servers.
type testGateway struct {
	*Gateway
	url, admin string
	addr       string // host:port of url, for raw connections
	logs       *syncBuffer
}

// newTestGateway builds a gateway from YAML over reg.
func newTestGateway(t testing.TB, reg registry.Registry, yaml string) *testGateway {
	t.Helper()
	return newGatewayWith(t, reg, yaml, nil)
}

// buildGateway makes a gateway from yaml over reg, logging JSON to the
// buffer it returns, with its options adjusted by mod (nil: none).
func buildGateway(t testing.TB, reg registry.Registry, yaml string, mod func(*Options)) (*Gateway, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	o := Options{Config: configtest.Load(t, yaml), Registry: reg, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	if mod != nil {
		mod(&o)
	}
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return g, logs
}

// newGatewayWith is newTestGateway with its options adjusted by mod (nil: none).
func newGatewayWith(t testing.TB, reg registry.Registry, yaml string, mod func(*Options)) *testGateway {
	t.Helper()
	g, logs := buildGateway(t, reg, yaml, mod)
	pub := httptest.NewUnstartedServer(g.Handler())
	pub.Config = g.NewServer(g.Handler())
	pub.Listener = JSONErrors(pub.Listener)
	pub.Start()
	adm := httptest.NewServer(g.AdminHandler())
	t.Cleanup(func() {
		pub.Close()
		adm.Close()
		g.Close()
	})
	return &testGateway{Gateway: g, url: pub.URL, admin: adm.URL, addr: pub.Listener.Addr().String(), logs: logs}
}

// syncBuffer is a goroutine-safe log sink with a JSON line filter.
type syncBuffer struct{ testutil.SyncBuffer }

// lines returns the JSON log lines whose msg is msg.
func (s *syncBuffer) lines(msg string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(s.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// do sends a request and returns status, headers and body.
func do(t testing.TB, method, url, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	return doWith(t, http.DefaultClient, method, url, body, hdr...)
}

// doWith is do through the client c.
func doWith(t testing.TB, c *http.Client, method, url, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rsp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	return rsp.StatusCode, rsp.Header, string(b)
}

// microError decodes a go-micro error body, failing t if it is not one.
var microError = testutil.MustMicroError

// waitFor polls cond for up to 5 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, what, 5*time.Second, cond)
}
