package api

import (
	"encoding/json"
	"net/http"

	"go.opentelemetry.io/otel/attribute"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

type publishRequest struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

type publishResponse struct {
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	Deliveries []publishDelivery `json:"deliveries"`
}

type publishDelivery struct {
	ID        string `json:"id"`
	WebhookID int64  `json:"webhook_id"`
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, ok := pathID(r, "study")
	if !ok {
		// As the service says it of a study the caller may not see: no
		// caller sees this one.
		s.problem(w, r, hookshot.Errorf(hookshot.ENotFound, "Study %q does not exist, or you may not see it.", r.PathValue("study")))
		return
	}
	var req publishRequest
	if err := decode(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	pub, err := s.svc.Events.Publish(r.Context(), p, study, service.PublishInput{
		Type:           req.Type,
		Payload:        req.Payload,
		TraceParent:    traceParent(r),
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	annotate(r, attribute.String("hookshot.event.id", pub.Event.ID), attribute.String("hookshot.event.type", pub.Event.Type),
		attribute.Int64("hookshot.study.id", study), attribute.Int("hookshot.deliveries", len(pub.Deliveries)),
		attribute.Bool("hookshot.idempotent_replay", pub.Replayed))
	if pub.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusAccepted, renderPublication(pub))
}

func renderPublication(pub *hookshot.Publication) publishResponse {
	out := publishResponse{ID: pub.Event.ID, Type: pub.Event.Type, Deliveries: make([]publishDelivery, len(pub.Deliveries))}
	for i, d := range pub.Deliveries {
		out.Deliveries[i] = publishDelivery{ID: d.ID, WebhookID: d.WebhookID}
	}
	return out
}

func (s *Server) eventTypes(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	writeJSON(w, http.StatusOK, list(s.svc.Events.Catalog().Types(), ""))
}
