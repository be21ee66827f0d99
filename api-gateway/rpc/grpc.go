package rpc

import (
	"context"
	"errors"
	"net/http"
	"strings"

	grpcc "github.com/go-micro/plugins/v4/client/grpc"
	"go-micro.dev/v4/client"
	raw "go-micro.dev/v4/codec/bytes"
	merrors "go-micro.dev/v4/errors"
	"go-micro.dev/v4/metadata"
	"go-micro.dev/v4/registry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// isGRPC reports whether node was registered by go-micro's gRPC server
// plugin (github.com/go-micro/plugins/v4/server/grpc), which sets the
// metadata protocol, server and transport to "grpc".
func isGRPC(node *registry.Node) bool {
	return node.Metadata["protocol"] == "grpc" || node.Metadata["server"] == "grpc"
}

// grpcBackend calls unary endpoints of gRPC nodes.
type grpcBackend struct{ c client.Client }

func (g grpcBackend) call(ctx context.Context, node *registry.Node, c *unaryCall) ([]byte, error) {
	body := c.body
	if len(body) == 0 {
		body = []byte("{}")
	}
	req := jsonRequest(g.c, c.service, c.endpoint, body, false)
	var rsp raw.Frame
	opts := onNode(node)
	if c.maxResponse > 0 {
		opts = append(opts, grpcc.CallOptions(grpc.MaxCallRecvMsgSize(int(min(c.maxResponse, 1<<31-1)))))
	}
	if err := g.c.Call(metadata.NewContext(ctx, c.md), req, &rsp, opts...); err != nil {
		if me, ok := err.(*merrors.Error); ok && me.Id == responseTooLargeID {
			return nil, errTooLarge(c.service, c.maxResponse)
		}
		return nil, err
	}
	return rsp.Data, nil
}

// grpcStatus is a unary client interceptor: it turns a gRPC status that is
// not a go-micro error into one, before the plugin maps every unknown code
// to a go.micro.client 500. Failures of the connection keep the shapes of
// go-micro's client (see classify): connecting failed is a "connection
// error", a broken call a go.micro.client.transport error, a deadline a 408.
// A status sent by the service maps to its HTTP status: InvalidArgument
// 400, Unauthenticated 401, PermissionDenied 403, NotFound 404,
// ResourceExhausted 429, Unavailable 503, DeadlineExceeded 504, the rest as
// go-micro maps them.
func grpcStatus(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return grpcError(method, invoker(ctx, method, req, reply, cc, opts...))
}

func grpcStreamStatus(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := streamer(ctx, desc, cc, method, opts...)
	return s, grpcError(method, err)
}

// grpcError maps err of a call to method; see grpcStatus.
func grpcError(method string, err error) error {
	if err == nil {
		return nil
	}
	s, ok := status.FromError(err)
	if !ok || len(s.Details()) > 0 {
		return err // not a status, or a go-micro error the plugin decodes
	}
	if me := merrors.Parse(s.Message()); me.Code > 0 {
		return err // a go-micro error in the message
	}
	msg := s.Message()
	switch s.Code() {
	case codes.Unavailable:
		if strings.HasPrefix(msg, "connection error") {
			return merrors.InternalServerError(clientID, "connection error: %s", msg)
		}
		if strings.Contains(msg, "error reading from server") || strings.Contains(msg, "the connection is draining") ||
			strings.Contains(msg, "transport is closing") {
			return merrors.InternalServerError(clientTransportID, "%s", msg)
		}
	case codes.DeadlineExceeded:
		return merrors.Timeout(clientID, "%s", msg)
	case codes.Canceled:
		return merrors.Timeout(clientID, "%s", context.Canceled.Error())
	case codes.Unimplemented:
		if strings.HasPrefix(msg, "unknown service") {
			// go-micro's gRPC server: no such handler or method.
			return errors.New("rpc: can't find method: " + msg)
		}
	case codes.ResourceExhausted:
		if strings.Contains(msg, "received message larger than max") {
			return &merrors.Error{Id: responseTooLargeID, Code: http.StatusBadGateway, Detail: msg}
		}
	}
	code := grpcHTTP[s.Code()]
	if code == 0 {
		code = http.StatusInternalServerError
	}
	svc := strings.TrimPrefix(method, "/")
	if i := strings.IndexByte(svc, '/'); i >= 0 {
		svc = svc[:i]
	}
	return &merrors.Error{Id: svc, Code: int32(code), Detail: msg, Status: http.StatusText(code)}
}

// grpcHTTP maps gRPC codes to HTTP statuses (as grpc-gateway does, with
// DeadlineExceeded the gateway's 504).
var grpcHTTP = map[codes.Code]int{
	codes.InvalidArgument:    http.StatusBadRequest,
	codes.OutOfRange:         http.StatusBadRequest,
	codes.Unauthenticated:    http.StatusUnauthorized,
	codes.PermissionDenied:   http.StatusForbidden,
	codes.NotFound:           http.StatusNotFound,
	codes.AlreadyExists:      http.StatusConflict,
	codes.Aborted:            http.StatusConflict,
	codes.FailedPrecondition: http.StatusPreconditionFailed,
	codes.ResourceExhausted:  http.StatusTooManyRequests,
	codes.Unimplemented:      http.StatusNotImplemented,
	codes.Unavailable:        http.StatusServiceUnavailable,
	codes.DeadlineExceeded:   http.StatusGatewayTimeout,
	codes.Internal:           http.StatusInternalServerError,
	codes.Unknown:            http.StatusInternalServerError,
	codes.DataLoss:           http.StatusInternalServerError,
}
