package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

type eventJSON struct {
	ID         string              `json:"id"`
	Type       string              `json:"type"`
	CreatedAt  time.Time           `json:"created_at"`
	Deliveries []eventDeliveryJSON `json:"deliveries"`
}

// eventDeliveryJSON is where an event went: enough to follow it to the
// delivery (GET .../webhooks/{webhook_id}/deliveries/{id}).
type eventDeliveryJSON struct {
	ID        string                  `json:"id"`
	WebhookID int64                   `json:"webhook_id"`
	Status    hookshot.DeliveryStatus `json:"status"`
}

func renderEvent(rec *hookshot.EventRecord) eventJSON {
	out := eventJSON{ID: rec.Event.ID, Type: rec.Event.Type, CreatedAt: rec.Event.CreatedAt, Deliveries: make([]eventDeliveryJSON, len(rec.Deliveries))}
	for i, d := range rec.Deliveries {
		out.Deliveries[i] = eventDeliveryJSON{ID: d.ID, WebhookID: d.WebhookID, Status: d.Status}
	}
	return out
}

// listEvents answers GET /v1/studies/{study}/events, newest first.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, ok := s.studyPath(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	query := service.EventQuery{Type: q.Get("type"), Since: q.Get("since"), Until: q.Get("until"), Cursor: q.Get("cursor")}
	limit, err := pageLimit(q.Get("limit"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	query.Limit = limit
	recs, next, err := s.svc.Events.ListEvents(r.Context(), p, study, query)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	items := make([]eventJSON, len(recs))
	for i, rec := range recs {
		items[i] = renderEvent(rec)
	}
	writeJSON(w, http.StatusOK, list(items, next))
}

// getEvent answers GET /v1/studies/{study}/events/{event}: the event with
// its payload, the producer's bytes as they were published.
func (s *Server) getEvent(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, ok := s.studyPath(w, r)
	if !ok {
		return
	}
	rec, err := s.svc.Events.Event(r.Context(), p, study, r.PathValue("event"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	body, err := withRawField(renderEvent(rec), "payload", rec.Event.Payload)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// withRawField encodes v, a struct, with one more member whose value is
// raw, unchanged. encoding/json would compact a json.RawMessage (and a
// Marshaler's output), and the payload must read as it was published,
// whitespace, key order and duplicate keys included; the catalog checked
// on publish that it is JSON.
func withRawField(v any, name string, raw []byte) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	obj := bytes.TrimRight(buf.Bytes(), "\n")
	if len(obj) < 2 || obj[len(obj)-1] != '}' {
		return nil, hookshot.Errorf(hookshot.EInternal, "encoding %T: not an object", v)
	}
	key, _ := json.Marshal(name)
	out := make([]byte, 0, len(obj)+len(key)+len(raw)+4)
	out = append(out, obj[:len(obj)-1]...)
	if len(obj) > 2 {
		out = append(out, ',')
	}
	out = append(out, key...)
	out = append(out, ':')
	out = append(out, raw...)
	out = append(out, '}', '\n')
	return out, nil
}
