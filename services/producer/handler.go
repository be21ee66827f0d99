package main

import (
	"context"
	"encoding/json"

	raw "go-micro.dev/v4/codec/bytes"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/metadata"
	"google.golang.org/protobuf/proto"

	pb "github.com/microlb/microlb/proto/greeter"
)

var _ pb.GreeterHandler = (*greeter)(nil)

// greeter serves Greeter.Hello and Greeter.Stream; every reply names the
// node that served it.
type greeter struct{ p *producer }

// Hello answers one greeting, after the demo latency and fail rate.
func (g *greeter) Hello(ctx context.Context, req *pb.HelloRequest, rsp *pb.HelloResponse) error {
	if err := g.p.inject(ctx); err != nil {
		return err
	}
	g.p.fill(rsp)
	rsp.Message = "Hello " + req.Name
	return nil
}

// Stream sends req.Count greetings (default 3) numbered from 1, each after
// the demo latency. The fail rate is applied once, before the first reply. It
// stops early when the caller goes away. go-micro tells the handler nothing
// then (the context is not cancelled and Send reports no error), and reading
// from the stream concurrently with Send races inside go-micro's codec, so it
// watches the caller's connection instead: the client closes its stream's
// connection when it closes the stream.
func (g *greeter) Stream(ctx context.Context, req *pb.HelloRequest, stream pb.Greeter_StreamStream) error {
	n := streamCount(req.Count)
	if err := g.p.fault(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if remote, ok := metadata.Get(ctx, "Remote"); ok {
		if gone := g.p.rpcLn.closed(remote); gone != nil {
			go func() {
				select {
				case <-gone:
					cancel()
				case <-ctx.Done():
				}
			}()
		}
	}
	for seq := int32(1); seq <= n; seq++ {
		if err := sleep(ctx, g.p.cfg.latency.draw(g.p.randN)); err != nil {
			return merrors.Timeout(g.p.info().id, "stream: %v", err)
		}
		rsp := &pb.HelloResponse{Message: "Hello " + req.Name, Seq: seq}
		g.p.fill(rsp)
		if err := sendFrame(ctx, stream, rsp); err != nil {
			return err
		}
	}
	return nil
}

// sendFrame sends rsp on stream as a pre-encoded frame. go-micro v4.11's
// server codec hands the transport a slice of its reusable write buffer and
// sends it asynchronously, so consecutive stream.Send calls overwrite the
// replies still queued: every reply arrives as the last one (and -race
// reports it). A raw frame's bytes are the handler's own. The frame is
// encoded as go-micro's codec for the call's content type would; other
// content types fall back to stream.Send.
func sendFrame(ctx context.Context, stream pb.Greeter_StreamStream, rsp *pb.HelloResponse) error {
	var b []byte
	var err error
	switch ct, _ := metadata.Get(ctx, "Content-Type"); ct {
	case "application/json": // go-micro's json codec encodes with encoding/json
		b, err = json.Marshal(rsp)
	case "application/protobuf":
		b, err = proto.Marshal(rsp)
	default:
		return stream.Send(rsp)
	}
	if err != nil {
		return err
	}
	return stream.SendMsg(&raw.Frame{Data: b})
}

// streamCount is the number of replies Stream sends for a requested count.
func streamCount(count int32) int32 {
	switch {
	case count <= 0:
		return defaultStreamCount
	case count > maxStreamCount:
		return maxStreamCount
	}
	return count
}
