package rpc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"go-micro.dev/v4/client"
	raw "go-micro.dev/v4/codec/bytes"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"
	gselector "go-micro.dev/v4/selector"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/reqinfo"
	"github.com/microlb/microlb/api-gateway/route"
)

// stream calls a server-streaming endpoint and relays each message as it
// arrives: as Server-Sent Events ("data: <json>" events with ids, then an
// "end" event so that EventSource does not reconnect) or as NDJSON (one
// JSON document per line). An error before the first message is an
// ordinary HTTP error; after it, SSE gets an "error" event and NDJSON a last
// line with the go-micro error. The client leaving ends the stream: a mucp
// stream's connection is closed (see cancelTransport), a gRPC stream is
// cancelled with its context.
func (h *Handler) stream(ctx context.Context, w http.ResponseWriter, r *http.Request, rt *route.Route, t route.Target, body []byte, format string, sopts []gselector.SelectOption) {
	st, err := h.openStream(ctx, r, rt, t, body, sopts)
	if err != nil {
		h.fail(w, r, rt, t, err)
		return
	}
	defer st.Close()
	var out messageWriter
	for n := 0; ; n++ {
		var f raw.Frame
		if err := st.Recv(&f); err != nil {
			switch {
			case out == nil && errors.Is(err, io.EOF) && r.Context().Err() == nil:
				newWriter(w, format).end() // an empty stream
			case out == nil:
				h.fail(w, r, rt, t, err)
			case errors.Is(err, io.EOF):
				out.end()
			default:
				if me := toHTTP(r.Context(), err, t.Service, t.Endpoint, h.configured(rt, t.Service), rt.Timeout); me != errClientGone {
					out.fail(me)
				}
			}
			return
		}
		if out == nil {
			out = newWriter(w, format)
		}
		if out.message(f.Data, n) != nil {
			return // the client is gone; the deferred Close ends the stream
		}
	}
}

// openStream opens the stream on one node and sends the request, trying
// another node, as Retry allows, when opening fails. go-micro's generated
// clients open a mucp stream with an empty request and send the real one as
// the first message, and nodes expect exactly that; go-micro's gRPC client
// sends nothing on opening, so the first message is the request there too.
func (h *Handler) openStream(ctx context.Context, r *http.Request, rt *route.Route, t route.Target, body []byte, sopts []gselector.SelectOption) (client.Stream, error) {
	if len(body) == 0 {
		body = []byte("{}")
	}
	next, err := h.sel.Select(t.Service, sopts...)
	if err != nil {
		return nil, selectError(t.Service, err)
	}
	retry := Retry(rt.Idempotent(r.Method))
	info := reqinfo.FromContext(ctx)
	var last error
	for i := 0; i <= rt.Retries; i++ {
		node, err := next()
		if err != nil {
			if last != nil {
				return nil, last
			}
			return nil, selectError(t.Service, err)
		}
		if info != nil {
			info.SetNode(node.Id)
		}
		st, err := h.openOn(ctx, r, rt, t, node, body)
		h.mark(ctx, ctx, t.Service, node, err)
		if err == nil {
			return st, nil
		}
		last = err
		if ok, _ := retry(ctx, nil, i, err); !ok {
			return nil, err
		}
	}
	return nil, last
}

// openOn opens the stream on node and sends the request.
func (h *Handler) openOn(ctx context.Context, r *http.Request, rt *route.Route, t route.Target, node *registry.Node, body []byte) (client.Stream, error) {
	cl := h.streams
	req := []byte("{}")
	if isGRPC(node) {
		cl = h.grpcc
	} else {
		token, release := h.transport.register(r.Context())
		defer release() // the connection binds to the context on its first message
		md, _ := metadata.FromContext(ctx)
		md = metadata.Copy(md)
		md[streamTokenHeader] = token
		ctx = metadata.NewContext(ctx, md)
	}
	opts := onNode(node)
	if rt.StreamTimeout > 0 {
		opts = append(opts, client.WithStreamTimeout(rt.StreamTimeout))
	}
	st, err := cl.Stream(ctx, jsonRequest(cl, t.Service, t.Endpoint, req, true), opts...)
	if err != nil {
		return nil, err
	}
	if err := st.Send(&raw.Frame{Data: body}); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// messageWriter writes a stream's messages in one format.
type messageWriter interface {
	message(data []byte, seq int) error
	fail(e *merrors.Error)
	end()
}

func newWriter(w http.ResponseWriter, format string) messageWriter {
	if format == formatSSE {
		return newSSE(w)
	}
	return newNDJSON(w)
}

type sseWriter struct {
	w http.ResponseWriter
	f *http.ResponseController
}

func newSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &sseWriter{w: w, f: http.NewResponseController(w)}
}

// event writes one unary response as a single event and ends the stream.
func (s *sseWriter) event(data []byte) {
	if s.message(data, 0) == nil {
		s.end()
	}
}

func (s *sseWriter) write(event string, id int, data []byte) error {
	var b bytes.Buffer
	if event != "" {
		b.WriteString("event: " + event + "\n")
	}
	if id >= 0 {
		b.WriteString("id: " + strconv.Itoa(id) + "\n")
	}
	for line := range bytes.SplitSeq(bytes.TrimRight(data, "\r\n"), []byte("\n")) {
		b.WriteString("data: ")
		b.Write(bytes.TrimRight(line, "\r"))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return err
	}
	return s.f.Flush()
}

func (s *sseWriter) message(data []byte, seq int) error { return s.write("", seq+1, data) }
func (s *sseWriter) fail(e *merrors.Error)              { s.write("error", -1, []byte(e.Error())) }
func (s *sseWriter) end()                               { s.write("end", -1, []byte("{}")) }

type ndjsonWriter struct {
	w http.ResponseWriter
	f *http.ResponseController
}

func newNDJSON(w http.ResponseWriter) *ndjsonWriter {
	h := w.Header()
	h.Set("Content-Type", formatNDJSON)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	return &ndjsonWriter{w: w, f: http.NewResponseController(w)}
}

func (n *ndjsonWriter) message(data []byte, _ int) error {
	data = bytes.TrimRight(data, "\r\n")
	buf := make([]byte, 0, len(data)+1)
	buf = append(append(buf, data...), '\n')
	if _, err := n.w.Write(buf); err != nil {
		return err
	}
	return n.f.Flush()
}

func (n *ndjsonWriter) fail(e *merrors.Error) {
	if e.Id == "" {
		e.Id = apierr.ID
	}
	n.message([]byte(e.Error()), 0)
}

func (n *ndjsonWriter) end() { n.f.Flush() }
