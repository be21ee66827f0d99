package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	merrors "go-micro.dev/v4/errors"
)

// Limits of GET /stream.
const (
	defaultHTTPLines = 5
	maxHTTPLines     = 1000
	httpLineInterval = 50 * time.Millisecond
)

// httpInfo is the JSON body of every plain HTTP answer: which node served
// which request.
type httpInfo struct {
	NodeID  string `json:"node_id"`
	Address string `json:"address"`
	Weight  int    `json:"weight"`
	Zone    string `json:"zone"`
	Version string `json:"version"`
	Path    string `json:"path"`
	Method  string `json:"method"`
}

// httpLine is one line of GET /stream.
type httpLine struct {
	NodeID string `json:"node_id"`
	Seq    int    `json:"seq"`
}

// httpHandler is the HTTP endpoint: GET /stream?n=5 writes n flushed JSON
// lines 50 ms apart, and every other path answers an httpInfo. Both honour
// the latency and fail rate; a failure is a go-micro 500 JSON error or (drop
// mode) a closed connection.
func (p *producer) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", p.serveStream)
	mux.HandleFunc("/", p.serveInfo)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.inflight.Add(1)
		defer p.inflight.Add(-1)
		if err := sleep(r.Context(), p.cfg.latency.draw(p.randN)); err != nil {
			return // the client went away
		}
		if p.faults.fail() {
			p.httpFail(w)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// httpNodeID is the HTTP node's registry id ("" before it is registered).
func (p *producer) httpNodeID() string {
	if p.httpSvc == nil {
		return ""
	}
	return p.httpSvc.Nodes[0].Id
}

// serveInfo answers which node served the request.
func (p *producer) serveInfo(w http.ResponseWriter, r *http.Request) {
	info := httpInfo{
		NodeID:  p.httpNodeID(),
		Address: p.httpLn.Addr().String(),
		Weight:  p.cfg.weight,
		Zone:    p.cfg.zone,
		Version: p.cfg.version,
		Path:    r.URL.Path,
		Method:  r.Method,
	}
	if p.httpSvc != nil {
		info.Address = p.httpSvc.Nodes[0].Address
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(info)
}

// serveStream writes n JSON lines, flushing each, 50 ms apart, and stops when
// the client goes away.
func (p *producer) serveStream(w http.ResponseWriter, r *http.Request) {
	n := defaultHTTPLines
	if s := r.URL.Query().Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > maxHTTPLines {
			writeError(w, merrors.BadRequest(p.cfg.httpName, "n=%q: want 1..%d", s, maxHTTPLines))
			return
		}
		n = v
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	for seq := 1; seq <= n; seq++ {
		if seq > 1 && sleep(r.Context(), httpLineInterval) != nil {
			return
		}
		if err := enc.Encode(httpLine{NodeID: p.httpNodeID(), Seq: seq}); err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// httpFail fails one HTTP request per --fail_mode.
func (p *producer) httpFail(w http.ResponseWriter) {
	if p.faults.mode == failDrop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
	}
	writeError(w, merrors.InternalServerError(p.cfg.httpName, "injected failure (fail_rate %g)", p.faults.rate))
}

// writeError writes a go-micro error as JSON, with its code as the status.
func writeError(w http.ResponseWriter, err error) {
	me := merrors.FromError(err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(me.Code))
	fmt.Fprintln(w, me.Error())
}
