package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/microlb/microlb/bench/internal/report"
	"github.com/microlb/microlb/bench/internal/sysload"
	"github.com/microlb/microlb/bench/internal/wrk"
	"github.com/microlb/microlb/bench/peers"
)

// twReusePath is the sysctl net.ipv4.tcp_tw_reuse. 0 forbids reusing a
// local port in TIME_WAIT for a new outgoing connection, as Linux does
// outside loopback by default (2).
const twReusePath = "/proc/sys/net/ipv4/tcp_tw_reuse"

// timeWaitService is the stock node's registry name in the timewait stage,
// apart from the stock stage's nodes.
const timeWaitService = "twgreeter"

// Length of the timewait stage's load: issue 10's 120 s, a few seconds in
// --smoke runs.
const timeWaitDuration, timeWaitSmokeDuration = 120 * time.Second, 3 * time.Second

// timeWaitStage loads one stock mucp node through the gateway as hard as
// wrk can for timeWaitDuration with net.ipv4.tcp_tw_reuse=0, and records
// wrk's errors and the most TIME_WAIT sockets on the node's port seen at
// once. The setting is restored when the stage ends, fails or is
// interrupted. It is skipped when the setting cannot be written.
func (h *harness) timeWaitStage(st *report.Stage) error {
	if err := h.need(binGateway); err != nil {
		return err
	}
	b, err := os.ReadFile(twReusePath)
	if err != nil {
		return skip("cannot read net.ipv4.tcp_tw_reuse: %v", err)
	}
	old := strings.TrimSpace(string(b))
	// Writing the value back is a no-op that tells whether we may set it.
	if err := writeSysctl(twReusePath, old); err != nil {
		return skip("cannot write net.ipv4.tcp_tw_reuse (%v)", err)
	}
	d := timeWaitDuration
	if h.o.smoke {
		d = timeWaitSmokeDuration
	}

	nodes, addrs, err := h.startStockNodes("mucp", timeWaitService, nil)
	if err != nil {
		return err
	}
	_, portStr, _ := net.SplitHostPort(addrs[0])
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return fmt.Errorf("stock node address %q: %w", addrs[0], err)
	}
	gw, url, _, err := h.startGateway("gateway-rpc.yaml.tmpl", peers.Params{})
	if err == nil {
		url += helloPath(timeWaitService)
		_, err = h.waitHello(gw, report.NameGateway, url, 1)
	}
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}

	// From here on the setting is changed: restore it when the stage
	// returns, at once when the run is cancelled (SIGINT, SIGTERM), and
	// before benchrun exits on a second signal without unwinding.
	restore := sync.OnceFunc(func() {
		if err := writeSysctl(twReusePath, old); err != nil {
			h.logf("RESTORING net.ipv4.tcp_tw_reuse=%s FAILED: %v", old, err)
			return
		}
		h.logf("net.ipv4.tcp_tw_reuse restored to %s", old)
	})
	pendingRestore.Store(&restore)
	defer pendingRestore.Store(nil)
	defer restore()
	defer context.AfterFunc(h.ctx, restore)()
	if err := writeSysctl(twReusePath, "0"); err != nil {
		return skip("cannot set net.ipv4.tcp_tw_reuse=0 (%v)", err)
	}
	h.logf("net.ipv4.tcp_tw_reuse=0 (was %s); %v of wrk -c %d -t %d through the gateway to one stock node on port %d",
		old, d, h.o.conns, h.o.threads, port)

	tw := &report.TimeWait{Duration: d, Conns: h.o.conns, Threads: h.o.threads, Node: addrs[0], TwReuse: old}
	var sampleErr error
	sample := func() {
		n, err := countTimeWait(port)
		if err != nil {
			sampleErr = err
			return
		}
		tw.MaxTimeWait = max(tw.MaxTimeWait, n)
		tw.Samples++
		if tw.Samples%10 == 0 {
			h.logf("%d s: %d TIME_WAIT on port %d (max %d)", tw.Samples, n, port, tw.MaxTimeWait)
		}
	}
	if tw.NodeRSSBefore, err = sysload.ProcRSS(nodes[0].Pid()); err != nil {
		return err
	}
	stopSampling := every(time.Second, sample)
	r, err := wrk.Run(h.ctx, h.g, h.o.wrk, "timewait", wrk.Load{URL: url, Threads: h.o.threads, Conns: h.o.conns, Duration: d, Script: h.script})
	stopSampling()
	sample() // the sockets the run's last seconds left behind
	if err != nil {
		return err
	}
	if sampleErr != nil {
		return fmt.Errorf("counting TIME_WAIT: %w", sampleErr)
	}
	if tw.NodeRSSAfter, err = sysload.ProcRSS(nodes[0].Pid()); err != nil {
		return err
	}
	tw.Requests, tw.RPS, tw.P99 = r.Requests, r.RPS, r.P99
	tw.Non2xx, tw.SocketErrors = r.Non2xx, r.Connect+r.Read+r.Write+r.Timeout
	h.res.TimeWait = tw
	h.logf("%d requests, %d errors (%d non-2xx, %d socket), max %d TIME_WAIT on port %d; node RSS %d → %d MiB",
		tw.Requests, tw.Errors(), tw.Non2xx, tw.SocketErrors, tw.MaxTimeWait, port, tw.NodeRSSBefore>>20, tw.NodeRSSAfter>>20)
	return nil
}

// pendingRestore holds the timewait stage's restore of
// net.ipv4.tcp_tw_reuse while the setting is changed.
var pendingRestore atomic.Pointer[func()]

// restorePending restores a changed net.ipv4.tcp_tw_reuse, if any, and
// returns when it is done. main's signal handler calls it before exiting.
func restorePending() {
	if f := pendingRestore.Load(); f != nil {
		(*f)()
	}
}

// writeSysctl writes value to the /proc/sys file path.
func writeSysctl(path, value string) error { return os.WriteFile(path, []byte(value+"\n"), 0) }

// countTimeWait returns the number of TCP sockets, IPv4 and IPv6, in
// TIME_WAIT with port at either end.
func countTimeWait(port int) (int, error) {
	n := 0
	for _, p := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) && p == "/proc/net/tcp6" { // no IPv6
			continue
		}
		if err != nil {
			return 0, err
		}
		c, err := timeWaitOnPort(b, port)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", p, err)
		}
		n += c
	}
	return n, nil
}

// tcpTimeWait is the state column's value for TIME_WAIT in /proc/net/tcp.
const tcpTimeWait = "06"

// timeWaitOnPort counts the rows of a /proc/net/tcp or tcp6 table in state
// TIME_WAIT whose local or remote port is port. Rows look like
//
//	0: 0100007F:1F90 0100007F:C350 06 00000000:00000000 03:00000F9C 00000000 0 0 0 3 0000000000000000
//
// with addresses as hex IP:port; the first line is the header.
func timeWaitOnPort(table []byte, port int) (int, error) {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(table))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || f[3] != tcpTimeWait {
			continue
		}
		for _, a := range f[1:3] {
			_, hex, ok := strings.Cut(a, ":")
			p, err := strconv.ParseUint(hex, 16, 16)
			if !ok || err != nil {
				return 0, fmt.Errorf("bad address %q", a)
			}
			if int(p) == port {
				n++
				break
			}
		}
	}
	return n, sc.Err()
}
