package api

import (
	"net/http"
	"strings"

	"github.com/hookshot/hookshot"
)

// routedMethods are the methods unrouted tries a path with. HEAD comes
// with GET; OPTIONS and TRACE are served by no route.
var routedMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// unrouted answers a request that no route takes: 405 with Allow and a
// problem document when the path has routes for other methods, and
// otherwise a 404 problem. The catch-all "/v1/" route matches every
// method, so the mux's own 405 never happens under /v1/; this asks the
// mux, method by method, which routes the path has.
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range routedMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/v1/" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		s.problem(w, r, hookshot.Errorf(hookshot.ENotFound, "There is no API endpoint %s %s.", r.Method, r.URL.Path))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	s.problem(w, r, hookshot.Errorf(hookshot.EMethodNotAllowed, "%s %s is not an API endpoint: this path answers %s.", r.Method, r.URL.Path, strings.Join(allow, ", ")))
}
