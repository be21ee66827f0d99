package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"syscall"

	merrors "go-micro.dev/v4/errors"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/middleware"
	"github.com/microlb/microlb/api-gateway/upstream"
)

// errorHandler answers a proxied request whose attempts all failed:
// 504 for a timeout, 413 for a body over the limit, 502 for a refused,
// reset or otherwise broken connection, and nothing for a client that left.
func (p *Proxy) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	service := ""
	if a := attemptFrom(ctx); a != nil {
		service = a.service
	}
	e := classify(ctx, err, service)
	if e == nil {
		return
	}
	if e.Code >= 500 {
		p.log.WarnContext(ctx, "proxy failed", "service", service, "error", err.Error())
	}
	apierr.WriteError(w, e)
}

// classify maps a proxy error to the client's answer, nil for a client that
// left. The status and detail come from package upstream.
func classify(ctx context.Context, err error, service string) *merrors.Error {
	switch {
	case ctx.Err() != nil && middleware.TimedOut(ctx):
		return upstream.Timeout(service, 0)
	case ctx.Err() != nil:
		return nil
	case isTimeout(err):
		return upstream.Timeout(service, 0)
	}
	if limit, ok := middleware.IsTooLarge(err); ok {
		return apierr.New(http.StatusRequestEntityTooLarge, middleware.TooLarge(limit))
	}
	switch {
	case refused(err):
		return upstream.Refused(service)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return upstream.Reset(service)
	}
	return upstream.Failed(service, "")
}
