package api

import (
	"context"
	"net/http"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

type healthJSON struct {
	LastSuccessAt       *time.Time `json:"last_success_at"`
	LastFailureAt       *time.Time `json:"last_failure_at"`
	FailingSince        *time.Time `json:"failing_since"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	Last24h             countsJSON `json:"last_24h"`
}

type countsJSON struct {
	Attempts int `json:"attempts"`
	Failures int `json:"failures"`
}

type disabledReasonJSON struct {
	Code  string    `json:"code"`
	Since time.Time `json:"since"`
}

func renderHealth(h hookshot.Health) healthJSON {
	return healthJSON{
		LastSuccessAt:       h.LastSuccessAt,
		LastFailureAt:       h.LastFailureAt,
		FailingSince:        h.FailingSince,
		ConsecutiveFailures: h.ConsecutiveFailures,
		Last24h:             countsJSON{Attempts: h.Last24h.Attempts, Failures: h.Last24h.Failures},
	}
}

// windowJSON is the body of recover and replay. Times are RFC 3339;
// encoding/json refuses anything else with a message naming the field.
type windowJSON struct {
	Since *time.Time `json:"since"`
	Until *time.Time `json:"until"`
}

func (s *Server) window(r *http.Request) (service.Window, error) {
	var in windowJSON
	if err := decode(r, &in); err != nil {
		if hookshot.ErrorCode(err) == hookshot.EMalformed {
			return service.Window{}, &hookshot.Error{Code: hookshot.EMalformed,
				Message: hookshot.ErrorMessage(err) + ` The body is {"since": RFC 3339 time, "until"?: RFC 3339 time}, e.g. {"since": "2026-12-01T00:00:00Z"}.`}
		}
		return service.Window{}, err
	}
	var w service.Window
	if in.Since != nil {
		w.Since = *in.Since
	}
	if in.Until != nil {
		w.Until = *in.Until
	}
	return w, nil
}

func (s *Server) recoverDeliveries(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	s.windowAction(w, r, p, "recovered", "deliveries recovered", s.svc.Events.Recover)
}

func (s *Server) replayEvents(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
	s.windowAction(w, r, p, "replayed", "events replayed", s.svc.Events.Replay)
}

// windowAction answers recover and replay, which differ only in what they
// do with the webhook's window and what they call the count.
func (s *Server) windowAction(w http.ResponseWriter, r *http.Request, p *hookshot.Principal, key, logMsg string,
	do func(context.Context, *hookshot.Principal, int64, int64, service.Window) (int, error)) {
	study, id, ok := s.webhookPath(w, r)
	if !ok {
		return
	}
	win, err := s.window(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	n, err := do(r.Context(), p, study, id, win)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.log.Info(logMsg, "study_id", study, "webhook_id", id, "count", n, "by", p.Name)
	writeJSON(w, http.StatusAccepted, map[string]int{key: n})
}
