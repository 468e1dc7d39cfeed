package api

import (
	"net/http"

	"github.com/hookshot/hookshot"
)

// studyPath parses the {study} of the path, writing the problem when it is
// no study id. Whether the caller may see the study is the service's to
// say.
func (s *Server) studyPath(w http.ResponseWriter, r *http.Request) (int64, bool) {
	study, ok := pathID(r, "study")
	if !ok {
		s.problem(w, r, hookshot.Errorf(hookshot.ENotFound, "Study %q does not exist: study ids are positive integers.", r.PathValue("study")))
	}
	return study, ok
}

// webhookPath is studyPath plus the {id} of the path.
func (s *Server) webhookPath(w http.ResponseWriter, r *http.Request) (int64, int64, bool) {
	study, ok := s.studyPath(w, r)
	if !ok {
		return 0, 0, false
	}
	id, ok := pathID(r, "id")
	if !ok {
		s.problem(w, r, hookshot.Errorf(hookshot.ENotFound, "Webhook %q does not exist: webhook ids are positive integers.", r.PathValue("id")))
		return 0, 0, false
	}
	return study, id, true
}
