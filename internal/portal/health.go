package portal

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// lastResultView is a webhook's latest attempt, as the list shows it.
type lastResultView struct {
	Status string // "succeeded", "failed" or "" when there was none
	At     time.Time
	Note   string
}

// lastResult sums up health in the latest attempt's outcome.
func lastResult(h hookshot.Health) lastResultView {
	switch {
	case h.LastFailureAt != nil && (h.LastSuccessAt == nil || h.LastFailureAt.After(*h.LastSuccessAt)):
		note := ""
		if h.ConsecutiveFailures > 1 {
			note = fmt.Sprintf("%d in a row", h.ConsecutiveFailures)
		}
		return lastResultView{Status: "failed", At: *h.LastFailureAt, Note: note}
	case h.LastSuccessAt != nil:
		return lastResultView{Status: "succeeded", At: *h.LastSuccessAt}
	}
	return lastResultView{}
}

// disabledReason says in words why the service disabled a webhook.
func disabledReason(r *hookshot.DisabledReason) string {
	if r == nil {
		return ""
	}
	switch r.Code {
	case hookshot.DisabledGone:
		return "its receiver answered 410 Gone"
	case hookshot.DisabledFailing:
		return "every attempt to its receiver failed for too long"
	}
	return r.Code
}

// windowInputLayout is how a datetime-local field sends its value; the
// portal shows and reads times in UTC.
const windowInputLayout = "2006-01-02T15:04"

// parseWindow reads the since and until fields of a recover or replay
// form. A time that cannot be read is EInvalid naming its field; an
// empty until means now.
func parseWindow(r *http.Request) (service.Window, error) {
	var w service.Window
	var problems []hookshot.FieldError
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &w.Since}, {"until", &w.Until}} {
		v := strings.TrimSpace(r.PostFormValue(f.name))
		if v == "" {
			continue
		}
		t, err := time.ParseInLocation(windowInputLayout, v, time.UTC)
		if err != nil {
			t, err = time.Parse(time.RFC3339, v)
		}
		if err != nil {
			problems = append(problems, hookshot.FieldError{Field: f.name, Message: "is not a date and time such as 2026-12-01T09:30 (UTC)"})
			continue
		}
		*f.dst = t
	}
	if len(problems) > 0 {
		return w, hookshot.Invalid("The window is not valid: "+problems[0].Field+" "+problems[0].Message+".", problems...)
	}
	return w, nil
}

func (s *Server) recoverDeliveries(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	id := pathID(r, "id")
	win, err := parseWindow(r)
	if err == nil {
		var n int
		n, err = s.svc.Events.Recover(r.Context(), sess.principal(), study, id, win)
		if err == nil {
			redirectCount(w, r, webhookPath(study, id), "recovered", n)
			return
		}
	}
	s.fail(w, r, sess, err)
}

func (s *Server) replayEvents(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	id := pathID(r, "id")
	win, err := parseWindow(r)
	if err == nil {
		var n int
		n, err = s.svc.Events.Replay(r.Context(), sess.principal(), study, id, win)
		if err == nil {
			redirectCount(w, r, webhookPath(study, id), "replayed", n)
			return
		}
	}
	s.fail(w, r, sess, err)
}

// redirectCount is redirect with a count for the notice to show.
func redirectCount(w http.ResponseWriter, r *http.Request, path, notice string, n int) {
	http.Redirect(w, r, fmt.Sprintf("%s?notice=%s&n=%d", path, notice, n), http.StatusSeeOther)
}

// countNotice is the notice of a redirectCount, or "" for none.
func countNotice(r *http.Request) string {
	q := r.URL.Query()
	var n int
	if _, err := fmt.Sscan(q.Get("n"), &n); err != nil || n < 0 {
		return ""
	}
	switch q.Get("notice") {
	case "recovered":
		return fmt.Sprintf("%d failed deliveries were queued for one more attempt.", n)
	case "replayed":
		return fmt.Sprintf("%d missed events were queued for delivery.", n)
	}
	return ""
}
