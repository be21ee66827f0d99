// Package middleware holds the layers of the gateway's onion. Each layer is
// a func(http.Handler) http.Handler; the gateway package composes them in
// one ordered list (see gateway.Layers). The layers share one
// *reqinfo.Info per request, created by RequestID, the outermost layer
// (package request says who sets which field).
package middleware

import (
	"net/http"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/reqinfo"
)

// guard makes a layer that guards something (auth, rate limits): serve
// gets the request's Info. Without route information the request is
// refused with a 500 and serve never runs: such a layer fails closed,
// never waving the request through.
func guard(serve func(w http.ResponseWriter, r *http.Request, next http.Handler, info *reqinfo.Info)) func(http.Handler) http.Handler {
	return layer(func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		info := reqinfo.FromContext(r.Context())
		if info == nil || info.Route == nil {
			apierr.Write(w, http.StatusInternalServerError, "no route information; the request is refused")
			return
		}
		serve(w, r, next, info)
	})
}

// layer makes a layer of the onion from serve, which handles a request
// given the next handler.
func layer(serve func(w http.ResponseWriter, r *http.Request, next http.Handler)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { serve(w, r, next) })
	}
}
