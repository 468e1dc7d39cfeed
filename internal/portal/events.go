package portal

import (
	"fmt"
	"html/template"
	"net/http"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/catalog"
	"github.com/hookshot/hookshot/internal/service"
)

// eventsPage is how many events the Events page shows at once.
const eventsPage = 25

type eventsData struct {
	Events []*hookshot.EventRecord
	// Webhooks names the study's webhooks by id, so that each delivery
	// says where it went; empty for a caller who may not see them, and
	// then the deliveries are not links either.
	Webhooks map[int64]*hookshot.Webhook
	Types    []catalog.EventType
	Filter   listFilter
	Older    template.URL
	Newest   template.URL
}

func eventsPath(study int64) string { return fmt.Sprintf("/studies/%d/events", study) }

// listEvents is a study's Events page: newest first, filtered by type and
// time, each event linking to its deliveries.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	f := readFilter(r.URL.Query())
	f.Status, f.Find = "", "" // not filters of this page
	d := eventsData{Types: s.svc.Events.Catalog().Types(), Filter: f}
	since, until := d.Filter.window()
	before := r.URL.Query().Get("before")
	if d.Filter.Error == "" {
		recs, next, err := s.svc.Events.ListEvents(r.Context(), sess.principal(), study, service.EventQuery{
			Type: d.Filter.Type, Since: since, Until: until, Cursor: before, Limit: eventsPage,
		})
		switch {
		case err != nil && hookshot.ErrorCode(err) == hookshot.EMalformed && before != "":
			// A damaged ?before= is not worth an error: start over.
			http.Redirect(w, r, string(d.Filter.pageLink(eventsPath(study), "")), http.StatusSeeOther)
			return
		case err != nil && d.Filter.serviceError(err):
		case err != nil:
			s.fail(w, r, sess, err)
			return
		}
		d.Events = recs
		if next != "" {
			d.Older = d.Filter.pageLink(eventsPath(study), next)
		}
	}
	if before != "" {
		d.Newest = d.Filter.pageLink(eventsPath(study), "")
	}
	d.Webhooks = s.webhookNames(r, sess, study)
	s.render(w, r, http.StatusOK, "events", &view{
		Title: fmt.Sprintf("Events of study %d", study), Account: sess.account, CSRF: sess.csrf,
		Study: study, Notice: notice(r), Data: d,
	})
}

// webhookNames maps the study's webhooks by id, or is empty when the
// caller may not see them (a publisher sees events, not webhooks).
func (s *Server) webhookNames(r *http.Request, sess *session, study int64) map[int64]*hookshot.Webhook {
	hooks, err := s.svc.Webhooks.List(r.Context(), sess.principal(), study)
	if err != nil {
		if hookshot.ErrorCode(err) == hookshot.EInternal {
			s.log.Error("listing webhooks for the events page", "study_id", study, "err", err)
		}
		return nil
	}
	out := make(map[int64]*hookshot.Webhook, len(hooks))
	for _, h := range hooks {
		out[h.ID] = h
	}
	return out
}

type eventData struct {
	Event    *hookshot.EventRecord
	Webhooks map[int64]*hookshot.Webhook
}

// showEvent is one event: its payload as published, and where it went.
func (s *Server) showEvent(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	rec, err := s.svc.Events.Event(r.Context(), sess.principal(), study, r.PathValue("event"))
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.render(w, r, http.StatusOK, "event", &view{
		Title: "Event " + rec.Event.ID, Account: sess.account, CSRF: sess.csrf, Study: study, Notice: notice(r),
		Data: eventData{Event: rec, Webhooks: s.webhookNames(r, sess, study)},
	})
}

// webhookName is what people call a webhook: its description, or
// "Webhook 7" when it has none.
func webhookName(w *hookshot.Webhook) string {
	if w == nil {
		return ""
	}
	if w.Description != "" {
		return w.Description
	}
	return fmt.Sprintf("Webhook %d", w.ID)
}
