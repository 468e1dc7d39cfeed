package portal

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/catalog"
	"github.com/hookshot/hookshot/internal/service"
	"github.com/hookshot/hookshot/webhook"
)

// recentDeliveries is how many deliveries the Details page shows at once.
const recentDeliveries = 20

type studySummary struct {
	ID       int64
	Webhooks int
	Enabled  int
}

type homeData struct {
	Studies []studySummary
	Admin   bool
	Error   string
}

// home lists the studies the account manages. A manager of one study goes
// straight to it.
func (s *Server) home(w http.ResponseWriter, r *http.Request, sess *session) {
	a := sess.account
	manage := slices.Clone(a.Manage)
	slices.Sort(manage)
	if len(manage) == 1 && !a.Admin {
		http.Redirect(w, r, studyPath(manage[0]), http.StatusSeeOther)
		return
	}
	d := homeData{Admin: a.Admin}
	if a.Admin {
		// An admin manages every study: list those that have webhooks.
		studies, err := s.svc.Webhooks.Studies(r.Context(), sess.principal())
		if err != nil {
			s.fail(w, r, sess, err)
			return
		}
		for _, st := range studies {
			d.Studies = append(d.Studies, studySummary{ID: st.StudyID, Webhooks: st.Webhooks, Enabled: st.Active})
		}
		manage = nil
	}
	for _, id := range manage {
		hooks, err := s.svc.Webhooks.List(r.Context(), sess.principal(), id)
		if err != nil {
			s.fail(w, r, sess, err)
			return
		}
		sum := studySummary{ID: id, Webhooks: len(hooks)}
		for _, h := range hooks {
			if h.Active {
				sum.Enabled++
			}
		}
		d.Studies = append(d.Studies, sum)
	}
	s.render(w, r, http.StatusOK, "home", &view{Title: "Studies", Account: a, CSRF: sess.csrf, Notice: notice(r), Data: d})
}

// openStudy is the target of the "open a study" form that admins, who
// manage every study, get on the home page.
func (s *Server) openStudy(w http.ResponseWriter, r *http.Request, sess *session) {
	id, err := strconv.ParseInt(strings.TrimSpace(r.URL.Query().Get("study")), 10, 64)
	if err != nil || id <= 0 {
		d := homeData{Admin: sess.account.Admin, Error: "Enter a study id: a whole number above zero."}
		s.render(w, r, http.StatusUnprocessableEntity, "home", &view{Title: "Studies", Account: sess.account, CSRF: sess.csrf, Data: d})
		return
	}
	http.Redirect(w, r, studyPath(id), http.StatusSeeOther)
}

func studyPath(study int64) string { return fmt.Sprintf("/studies/%d/webhooks", study) }

func webhookPath(study, id int64) string { return fmt.Sprintf("/studies/%d/webhooks/%d", study, id) }

type listData struct {
	Webhooks []*hookshot.Webhook
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	hooks, err := s.svc.Webhooks.List(r.Context(), sess.principal(), study)
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.render(w, r, http.StatusOK, "webhooks", &view{
		Title: fmt.Sprintf("Webhooks of study %d", study), Account: sess.account, CSRF: sess.csrf,
		Study: study, Notice: notice(r), Data: listData{Webhooks: hooks},
	})
}

type formData struct {
	Form    *webhookForm
	Webhook *hookshot.Webhook // nil on New
	Types   []catalog.EventType
	Auth    []authChoice
	Formats []authChoice
}

type authChoice struct {
	Value, Label, Hint string
}

var authChoices = []authChoice{
	{"none", "None", "The receiver gets no credentials."},
	{"basic", "Basic", "An Authorization: Basic header with a user name and password."},
	{"hmac", "HMAC signature", "Each request is signed with a shared secret (X-ActiGraph-Signature, or webhook-signature v1 in format standard)."},
	{"oauth2", "OAuth2 client credentials", "A bearer token fetched from your token endpoint."},
	{"ed25519", "Ed25519 signature", "Format standard only: each request is signed with the study's key (webhook-signature v1a); receivers verify with the study's public JWKS, nothing is shared."},
}

// formatChoices are the signature formats of SPEC §16.
var formatChoices = []authChoice{
	{webhook.FormatActiGraph, "ActiGraph", "X-ActiGraph-Signature over the body, as CentrePoint receivers expect."},
	{webhook.FormatStandard, "Standard Webhooks", "webhook-id, webhook-timestamp and webhook-signature over id, time and body: replay-protected, verifiable with the Standard Webhooks libraries."},
}

func (s *Server) showForm(w http.ResponseWriter, r *http.Request, sess *session, study int64, status int, f *webhookForm, hook *hookshot.Webhook) {
	title := "New webhook"
	if hook != nil {
		title = "Edit " + webhookName(hook)
	}
	s.render(w, r, status, "form", &view{
		Title: title, Account: sess.account, CSRF: sess.csrf, Study: study,
		Data: formData{Form: f, Webhook: hook, Types: s.svc.Events.Catalog().Types(), Auth: authChoices, Formats: formatChoices},
	})
}

func (s *Server) newWebhook(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	if err := s.svc.Webhooks.Authorize(sess.principal(), study); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	s.showForm(w, r, sess, study, http.StatusOK, &webhookForm{AuthType: "none", Format: webhook.FormatActiGraph, Active: true, ChangeCredentials: true}, nil)
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	f := parseWebhookForm(r, s.svc.Events.Catalog(), false)
	active := f.Active
	hook, generated, err := s.svc.Webhooks.CreateWithSecret(r.Context(), sess.principal(), study, service.WebhookInput{
		Description: f.Description, URL: f.URL, Auth: f.auth(), Format: f.Format, Events: f.Events, EventOptions: f.eventOptions(), Active: &active,
	})
	if err != nil {
		if f.setErrors(err) {
			s.showForm(w, r, sess, study, http.StatusUnprocessableEntity, f, nil)
			return
		}
		s.fail(w, r, sess, err)
		return
	}
	if generated != "" {
		s.showSecret(w, r, sess, hook, generated, "The webhook was created. A validation request is on its way to the receiver.")
		return
	}
	redirect(w, r, webhookPath(study, hook.ID), "created")
}

// webhook reads the {id} of the path, showing "not found" itself.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request, sess *session, study int64) (*hookshot.Webhook, bool) {
	id := pathID(r, "id")
	if id == 0 {
		s.errorPage(w, r, sess, http.StatusNotFound, "This webhook does not exist.")
		return nil, false
	}
	hook, err := s.svc.Webhooks.Get(r.Context(), sess.principal(), study, id)
	if err != nil {
		s.fail(w, r, sess, err)
		return nil, false
	}
	return hook, true
}

func (s *Server) editWebhook(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	hook, ok := s.webhook(w, r, sess, study)
	if !ok {
		return
	}
	s.showForm(w, r, sess, study, http.StatusOK, formFromWebhook(hook), hook)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	hook, ok := s.webhook(w, r, sess, study)
	if !ok {
		return
	}
	f := parseWebhookForm(r, s.svc.Events.Catalog(), true)
	f.checkCredentials(hook.Auth.Type)
	if len(f.Errors) > 0 {
		s.showForm(w, r, sess, study, http.StatusUnprocessableEntity, f, hook)
		return
	}
	opts := f.eventOptions()
	events := f.Events
	if events == nil {
		events = []string{}
	}
	updated, err := s.svc.Webhooks.Update(r.Context(), sess.principal(), study, hook.ID, service.WebhookPatch{
		Description: &f.Description, URL: &f.URL, Auth: f.auth(), Format: &f.Format, Events: &events, EventOptions: &opts, Active: &f.Active,
	})
	if err != nil {
		if f.setErrors(err) {
			s.showForm(w, r, sess, study, http.StatusUnprocessableEntity, f, hook)
			return
		}
		s.fail(w, r, sess, err)
		return
	}
	note := "saved"
	if updated.Validation.DeliveryID != hook.Validation.DeliveryID {
		note = "revalidate"
	}
	redirect(w, r, webhookPath(study, hook.ID), note)
}

// deliveryView is a delivery with its attempts, newest attempt first.
type deliveryView = service.DeliveryHistory

type detailsData struct {
	Webhook    *hookshot.Webhook
	Deliveries []deliveryView
	// Older is the cursor of the next page of deliveries; Newer is set
	// when this page is not the first.
	Older string
	Newer bool
	// State sums up what may still change (the validation, deliveries in
	// progress); the page's script polls it and reloads when it changes.
	State string
	Busy  bool
	// TestTypes are the event types a test event may be sent of.
	TestTypes []string
	// Filter is the deliveries' filter form; the page links keep it.
	Filter     listFilter
	Types      []catalog.EventType
	OlderLink  template.URL
	NewestLink template.URL
	// FoundEvent is the event whose deliveries the search box found.
	FoundEvent string
	// RotateError says why a secret rotation was refused.
	RotateError string
	// OverlapUntil is the end of a secret rotation's overlap, while it
	// lasts.
	OverlapUntil *time.Time
	// SigningKeys are the study's keys in force, for ed25519 webhooks.
	SigningKeys []*hookshot.SigningKey
}

func (s *Server) showWebhook(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	hook, ok := s.webhook(w, r, sess, study)
	if !ok {
		return
	}
	cursor := r.URL.Query().Get("before")
	filter := readFilter(r.URL.Query())
	d, err := s.details(r, sess, hook, cursor, &filter)
	if hookshot.ErrorCode(err) == hookshot.EMalformed && cursor != "" {
		// A damaged ?before= is not worth an error page: start over.
		http.Redirect(w, r, string(filter.pageLink(webhookPath(study, hook.ID), "")), http.StatusSeeOther)
		return
	}
	if err != nil && !filter.serviceError(err) {
		s.fail(w, r, sess, err)
		return
	}
	if d == nil {
		d = &detailsData{Webhook: hook}
	}
	if err := s.addSignatures(r, d); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	d.Newer = cursor != ""
	d.Filter, d.Types = filter, s.svc.Events.Catalog().Types()
	d.NewestLink = filter.pageLink(webhookPath(study, hook.ID), "")
	if d.Older != "" {
		d.OlderLink = filter.pageLink(webhookPath(study, hook.ID), d.Older)
	}
	if filter.Active() {
		// The page's poll compares with the unfiltered list, and would
		// reload a filtered page for deliveries it does not show.
		d.Busy = false
	}
	s.render(w, r, http.StatusOK, "webhook", &view{
		Title: webhookName(hook), Account: sess.account, CSRF: sess.csrf,
		Study: study, Notice: notice(r), Data: d,
	})
}

// details reads the Details page's deliveries by the filter. The search
// box takes a delivery GUID or an event id: a GUID that is no delivery of
// this webhook is looked up as an event's. The deliveries come without
// attempts: their bodies and headers, up to a megabyte and 128 KiB each,
// are for the delivery's own page (SPEC §12), so this page stays small
// however large the receivers' answers are.
func (s *Server) details(r *http.Request, sess *session, hook *hookshot.Webhook, cursor string, f *listFilter) (*detailsData, error) {
	q := service.DeliveryQuery{Status: f.Status, Event: f.Type, ID: f.Find, Cursor: cursor, Limit: recentDeliveries}
	q.Since, q.Until = f.window()
	if f.Error != "" {
		return nil, nil
	}
	list, next, err := s.svc.Events.Deliveries(r.Context(), sess.principal(), hook.StudyID, hook.ID, q)
	foundEvent := ""
	if err == nil && len(list) == 0 && f.Find != "" && cursor == "" {
		q.ID, q.EventID = "", f.Find
		list, next, err = s.svc.Events.Deliveries(r.Context(), sess.principal(), hook.StudyID, hook.ID, q)
		if len(list) > 0 {
			foundEvent = f.Find
		}
	}
	if err != nil {
		return nil, err
	}
	d := &detailsData{Webhook: hook, Deliveries: make([]deliveryView, len(list)), Older: next, FoundEvent: foundEvent}
	for _, t := range s.svc.Events.Catalog().Types() {
		d.TestTypes = append(d.TestTypes, t.Name)
	}
	for i, del := range list {
		d.Deliveries[i] = deliveryView{Delivery: del}
	}
	d.State, d.Busy = state(hook, list)
	return d, nil
}

// state sums up a webhook and its latest deliveries in a string that
// changes whenever the Details page would show something new.
func state(hook *hookshot.Webhook, list []*hookshot.Delivery) (string, bool) {
	var b strings.Builder
	busy := hook.Validation.Status == hookshot.ValidationPending
	fmt.Fprintf(&b, "%s %t", hook.Validation.Status, hook.Active)
	for _, d := range list {
		fmt.Fprintf(&b, " %s:%s:%d", d.ID, d.Status, d.Attempts)
		busy = busy || d.Status == hookshot.DeliveryInProgress
	}
	return b.String(), busy
}

// webhookState answers the Details page's poll with the page's state.
func (s *Server) webhookState(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	hook, err := s.svc.Webhooks.Get(r.Context(), sess.principal(), study, pathID(r, "id"))
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	list, _, err := s.svc.Events.Deliveries(r.Context(), sess.principal(), study, hook.ID, service.DeliveryQuery{Limit: recentDeliveries})
	if err != nil {
		s.log.Error("polling a webhook's state", "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	st, busy := state(hook, list)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"state": st, "busy": busy})
}

// pathID reads an id from the path: a positive integer, or 0, which no
// study, webhook or delivery has, so the lookup that follows says "not
// found".
func pathID(r *http.Request, name string) int64 {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (s *Server) validateWebhook(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	if _, _, err := s.svc.Webhooks.Validate(r.Context(), sess.principal(), study, pathID(r, "id")); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	redirect(w, r, webhookPath(study, pathID(r, "id")), "validating")
}

func (s *Server) enableWebhook(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	s.setActive(w, r, sess, study, true)
}

func (s *Server) disableWebhook(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	s.setActive(w, r, sess, study, false)
}

func (s *Server) setActive(w http.ResponseWriter, r *http.Request, sess *session, study int64, active bool) {
	id := pathID(r, "id")
	if _, err := s.svc.Webhooks.SetActive(r.Context(), sess.principal(), study, id, active); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	note := "disabled"
	if active {
		note = "enabled"
	}
	redirect(w, r, webhookPath(study, id), note)
}

func (s *Server) confirmDelete(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	hook, ok := s.webhook(w, r, sess, study)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "delete", &view{
		Title: "Delete " + webhookName(hook), Account: sess.account, CSRF: sess.csrf, Study: study, Data: hook,
	})
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	if err := s.svc.Webhooks.Delete(r.Context(), sess.principal(), study, pathID(r, "id")); err != nil {
		s.fail(w, r, sess, err)
		return
	}
	redirect(w, r, studyPath(study), "deleted")
}

type deliveryData struct {
	Webhook  *hookshot.Webhook
	Delivery deliveryView
}

func (s *Server) showDelivery(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	hook, ok := s.webhook(w, r, sess, study)
	if !ok {
		return
	}
	d, attempts, err := s.svc.Events.Delivery(r.Context(), sess.principal(), study, hook.ID, r.PathValue("delivery"))
	if err != nil {
		s.fail(w, r, sess, err)
		return
	}
	slices.Reverse(attempts)
	s.render(w, r, http.StatusOK, "delivery", &view{
		Title: "Delivery " + d.ID, Account: sess.account, CSRF: sess.csrf, Study: study, Notice: notice(r),
		Data: deliveryData{Webhook: hook, Delivery: deliveryView{Delivery: d, Attempts: attempts}},
	})
}

func (s *Server) resendDelivery(w http.ResponseWriter, r *http.Request, sess *session, study int64) {
	id := pathID(r, "id")
	back := localPath(r.PostFormValue("back"))
	if back == "" {
		back = webhookPath(study, id)
	}
	d, err := s.svc.Events.Resend(r.Context(), sess.principal(), study, id, r.PathValue("delivery"))
	switch hookshot.ErrorCode(err) {
	case "":
		note := "resent"
		if d.MaxAttempts > d.Attempts+1 { // retry now keeps the retries left
			note = "retried"
		}
		redirect(w, r, back, note)
	case hookshot.EConflict:
		redirect(w, r, back, "in-progress")
	default:
		s.fail(w, r, sess, err)
	}
}
