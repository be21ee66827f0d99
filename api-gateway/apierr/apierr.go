// Package apierr writes the gateway's errors: go-micro error JSON,
// {"id":"microlb.gateway","code":N,"detail":"...","status":"..."}, with
// Content-Type application/json set before the status line.
package apierr

import (
	"encoding/json"
	"net/http"
	"strconv"

	merrors "go-micro.dev/v4/errors"
)

// ID is the id of every error the gateway itself produces.
const ID = "microlb.gateway"

// StatusClientClosed is logged (never really sent) when the client went
// away before the response, as nginx does.
const StatusClientClosed = 499

// New returns a gateway error with the HTTP status code and its text.
func New(code int, detail string) *merrors.Error {
	return &merrors.Error{Id: ID, Code: int32(code), Detail: detail, Status: http.StatusText(code)}
}

// Write writes a gateway error with the given status and detail.
func Write(w http.ResponseWriter, code int, detail string) {
	WriteError(w, New(code, detail))
}

// WriteError writes e as JSON with e.Code as the HTTP status. A code that is
// not an HTTP error status (a handler's own 0 or 1000) is sent as 500 with the
// body unchanged.
func WriteError(w http.ResponseWriter, e *merrors.Error) {
	status := int(e.Code)
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	body, err := json.Marshal(e)
	if err != nil { // cannot happen for strings and ints
		body = []byte(`{"id":"` + ID + `","code":500,"status":"Internal Server Error"}`)
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	w.Write(body)
}
