package api

import (
	"net/http"

	"github.com/hookshot/hookshot"
)

// managedStudy returns the {study} of the path when p manages it, and
// otherwise writes the problem: 404 for a study p may not see at all, so
// that other studies cannot be probed, and 403 when p sees it but only as
// a publisher.
func (s *Server) managedStudy(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) (int64, bool) {
	study, ok := pathID(r, "study")
	if !ok {
		s.problem(w, r, hookshot.Errorf(hookshot.ENotFound, "Study %q does not exist: study ids are positive integers.", r.PathValue("study")))
		return 0, false
	}
	if p.CanManage(study) {
		return study, true
	}
	if p.CanSee(study) {
		s.problem(w, r, hookshot.Errorf(hookshot.EForbidden, "You may publish events for study %d but not manage its webhooks.", study))
		return 0, false
	}
	s.problem(w, r, hookshot.Errorf(hookshot.ENotFound, "Study %d does not exist, or you may not see it.", study))
	return 0, false
}

// managedWebhook is managedStudy plus the {id} of the path.
func (s *Server) managedWebhook(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) (int64, int64, bool) {
	study, ok := s.managedStudy(w, r, p)
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
