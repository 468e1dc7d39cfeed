package api

import (
	"net/http"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	query := service.DeliveryQuery{
		Status: q.Get("status"), Event: q.Get("event"), ID: q.Get("id"), EventID: q.Get("event_id"),
		Since: q.Get("since"), Until: q.Get("until"), Cursor: q.Get("cursor"),
	}
	limit, err := pageLimit(q.Get("limit"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	query.Limit = limit
	items, next, err := s.svc.Events.Deliveries(r.Context(), p, study, id, query)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	out := make([]deliveryJSON, len(items))
	for i, d := range items {
		out[i] = renderDelivery(d)
	}
	writeJSON(w, http.StatusOK, list(out, next))
}

func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	d, attempts, err := s.svc.Events.Delivery(r.Context(), p, study, id, r.PathValue("delivery"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	out := renderDelivery(d)
	out.Attempts = make([]attemptJSON, len(attempts))
	for i, a := range attempts {
		out.Attempts[i] = renderAttempt(a)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) resendDelivery(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	d, err := s.svc.Events.Resend(r.Context(), p, study, id, r.PathValue("delivery"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("delivery resent", "study_id", study, "webhook_id", id, "delivery_id", d.ID, "by", p.Name)
	writeJSON(w, http.StatusAccepted, renderDelivery(d))
}
