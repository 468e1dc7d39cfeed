package api

import (
	_ "embed"
	"net/http"

	"github.com/hookshot/hookshot"
)

// openAPIDocument describes every /v1 route (SPEC §15). It is written by
// hand, and tests hold it against the routes registered here and against
// every request and response of the end-to-end tests.
//
//go:embed openapi.json
var openAPIDocument []byte

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	if r.URL.RawQuery != "" {
		s.problem(w, r, hookshot.Errorf(hookshot.EMalformed, "The OpenAPI document takes no query parameters."))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// It changes only with the binary; an hour's caching spares clients
	// that fetch it on every start.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(openAPIDocument)
}
