package api

import (
	"net/http"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

type testEventRequest struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

// sendTestEvent is POST /v1/studies/{study}/webhooks/{id}/test: 202 with
// the delivery of the example payload to this webhook.
func (s *Server) sendTestEvent(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	var req testEventRequest
	if err := decode(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	d, err := s.svc.Events.SendTest(r.Context(), p, study, id, service.TestInput{Type: req.Type, Status: req.Status})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, renderDelivery(d))
}
