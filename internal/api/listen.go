package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/delivery"
	"github.com/hookshot/hookshot/internal/service"
)

// The routes of `hookshot listen` (SPEC §15). The CLI registers a relay,
// long-polls its claim for deliveries, sends each where the service cannot
// reach and reports the answer; it deletes the relay with the ordinary
// DELETE of the webhook when it exits.
func (s *Server) listenRoutes() {
	if s.svc.Relays == nil {
		return
	}
	s.handle("POST /v1/studies/{study}/webhooks/listen", s.listen)
	s.handle("POST /v1/studies/{study}/webhooks/{id}/listen/claim", s.listenClaim)
	s.handle("POST /v1/studies/{study}/webhooks/{id}/listen/results", s.listenResult)
}

type listenRequest struct {
	URL          string                           `json:"url"`
	Events       []string                         `json:"events"`
	EventOptions map[string]hookshot.EventOptions `json:"event_options"`
}

type listenerJSON struct {
	Webhook webhookJSON `json:"webhook"`
	// Secret signs every delivery of the relay; it is answered only here.
	Secret    string    `json:"secret"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) listen(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, ok := s.studyPath(w, r)
	if !ok {
		return
	}
	var req listenRequest
	if err := decode(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	l, err := s.svc.Relays.Listen(r.Context(), p, study, service.ListenInput{URL: req.URL, Events: req.Events, EventOptions: req.EventOptions})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info("hookshot listen relay created", "study_id", study, "webhook_id", l.Webhook.ID, "by", p.Name)
	w.Header().Set("Location", "/v1/studies/"+strconv.FormatInt(study, 10)+"/webhooks/"+strconv.FormatInt(l.Webhook.ID, 10))
	writeJSON(w, http.StatusCreated, listenerJSON{Webhook: renderWebhook(l.Webhook), Secret: l.Secret, ExpiresAt: l.ExpiresAt})
}

type claimRequest struct {
	// Wait is how long to wait for a delivery, e.g. "25s"; at most 25s.
	Wait string `json:"wait"`
}

type relayRequestJSON struct {
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers"`
	bodyJSON
}

type relayDeliveryJSON struct {
	ID      string           `json:"id"`
	Event   string           `json:"event"`
	Attempt int              `json:"attempt"`
	Request relayRequestJSON `json:"request"`
}

type claimJSON struct {
	Deliveries []relayDeliveryJSON `json:"deliveries"`
	ExpiresAt  time.Time           `json:"expires_at"`
}

func (s *Server) listenClaim(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	var req claimRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			s.problem(w, r, err)
			return
		}
	}
	wait := service.MaxListenWait
	if req.Wait != "" {
		d, err := time.ParseDuration(req.Wait)
		if err != nil || d < 0 {
			s.problem(w, r, hookshot.Invalid("The wait must be a duration such as \"25s\", at most 25s.",
				hookshot.FieldError{Field: "wait", Message: "must be a duration such as \"25s\""}))
			return
		}
		wait = d
	}
	got, expires, err := s.svc.Relays.Claim(r.Context(), p, study, id, wait)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	out := claimJSON{Deliveries: make([]relayDeliveryJSON, len(got)), ExpiresAt: expires}
	for i, d := range got {
		out.Deliveries[i] = relayDeliveryJSON{ID: d.DeliveryID, Event: d.Event, Attempt: d.Request.Attempt,
			Request: relayRequestJSON{URL: d.Request.URL, Headers: d.Request.Header, bodyJSON: renderBody(d.Request.Body)}}
	}
	writeJSON(w, http.StatusOK, out)
}

type relayResponseJSON struct {
	Status       int                 `json:"status"`
	Headers      map[string][]string `json:"headers"`
	Body         string              `json:"body"`
	BodyEncoding string              `json:"body_encoding"`
}

type resultRequest struct {
	DeliveryID string             `json:"delivery_id"`
	DurationMS float64            `json:"duration_ms"`
	Response   *relayResponseJSON `json:"response"`
	Error      string             `json:"error"`
}

type resultJSON struct {
	DeliveryID    string                  `json:"delivery_id"`
	Status        hookshot.DeliveryStatus `json:"status"`
	NextAttemptAt *time.Time              `json:"next_attempt_at"`
}

func (s *Server) listenResult(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	var req resultRequest
	if err := decode(r, &req); err != nil {
		s.problem(w, r, err)
		return
	}
	o, err := outcome(req)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	res, err := s.svc.Relays.Report(r.Context(), p, study, id, req.DeliveryID, o)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	out := resultJSON{DeliveryID: req.DeliveryID, Status: res.Status}
	if res.Status == hookshot.DeliveryInProgress {
		out.NextAttemptAt = &res.NextAttemptAt
	}
	writeJSON(w, http.StatusOK, out)
}

// outcome checks a report and turns it into what the engine judges.
func outcome(req resultRequest) (delivery.RelayOutcome, error) {
	var problems []hookshot.FieldError
	if req.DeliveryID == "" {
		problems = append(problems, hookshot.FieldError{Field: "delivery_id", Message: "is required: the id of the claimed delivery"})
	}
	if req.DurationMS < 0 {
		problems = append(problems, hookshot.FieldError{Field: "duration_ms", Message: "must not be negative"})
	}
	o := delivery.RelayOutcome{Duration: time.Duration(req.DurationMS * float64(time.Millisecond)), Error: req.Error}
	switch resp := req.Response; {
	case resp == nil && req.Error == "":
		problems = append(problems, hookshot.FieldError{Field: "response", Message: "is required unless error says why no response came"})
	case resp != nil:
		if resp.Status < 100 || resp.Status > 999 {
			problems = append(problems, hookshot.FieldError{Field: "response.status", Message: "must be an HTTP status code"})
		}
		o.Status, o.Header, o.Body = resp.Status, http.Header(resp.Headers), []byte(resp.Body)
		switch resp.BodyEncoding {
		case "":
		case "base64":
			b, err := base64.StdEncoding.DecodeString(resp.Body)
			if err != nil {
				problems = append(problems, hookshot.FieldError{Field: "response.body", Message: "is not valid base64"})
			}
			o.Body = b
		default:
			problems = append(problems, hookshot.FieldError{Field: "response.body_encoding", Message: "must be \"base64\" or absent"})
		}
	}
	if len(problems) > 0 {
		msg := "The report was not recorded:"
		for _, p := range problems {
			msg += " " + p.Field + " " + p.Message + ";"
		}
		return o, hookshot.Invalid(msg[:len(msg)-1]+".", problems...)
	}
	return o, nil
}
