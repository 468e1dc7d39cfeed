package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hookshot/hookshot"
)

// handleList registers an authenticated list route that takes only the
// query parameters named, each at most once. A caller who misspells a
// filter (?stauts=failed) would otherwise get the whole list back and
// take it for the filtered one, so anything else is a 400 problem naming
// the parameter.
func (s *Server) handleList(pattern string, params []string, h handlerFunc) {
	s.handle(pattern, func(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
		if err := checkQuery(r.URL.RawQuery, params); err != nil {
			s.problem(w, r, err)
			return
		}
		h(w, r, p)
	})
}

// checkQuery is nil when the query string parses and holds only allowed
// parameters, each once.
func checkQuery(raw string, allowed []string) error {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return hookshot.Errorf(hookshot.EMalformed, "The query string cannot be read: %s. Percent-encode special characters in parameter values.", strings.TrimPrefix(err.Error(), "invalid URL escape "))
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names) // the same request always names the same parameter first
	for _, name := range names {
		if !slices.Contains(allowed, name) {
			takes := "takes no query parameters"
			if len(allowed) > 0 {
				takes = "takes only " + strings.Join(allowed, ", ")
			}
			return &hookshot.Error{Code: hookshot.EMalformed,
				Message:     fmt.Sprintf("The query parameter %q is not known here; this endpoint %s.", name, takes),
				FieldErrors: []hookshot.FieldError{{Field: name, Message: "is not a known query parameter"}}}
		}
		if len(q[name]) > 1 {
			return &hookshot.Error{Code: hookshot.EMalformed,
				Message:     fmt.Sprintf("The query parameter %q is given %d times; give it once.", name, len(q[name])),
				FieldErrors: []hookshot.FieldError{{Field: name, Message: "is given more than once"}}}
		}
	}
	return nil
}
