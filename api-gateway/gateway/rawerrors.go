package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/microlb/microlb/api-gateway/apierr"
)

// JSONErrors wraps a listener so that the answers net/http writes on its
// own, before any handler runs, are go-micro error JSON like every other
// error of the gateway. net/http answers a malformed request line or header
// with 400, headers over MaxHeaderBytes with 431 and a Transfer-Encoding
// other than chunked with 501, as plain text written straight to the
// connection in one write of a fixed shape:
//
//	HTTP/1.1 431 Request Header Fields Too Large\r\n
//	Content-Type: text/plain; charset=utf-8\r\n
//	Connection: close\r\n
//	\r\n
//	431 Request Header Fields Too Large
//
// A connection of the listener recognizes exactly that shape (a handler's
// response always carries other headers, such as Date) and sends the same
// status as {"id":"microlb.gateway","code":431,...} instead. It looks only
// at the first write of a response: once a connection wrote anything else,
// every write until the connection goes idle belongs to a handler's
// response (whose body may hold any bytes, such as an upstream's that
// mimic net/http's answer) and passes untouched. Serve wraps both of its
// listeners.
func JSONErrors(l net.Listener) net.Listener { return jsonErrorListener{l} }

type jsonErrorListener struct{ net.Listener }

func (l jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorConn{Conn: c}, nil
}

// jsonErrorConn rewrites net/http's plain-text error answers; see JSONErrors.
type jsonErrorConn struct {
	net.Conn
	hijacked   atomic.Bool // a handler took the connection: leave its bytes alone
	responding atomic.Bool // a response is being written: until the connection is idle, no write is inspected
}

// plainErrorHeaders are the headers of net/http's own error answers
// (net/http/server.go, conn.serve).
const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// maxPlainError bounds the writes inspected: net/http's answers are short.
const maxPlainError = 512

func (c *jsonErrorConn) Write(p []byte) (int, error) {
	if len(p) <= maxPlainError && !c.hijacked.Load() && !c.responding.Load() {
		if code, detail, ok := parsePlainError(p); ok {
			if _, err := io.WriteString(c.Conn, jsonErrorResponse(code, detail)); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	c.responding.Store(true)
	return c.Conn.Write(p)
}

// CloseWrite half-closes the connection as net/http does after a 431.
func (c *jsonErrorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// markHijacked is the servers' ConnState hook: once a handler hijacks a
// connection (a proxied WebSocket), its bytes are never inspected again;
// once a connection is idle (its response is complete), the first write of
// the next response is inspected again.
func markHijacked(c net.Conn, s http.ConnState) {
	jc, ok := c.(*jsonErrorConn)
	if !ok {
		return
	}
	switch s {
	case http.StateHijacked:
		jc.hijacked.Store(true)
	case http.StateIdle:
		jc.responding.Store(false)
	}
}

// parsePlainError recognizes one of net/http's plain-text error answers and
// returns its status and a detail for the JSON body.
func parsePlainError(p []byte) (code int, detail string, ok bool) {
	const proto = "HTTP/1.1 "
	if !bytes.HasPrefix(p, []byte(proto)) {
		return 0, "", false
	}
	status, body, found := strings.Cut(string(p[len(proto):]), plainErrorHeaders)
	if !found || len(status) < 5 || status[3] != ' ' {
		return 0, "", false
	}
	code, err := strconv.Atoi(status[:3])
	if err != nil || code < 400 || code > 599 {
		return 0, "", false
	}
	if body != status && !(code == http.StatusNotImplemented && body == "Unsupported transfer encoding") {
		return 0, "", false
	}
	rest, ok := strings.CutPrefix(status[4:], http.StatusText(code))
	if !ok {
		return 0, "", false
	}
	switch {
	case code == http.StatusNotImplemented:
		detail = "unsupported Transfer-Encoding: only chunked is accepted"
	case code == http.StatusRequestHeaderFieldsTooLarge:
		detail = "request headers too large"
	case strings.HasPrefix(rest, ": "):
		detail = "malformed request: " + rest[2:]
	case rest == "":
		detail = "malformed request"
	default:
		return 0, "", false
	}
	return code, detail, true
}

// jsonErrorResponse is a complete HTTP response carrying a gateway error.
func jsonErrorResponse(code int, detail string) string {
	body, _ := json.Marshal(apierr.New(code, detail))
	return "HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n" +
		"Content-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)+1) + "\r\n" +
		"X-Content-Type-Options: nosniff\r\n" +
		"Connection: close\r\n\r\n" + string(body) + "\n"
}
