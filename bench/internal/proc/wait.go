package proc

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddrs returns n distinct "127.0.0.1:port" addresses that were free a
// moment ago.
func FreeAddrs(n int) ([]string, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		held = append(held, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// WaitReady polls ready every 50 ms until it returns nil, p exits, ctx ends
// or timeout passes. Errors carry the tail of p's log.
func WaitReady(ctx context.Context, p *Proc, timeout time.Duration, what string, ready func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = ready(); last == nil {
			return nil
		}
		if p != nil && p.Exited() {
			return fmt.Errorf("%s exited before %s: %v\n%s", p.Name, what, last, p.LogTail(15))
		}
		if time.Now().After(deadline) {
			tail := ""
			if p != nil {
				tail = "\n" + p.LogTail(15)
			}
			return fmt.Errorf("no %s after %v: %v%s", what, timeout, last, tail)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// DialCheck returns a readiness check that succeeds once addr accepts TCP.
func DialCheck(addr string) func() error {
	return func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// HTTPCheck returns a readiness check that succeeds once req gets a 2xx
// answer whose body satisfies ok (nil accepts any body).
func HTTPCheck(newReq func() (*http.Request, error), ok func([]byte) error) func() error {
	c := &http.Client{Timeout: 2 * time.Second}
	return func() error {
		req, err := newReq()
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s %s: %s: %.200s", req.Method, req.URL, resp.Status, body)
		}
		if ok != nil {
			return ok(body)
		}
		return nil
	}
}
