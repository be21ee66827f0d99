package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go-micro.dev/v4/registry"
)

const badInputYAML = `
server: {read_header_timeout: 500ms, idle_timeout: 1s}
defaults: {retries: 0}
auth:
  api_keys: [{name: k, key: key-0123456789abcdef}]
routes:
  - {name: small, path: /small, service: greeter, max_body_bytes: 16}
  - {name: sticky, path: /sticky, service: greeter, strategy: hash, hash_key: "header:X-User"}
  - {name: keyed, path: /keyed, service: private.greeter, auth: {mode: api_key}}
  - {name: web, path: /web, kind: proxy, service: greeter-http, strip_prefix: true}
`

// badInputFixture is a greeter node and an HTTP echo node behind a gateway
// with short header and idle timeouts (500 ms, 1 s).
func badInputFixture(t *testing.T) *testGateway {
	reg := registry.NewMemoryRegistry()
	startGreeter(t, reg, "a", nil)
	startGreeterAs(t, reg, privateGreeter, "p", nil)
	startHTTP(t, reg, "greeter-http", "h1")
	return newTestGateway(t, reg, badInputYAML)
}

// rawResponse is one response read off a raw connection.
type rawResponse struct {
	code   int
	header http.Header
	body   string
}

// exchange writes request to a new connection to the gateway, as is, and
// reads responses until the server closes the connection, n responses
// arrived, or 5 s passed. Raw requests carry what net/http's client would
// normalise or refuse to send.
func exchange(t *testing.T, addr, request string, n int) []rawResponse {
	t.Helper()
	conn := dial(t, addr)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	go io.WriteString(conn, request) // a server may answer before it read everything
	br := bufio.NewReader(conn)
	var out []rawResponse
	for len(out) < n {
		rsp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		b, _ := io.ReadAll(rsp.Body)
		rsp.Body.Close()
		out = append(out, rawResponse{rsp.StatusCode, rsp.Header, string(b)})
	}
	return out
}

// checkError checks that r is a go-micro error JSON answer with status code
// and, when detail is not empty, a detail containing it.
func checkError(t *testing.T, r rawResponse, code int, detail string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.body)
	}
	if code == http.StatusOK {
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json: %q", ct, r.body)
	}
	e := microError(t, r.body)
	if int(e.Code) != code || e.Status != http.StatusText(code) || e.Id == "" {
		t.Fatalf("error %+v, want code %d", e, code)
	}
	if !strings.Contains(e.Detail, detail) {
		t.Fatalf("detail %q, want it to contain %q", e.Detail, detail)
	}
}

func get1(path string, hdr ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + strings.Join(hdr, "") + "Connection: close\r\n\r\n"
}

func post1(path, ct, body string, hdr ...string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n%s", path, ct, len(body), strings.Join(hdr, ""), body)
}

// TestBadInput sends every kind of bad input of the reliability issue to
// the gateway over raw TCP and checks the status and the go-micro error
// JSON (Content-Type application/json) of each answer.
func TestBadInput(t *testing.T) {
	g := badInputFixture(t)
	deepArray := strings.Repeat("[", 500000)
	deepValue := `{"name":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	deepObject := strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)
	deepQuery := "/greeter/hello?" + strings.Repeat("a.", 20000) + "a=1"
	bigChunked := "POST /greeter/hello HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
	for range 18 {
		bigChunked += fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat(" ", 64<<10))
	}
	bigChunked += "0\r\n\r\n"
	manyHeaders := ""
	for i := range 3000 {
		manyHeaders += fmt.Sprintf("X-H%d: %s\r\n", i, strings.Repeat("v", 20))
	}
	type row struct {
		name, req string
		want      []int  // the statuses of the responses on the connection, in order
		detail    string // part of the first error's detail
	}
	tests := []row{
		// JSON.
		{"malformed JSON", post1("/greeter/hello", "application/json", `{"name":`), []int{400}, "malformed JSON at byte 8"},
		{"trailing garbage", post1("/greeter/hello", "application/json", `{"name":"a"}x`), []int{400}, "malformed JSON"},
		{"wrong type: number for string", post1("/greeter/hello", "application/json", `{"name":5}`), []int{400}, "request does not match Greeter.Hello"},
		{"wrong type: object for string", post1("/greeter/hello", "application/json", `{"name":{"a":1}}`), []int{400}, "request does not match Greeter.Hello"},
		{"wrong type: string for int32", post1("/greeter/hello", "application/json", `{"count":"many"}`), []int{400}, "request does not match Greeter.Hello"},
		{"wrong type: array for message", post1("/greeter/hello", "application/json", `[1,2]`), []int{400}, "request does not match Greeter.Hello"},
		{"deeply nested array (500,000 levels)", post1("/greeter/hello", "application/json", deepArray), []int{400}, "exceeded max depth"},
		{"deeply nested value (5,000 levels)", post1("/greeter/hello", "application/json", deepValue), []int{400}, "request does not match Greeter.Hello"},
		{"deeply nested object (5,000 levels)", post1("/greeter/hello", "application/json", deepObject), []int{400}, "request does not match Greeter.Hello"},
		{"deeply nested query key (20,000 levels)", get1(deepQuery), []int{400}, "nests deeper than 32 levels"},
		// Bodies over the limit.
		{"declared length over the limit", post1("/small/hello", "application/json", `{"name":"0123456789abcdef"}`), []int{413}, "larger than 16 bytes"},
		{"lying Content-Length: 2 MB declared, 10 bytes sent", "POST /greeter/hello HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{\"name\":1}", []int{413}, "larger than 1048576 bytes"},
		{"lying Content-Length: 5 declared, more sent", "POST /greeter/hello HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{\"name\":\"x\"}", []int{400, 400}, "malformed JSON"},
		{"chunked over the route limit", "POST /small/hello HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + strings.Repeat(" ", 32) + "\r\n0\r\n\r\n", []int{413}, "larger than 16 bytes"},
		{"chunked over the default limit (1.1 MB)", bigChunked, []int{413}, "larger than 1048576 bytes"},
		{"chunked over the limit, proxied", "POST /web/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat(fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("b", 64<<10)), 18) + "0\r\n\r\n", []int{413}, "larger than 1048576 bytes"},
		// Headers over the limit (64 KB): net/http answers, JSONErrors makes it JSON.
		{"one header of 128 KB", get1("/greeter/hello", "X-Big: "+strings.Repeat("a", 128<<10)+"\r\n"), []int{431}, "request headers too large"},
		{"3,000 headers", get1("/greeter/hello", manyHeaders), []int{431}, "request headers too large"},
		{"hash key header of 1 MB", get1("/sticky/hello", "X-User: "+strings.Repeat("u", 1<<20)+"\r\n"), []int{431}, "request headers too large"},
		// Invalid UTF-8.
		{"invalid UTF-8 in the path, encoded", get1("/greeter/h%FFllo"), []int{404}, "not a valid method name"},
		{"invalid UTF-8 in the path, raw", get1("/gr\xffeter/hello"), []int{404}, "not a valid service name"},
		{"invalid UTF-8 in the query, encoded", get1("/greeter/hello?name=%FF%FE"), []int{400}, "not valid UTF-8"},
		{"invalid UTF-8 in the query, raw", get1("/greeter/hello?name=\xff"), []int{400}, "not valid UTF-8"},
		{"invalid UTF-8 in a query key", get1("/greeter/hello?n%FFme=x"), []int{400}, "not valid UTF-8"},
		{"invalid UTF-8 in a form body", post1("/greeter/hello", "application/x-www-form-urlencoded", "name=%FF"), []int{400}, "not valid UTF-8"},
		{"invalid UTF-8 in the API key header", get1("/keyed/hello", "X-API-Key: \xff\xfe\r\n"), []int{401}, "invalid API key"},
		{"invalid UTF-8 in a header name", get1("/greeter/hello", "X-\xff: 1\r\n"), []int{400}, "malformed request"},
		{"control character in a header value", get1("/greeter/hello", "X-A: a\x01b\r\n"), []int{400}, "malformed request"},
		// Path traversal.
		{"dot-dot segment", get1("/greeter/../admin"), []int{400}, "dot segment"},
		{"encoded dot-dot", get1("/greeter/%2e%2e/admin"), []int{400}, "dot segment"},
		{"encoded dot-dot, mixed case, proxied", get1("/web/%2E%2e/%2e%2E/etc/passwd"), []int{400}, "dot segment"},
		{"double-encoded dot-dot", get1("/greeter/%252e%252e/admin"), []int{400}, "dot segment"},
		{"double-encoded dot-dot, proxied", get1("/web/%252e%252e/etc/passwd"), []int{400}, "dot segment"},
		{"triple-encoded dot-dot, proxied", get1("/web/%25252e%25252e/etc/passwd"), []int{400}, "dot segment"},
		{"empty segment", get1("/greeter//hello"), []int{400}, "path contains an empty segment (//)"},
		{"trailing dot-dot, proxied", get1("/web/x/.."), []int{400}, "dot segment"},
		// Issue 11: what reached the upstream as /..;/admin, /..\admin and
		// /..%2f..%2fadmin, and the shadowing of a prefix.
		{"dot-dot with params, proxied", get1("/web/..;/admin"), []int{400}, "dot segment"},
		{"encoded dot-dot with params, proxied", get1("/web/%2e%2e;/admin"), []int{400}, "dot segment"},
		{"dot with params, proxied", get1("/web/.;x/admin"), []int{400}, "dot segment"},
		{"matrix params, proxied", get1("/web/a;jsessionid=1/x"), []int{400}, "path contains a ';'"},
		{"encoded backslash, proxied", get1("/web/..%5cadmin"), []int{400}, "path contains a backslash"},
		{"double-encoded backslash, proxied", get1("/web/..%255cadmin"), []int{400}, "multiply-encoded"},
		{"double-encoded slashes, proxied", get1("/web/..%252f..%252fadmin"), []int{400}, "multiply-encoded"},
		{"double-encoded dot and slash, proxied", get1("/web/%252e%252e%252fadmin"), []int{400}, "multiply-encoded"},
		{"empty segment, proxied", get1("/web//admin"), []int{400}, "empty segment"},
		{"leading empty segment shadows a prefix", get1("//web/x"), []int{400}, "empty segment"},
		{"encoded NUL, proxied", get1("/web/a%00b"), []int{400}, "control character"},
		// Unknown names.
		{"unknown service", get1("/nosuch/hello"), []int{404}, "unknown service nosuch"},
		{"unknown handler", get1("/greeter/nohandler/hello"), []int{404}, "unknown endpoint Nohandler.Hello"},
		{"unknown method", get1("/greeter/nope"), []int{404}, "unknown endpoint Greeter.Nope"},
		{"empty service name", get1("//"), []int{400}, "path contains an empty segment (//)"},
		{"whitespace service name", get1("/%20/hello"), []int{404}, "not a valid service name"},
		{"tab as service name", get1("/%09/hello"), []int{400}, "path contains a control character"},
		{"raw space in the path", get1("/ /hello"), []int{400}, "malformed request"},
		// Method names that are not Go identifiers.
		{"leading digit", get1("/greeter/1hello"), []int{404}, "not a valid method name"},
		{"dollar", get1("/greeter/hel$lo"), []int{404}, "not a valid method name"},
		{"dot", get1("/greeter/hello.world"), []int{404}, "not a valid method name"},
		{"only an underscore", get1("/greeter/_"), []int{404}, "not a valid method name"},
		{"non-ASCII letter", get1("/greeter/h%C3%A9llo"), []int{404}, "not a valid method name"},
		{"NUL", get1("/greeter/hello%00"), []int{400}, "path contains a control character"},
		{"space inside", get1("/greeter/say%20hello"), []int{404}, "not a valid method name"},
		// Request smuggling: net/http accepts only "chunked", once, and then
		// ignores Content-Length; the gateway re-frames what it forwards.
		{"Transfer-Encoding twice", "POST /web/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []int{501}, "only chunked"},
		{"Transfer-Encoding: chunked, identity", "POST /web/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", []int{501}, "only chunked"},
		{"Transfer-Encoding: xchunked", "POST /web/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 3\r\n\r\nabc", []int{501}, "only chunked"},
		{"two different Content-Lengths", "POST /web/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", []int{400}, "malformed request"},
		{"Content-Length with a sign", "POST /web/x HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", []int{400}, "malformed request"},
		{"absolute URL of another host, no service", "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n", []int{404}, "no service in the path"},
		{"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", []int{404}, "no route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exchange(t, g.addr, tt.req, len(tt.want))
			if len(got) != len(tt.want) {
				codes := []int{}
				for _, r := range got {
					codes = append(codes, r.code)
				}
				t.Fatalf("responses %v, want %v", codes, tt.want)
			}
			for i, r := range got {
				detail := ""
				if i == 0 {
					detail = tt.detail
				}
				checkError(t, r, tt.want[i], detail)
			}
		})
	}
	// Nothing above reached a node as a broken request, and the nodes still serve.
	if code, _, body := do(t, "GET", g.url+"/greeter/hello?name=after", ""); code != 200 {
		t.Fatalf("after the bad input: %d %s", code, body)
	}
	if strings.Contains(g.logs.String(), `"msg":"panic"`) {
		t.Fatalf("a request panicked:\n%s", g.logs.String())
	}
}

// TestBadInputAccepted covers bad input the gateway serves rather than
// rejects: the answer is the backend's, and what the backend sees is sane.
func TestBadInputAccepted(t *testing.T) {
	g := badInputFixture(t)
	t.Run("invalid request id is replaced", func(t *testing.T) {
		r := exchange(t, g.addr, get1("/greeter/hello?name=x", "X-Request-Id: a b\xff\r\n"), 1)
		if len(r) != 1 || r[0].code != 200 || len(r[0].header.Get("X-Request-Id")) != 36 {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("hash key of 60 KB is hashed", func(t *testing.T) {
		key := strings.Repeat("k", 60<<10)
		first := ""
		for range 3 {
			code, _, body := do(t, "GET", g.url+"/sticky/hello?name=x", "", "X-User", key)
			n := nodeOf(t, code, body)
			if first != "" && n != first {
				t.Fatalf("the key moved from %s to %s", first, n)
			}
			first = n
		}
	})
	t.Run("Content-Length and Transfer-Encoding: chunked framing wins", func(t *testing.T) {
		// The classic CL.TE smuggling attempt: by Content-Length the body
		// would be "0\r\n\r\nGET /web/smuggled...", by chunked it is empty
		// and a second request follows. net/http uses chunked, so the
		// second request is the gateway's to route, never hidden in a
		// body that a backend might parse differently.
		smuggled := "GET /web/smuggled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
		req := fmt.Sprintf("POST /web/x HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s", 5+len(smuggled), smuggled)
		mark := len(g.logs.String())
		got := exchange(t, g.addr, req, 2)
		if len(got) != 2 || got[0].code != 200 || got[1].code != 200 {
			t.Fatalf("%+v", got)
		}
		first, second := echoOf(t, got[0].code, got[0].body), echoOf(t, got[1].code, got[1].body)
		if first.Path != "/x" || first.Body != "" || second.Path != "/smuggled" {
			t.Fatalf("backend saw %+v then %+v", first, second)
		}
		var paths []string
		for _, l := range jsonLines(g.logs.String()[mark:], "request") {
			paths = append(paths, l["path"].(string))
		}
		if strings.Join(paths, " ") != "/web/x /web/smuggled" {
			t.Fatalf("the gateway routed %v, want both requests", paths)
		}
	})
}

// jsonLines returns the JSON log lines of text whose msg is msg.
func jsonLines(text, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(text, "\n") {
		var m map[string]any
		if jsonUnmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// TestSlowloris drips a request's headers one line every 100 ms: the
// gateway closes the connection at its read_header_timeout (500 ms) without
// answering, while other clients are served as usual.
func TestSlowloris(t *testing.T) {
	g := badInputFixture(t)
	const slow = 5
	var closedAfter [slow]time.Duration
	var wg sync.WaitGroup
	for i := range slow {
		wg.Go(func() {
			conn, err := net.Dial("tcp", g.addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			start := time.Now()
			io.WriteString(conn, "GET /greeter/hello HTTP/1.1\r\nHost: x\r\n")
			done := make(chan struct{})
			go func() { // drip for up to 10 s
				defer close(done)
				for j := 0; j < 100; j++ {
					time.Sleep(100 * time.Millisecond)
					if _, err := fmt.Fprintf(conn, "X-Drip-%d: %d\r\n", j, j); err != nil {
						return
					}
				}
			}()
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			n, _ := conn.Read(make([]byte, 1))
			closedAfter[i] = time.Since(start)
			if n != 0 {
				t.Errorf("slow client %d got an answer, want the connection closed", i)
			}
			conn.Close()
			<-done
		})
	}
	// Meanwhile, everyone else is served.
	served, slowest := 0, time.Duration(0)
	for deadline := time.Now().Add(1500 * time.Millisecond); time.Now().Before(deadline); {
		start := time.Now()
		code, _, body := do(t, "GET", g.url+"/greeter/hello?name=x", "")
		nodeOf(t, code, body)
		served++
		slowest = max(slowest, time.Since(start))
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	for i, d := range closedAfter {
		if d < 400*time.Millisecond || d > 5*time.Second {
			t.Errorf("slow client %d was cut off after %v, want about the 500 ms read_header_timeout", i, d)
		}
	}
	t.Logf("%d slow clients cut off after %v; meanwhile %d requests served, slowest %v", slow, closedAfter, served, slowest)
	if slowest > 2*time.Second {
		t.Errorf("a normal request took %v while slow clients dripped", slowest)
	}
}

// TestManyIdleConnections opens 200 connections that send nothing and 100
// that stay idle after one request: requests on other connections are
// served meanwhile, and the gateway closes the silent ones at its
// read_header_timeout (500 ms) and the idle ones at its idle_timeout (1 s).
func TestManyIdleConnections(t *testing.T) {
	g := badInputFixture(t)
	before := runtime.NumGoroutine()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 200 {
		conns = append(conns, dial(t, g.addr))
	}
	for range 100 {
		c := dial(t, g.addr)
		conns = append(conns, c)
		io.WriteString(c, "GET /greeter/hello?name=idle HTTP/1.1\r\nHost: x\r\n\r\n")
		rsp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || rsp.StatusCode != 200 {
			t.Fatalf("request before idling: %v %v", rsp, err)
		}
		io.Copy(io.Discard, rsp.Body)
	}
	for range 20 {
		code, _, body := do(t, "GET", g.url+"/greeter/hello?name=x", "")
		nodeOf(t, code, body)
	}
	var closed atomic.Int32
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 512)
			for {
				if _, err := c.Read(buf); err != nil {
					if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
						closed.Add(1)
					}
					return
				}
			}
		})
	}
	wg.Wait()
	if closed.Load() != int32(len(conns)) {
		t.Fatalf("%d of %d idle connections closed by the gateway within 10 s", closed.Load(), len(conns))
	}
	waitFor(t, "the server's connection goroutines to end", func() bool { return runtime.NumGoroutine() <= before+10 })
}
