package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/middleware"
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
	code, detail := classify(ctx, err, service)
	if code == apierr.StatusClientClosed {
		return
	}
	if code >= 500 {
		p.log.WarnContext(ctx, "proxy failed", "service", service, "error", err.Error())
	}
	apierr.Write(w, code, detail)
}

// classify maps a proxy error to a status and detail.
func classify(ctx context.Context, err error, service string) (int, string) {
	var ne net.Error
	switch {
	case ctx.Err() != nil && middleware.TimedOut(ctx):
		return http.StatusGatewayTimeout, "upstream " + service + " timed out"
	case ctx.Err() != nil:
		return apierr.StatusClientClosed, ""
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return http.StatusGatewayTimeout, "upstream " + service + " timed out"
	}
	if limit, ok := middleware.IsTooLarge(err); ok {
		return http.StatusRequestEntityTooLarge, middleware.TooLarge(limit)
	}
	switch {
	case refused(err):
		return http.StatusBadGateway, "upstream " + service + " refused the connection"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadGateway, "upstream " + service + " reset the connection"
	}
	return http.StatusBadGateway, "upstream " + service + " failed"
}
