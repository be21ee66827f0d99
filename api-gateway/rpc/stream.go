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

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/route"
)

// stream calls a server-streaming endpoint and relays each message as it
// arrives: as Server-Sent Events ("data: <json>" events with ids, then an
// "end" event so that EventSource does not reconnect) or as NDJSON (one
// JSON document per line). An error before the first message is an
// ordinary HTTP error; after it, SSE gets an "error" event and NDJSON a last
// line with the go-micro error. The client leaving closes the stream's
// connection (see cancelTransport), which ends the node's handler.
func (h *Handler) stream(ctx context.Context, w http.ResponseWriter, r *http.Request, rt *route.Route, t route.Target, body []byte, format string, opts []client.CallOption) {
	token, release := h.transport.register(r.Context())
	defer release()
	md, _ := metadata.FromContext(ctx)
	md[streamTokenHeader] = token
	delete(md, nodeDeadlineHeader) // a stream's deadline is its stream timeout
	ctx = metadata.NewContext(ctx, md)

	// go-micro's generated clients open the stream with an empty request and
	// send the real one as the first message; nodes expect exactly that.
	req := h.client.NewRequest(t.Service, t.Endpoint, &raw.Frame{Data: []byte("{}")},
		client.WithContentType("application/json"), client.StreamingRequest())
	st, err := h.client.Stream(ctx, req, opts...)
	if err != nil {
		h.fail(w, r, rt, t, err)
		return
	}
	defer st.Close()
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := st.Send(&raw.Frame{Data: body}); err != nil {
		h.fail(w, r, rt, t, err)
		return
	}
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
