// Package storetest is the conformance suite of hookshot.Store. Each store
// runs it from its own tests, so that the SQLite and PostgreSQL stores
// behave alike wherever the service and the delivery engine could tell
// them apart:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) hookshot.Store { ... })
//	}
//
// The tests follow the doc comments of hookshot.Store sentence by
// sentence. They pass times truncated to microseconds, as the service does,
// and compare them with time.Time.Equal, so a store may return them in any
// location. Behaviour the interface leaves open is pinned where the
// service relies on it, and said so in the test.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/webhook"
)

// Run runs the suite. newStore must return a fresh, empty, migrated store
// and close it when the test ends (t.Cleanup); every subtest gets its own.
// The store must also be a hookshot.AccountStore.
func Run(t *testing.T, newStore func(t *testing.T) hookshot.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Webhook", webhookTests},
		{"PublishEvent", publishTests},
		{"Delivery", deliveryTests},
		{"Deliveries", listTests},
		{"Events", eventListTests},
		{"ResendDelivery", resendTests},
		{"ClaimDeliveries", claimTests},
		{"RecordResults", recordTests},
		{"ReleaseDeliveries", releaseTests},
		{"HandOff", handOffTests},
		{"Relays", relayTests},
		{"Lifecycle", lifecycleTests},
		{"Health", healthTests},
		{"Routing", routingTests},
		{"Recovery", recoveryTests},
		{"Backlog", backlogTests},
		{"Accounts", accountTests},
		{"Tokens", tokenTests},
		{"Sessions", sessionTests},
		{"Audit", auditTests},
		{"Audited", auditedTests},
		{"Admin", adminTests},
		{"Prune", pruneTests},
		{"SigningKeys", signingKeyTests},
		{"Integrators", integratorTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.fn(t, newFixture(t, newStore))
				})
			}
		})
	}
}

// test is one named case of the suite.
type test struct {
	name string
	fn   func(t *testing.T, f *fixture)
}

// The studies of the suite; study B is "another study".
const (
	studyA int64 = 189
	studyB int64 = 1064
)

// lease is how long every claim of the suite leases its deliveries.
const lease = time.Minute

// uploadPayload is an upload event as a producer might send it: odd
// whitespace (CR LF, tabs, a space before a colon), a duplicate key, an
// escaped and an unescaped non-ASCII character, keys out of order and a
// trailing newline. Receivers must get exactly these bytes, so a store
// must not decode and re-encode them (PostgreSQL's jsonb would).
var uploadPayload = []byte("{\r\n\t\"status\" : \"completed\",\"status\": \"completed\",\n" +
	"  \"firstEpochUTC\":\"2016-06-14T20:46:00.0000000\",   \"firstEpochSubjectTZ\": \"2016-06-14T15:46:00.0000000\",\n" +
	"  \"lastEpochUTC\": \"2016-06-14T20:47:00.0000000\", \"lastEpochSubjectTZ\":\"2016-06-14T15:47:00.0000000\",\n" +
	"  \"uploadId\": \"85045\", \"subjectId\" :\"44732\", \"studyId\": \"189\",\n" +
	"  \"note\": \"Z\\u00fcrich \u00e9t\u00e9 \\ud83d\\ude00\"   }\n")

// rawPayload is a second, differently shaped payload, so that tests can
// tell which event's bytes a job carries.
var rawPayload = []byte(`{"study_id":1064,"subject_id":19525,"subject_identifier":"TEST123",` +
	`"monitor_serial":"TAS1F39160337","created_at_utc":"2019-07-19T19:30:28Z",` +
	`"min_event_timestamp":"2019-07-19T14:08:58Z","max_event_timestamp":"2019-07-19T19:30:25Z",` +
	`"status":"Completed","error_message":null}`)

// fixture is one test's store and clock.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store hookshot.Store
	// now is the wall clock when the test started, truncated as the
	// service truncates it. Tests move about it in whole microseconds.
	now time.Time
	// newStore makes the store, for a test that wants more than one.
	newStore func(t *testing.T) hookshot.Store
}

func newFixture(t *testing.T, newStore func(t *testing.T) hookshot.Store) *fixture {
	t.Helper()
	s := newStore(t)
	if s == nil {
		t.Fatal("newStore returned nil")
	}
	return &fixture{t: t, ctx: t.Context(), store: s, now: time.Now().UTC().Truncate(time.Microsecond), newStore: newStore}
}

// at is a time relative to the test's start.
func (f *fixture) at(d time.Duration) time.Time { return f.now.Add(d) }

func newID() string { return uuid.New().String() }

func newTraceParent() string {
	id := strings.ReplaceAll(uuid.New().String(), "-", "")
	return "00-" + id + "-" + id[:16] + "-01"
}

// newWebhook is a webhook of study with every field set, not yet created.
func (f *fixture) newWebhook(study int64) *hookshot.Webhook {
	return &hookshot.Webhook{
		StudyID: study,
		// Non-ASCII and punctuation, as people name things.
		Description: "Data warehouse (prod) – Zürich 📦",
		URL:         "https://receiver.example/hooks/" + newID() + "?tenant=a&x=%20",
		Auth: hookshot.Auth{
			Type:     hookshot.AuthOAuth2,
			TokenURL: "https://auth.example/oauth/token",
			ClientID: "hookshot-client",
			Scope:    "webhooks:receive",
		},
		// Opaque bytes, including NUL and bytes that are not UTF-8.
		SealedCredentials: []byte{0x00, 0x01, 0xff, 0xfe, 'k', 'e', 'y', 0x00, 0x80},
		Events:            []string{hookshot.EventUpload, hookshot.EventRawProcessingComplete, hookshot.EventDailyStatisticsComplete},
		EventOptions: map[string]hookshot.EventOptions{
			hookshot.EventUpload:                {Statuses: []string{"completed", "error"}},
			hookshot.EventRawProcessingComplete: {},
		},
		Active:              true,
		Validation:          hookshot.Validation{Status: hookshot.ValidationPassed},
		Format:              webhook.FormatStandard,
		PreviousSecretUntil: ptr(f.at(24 * time.Hour)),
		CreatedAt:           f.now,
		UpdatedAt:           f.now,
	}
}

func ptr[T any](v T) *T { return &v }

// createWebhook creates a webhook of study, validated and active, after
// applying edits.
func (f *fixture) createWebhook(study int64, edits ...func(*hookshot.Webhook)) *hookshot.Webhook {
	f.t.Helper()
	w := f.newWebhook(study)
	for _, e := range edits {
		e(w)
	}
	if err := f.store.CreateWebhook(f.ctx, w, nil, nil); err != nil {
		f.t.Fatalf("CreateWebhook: %v", err)
	}
	return w
}

// newEvent is an upload event of study, not yet published.
func (f *fixture) newEvent(study int64) *hookshot.Event {
	return &hookshot.Event{
		ID:          newID(),
		StudyID:     study,
		Type:        hookshot.EventUpload,
		Payload:     bytes.Clone(uploadPayload),
		TraceParent: newTraceParent(),
		CreatedAt:   f.now,
	}
}

// newDelivery is ev's delivery to w, due at due, not yet stored.
func (f *fixture) newDelivery(w *hookshot.Webhook, ev *hookshot.Event, due time.Time) *hookshot.Delivery {
	return &hookshot.Delivery{
		ID:            newID(),
		WebhookID:     w.ID,
		StudyID:       w.StudyID,
		EventID:       ev.ID,
		Event:         ev.Type,
		Status:        hookshot.DeliveryInProgress,
		MaxAttempts:   5,
		NextAttemptAt: due,
		TraceParent:   ev.TraceParent,
		CreatedAt:     ev.CreatedAt,
		UpdatedAt:     ev.CreatedAt,
	}
}

// newValidation is a validation delivery for w, due now, not yet stored.
func (f *fixture) newValidation(w *hookshot.Webhook) *hookshot.Delivery {
	return &hookshot.Delivery{
		ID:             newID(),
		WebhookID:      w.ID,
		StudyID:        w.StudyID,
		Event:          hookshot.EventValidation,
		Status:         hookshot.DeliveryInProgress,
		MaxAttempts:    1,
		NextAttemptAt:  f.now,
		ValidationCode: "vc_" + strings.ReplaceAll(newID(), "-", ""),
		TraceParent:    newTraceParent(),
		CreatedAt:      f.now,
		UpdatedAt:      f.now,
	}
}

// enqueue publishes a new event of w's study with one delivery to w, due
// at due, after applying edits to the delivery.
func (f *fixture) enqueue(w *hookshot.Webhook, due time.Time, edits ...func(*hookshot.Delivery)) *hookshot.Delivery {
	f.t.Helper()
	ev := f.newEvent(w.StudyID)
	d := f.newDelivery(w, ev, due)
	for _, e := range edits {
		e(d)
	}
	ev.CreatedAt = d.CreatedAt
	f.publish(ev, []*hookshot.Delivery{d}, nil)
	return d
}

func (f *fixture) publish(ev *hookshot.Event, ds []*hookshot.Delivery, key *hookshot.IdempotencyKey) *hookshot.Publication {
	f.t.Helper()
	pub, err := f.store.PublishEvent(f.ctx, ev, ds, key)
	if err != nil {
		f.t.Fatalf("PublishEvent: %v", err)
	}
	if pub == nil || pub.Event == nil {
		f.t.Fatalf("PublishEvent returned %+v, want a publication with its event", pub)
	}
	return pub
}

func (f *fixture) claim(owner string, now time.Time, limit int, skip ...int64) []*hookshot.Job {
	f.t.Helper()
	jobs, err := f.store.ClaimDeliveries(f.ctx, hookshot.Claim{
		Owner: owner, Now: now, LeaseFor: lease, Limit: limit, SkipWebhooks: skip,
	})
	if err != nil {
		f.t.Fatalf("ClaimDeliveries(%s at %s): %v", owner, now.Format(time.RFC3339Nano), err)
	}
	return jobs
}

// claimOnly claims at now and fails unless exactly want come back, in
// any order: deliveries due at the same time may come in any order.
func (f *fixture) claimOnly(owner string, now time.Time, want ...*hookshot.Delivery) []*hookshot.Job {
	f.t.Helper()
	jobs := f.claim(owner, now, 100)
	got, w := jobIDs(jobs), deliveryIDs(want)
	sort.Strings(got)
	sort.Strings(w)
	if !reflect.DeepEqual(got, w) {
		f.t.Fatalf("%s claimed %v at %s, want %v", owner, got, now.Format(time.RFC3339Nano), w)
	}
	return jobs
}

func (f *fixture) record(owner string, results ...*hookshot.Result) {
	f.t.Helper()
	if err := f.store.RecordResults(f.ctx, owner, results); err != nil {
		f.t.Fatalf("RecordResults(%s): %v", owner, err)
	}
}

// newAttempt is attempt number of d, sent with body, answered 200.
func (f *fixture) newAttempt(d *hookshot.Delivery, number int, body []byte) *hookshot.Attempt {
	return &hookshot.Attempt{
		DeliveryID: d.ID,
		Number:     number,
		StartedAt:  f.at(time.Duration(number)*time.Second + 123456*time.Microsecond),
		Duration:   87654 * time.Microsecond,
		Request: hookshot.AttemptRequest{
			URL: "https://receiver.example/hooks?n=1",
			Headers: http.Header{
				"Content-Type":         {"application/json; charset=utf-8"},
				"User-Agent":           {"ActiGraph-Hookshot/1.0"},
				"X-Actigraph-Delivery": {d.ID},
				"X-Actigraph-Event":    {d.Event},
				"Authorization":        {"[redacted]"},
			},
			Body: body,
		},
		Response: &hookshot.AttemptResponse{
			Status:  200,
			Headers: http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "b=2"}},
			Body:    []byte("ok\n"),
		},
	}
}

// result is the outcome of the next attempt of a claimed job: status,
// due again at next.
func (f *fixture) result(j *hookshot.Job, status hookshot.DeliveryStatus, next time.Time) *hookshot.Result {
	d := j.Delivery
	return &hookshot.Result{
		Attempt:       f.newAttempt(d, d.Attempts+1, j.Payload),
		Status:        status,
		NextAttemptAt: next,
		MaxAttempts:   d.MaxAttempts,
		WebhookID:     d.WebhookID,
	}
}

func (f *fixture) delivery(webhookID int64, id string) (*hookshot.Delivery, []*hookshot.Attempt) {
	f.t.Helper()
	d, attempts, err := f.store.Delivery(f.ctx, webhookID, id)
	if err != nil {
		f.t.Fatalf("Delivery(%d, %s): %v", webhookID, id, err)
	}
	return d, attempts
}

func (f *fixture) webhook(studyID, id int64) *hookshot.Webhook {
	f.t.Helper()
	w, err := f.store.Webhook(f.ctx, studyID, id)
	if err != nil {
		f.t.Fatalf("Webhook(%d, %d): %v", studyID, id, err)
	}
	return w
}

func (f *fixture) list(filter hookshot.DeliveryFilter) []*hookshot.Delivery {
	f.t.Helper()
	ds, err := f.store.Deliveries(f.ctx, filter)
	if err != nil {
		f.t.Fatalf("Deliveries(%+v): %v", filter, err)
	}
	return ds
}

// wantErr fails unless err wraps target.
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// wantGone fails unless the delivery no longer exists for webhookID.
func (f *fixture) wantGone(webhookID int64, id string) {
	f.t.Helper()
	_, _, err := f.store.Delivery(f.ctx, webhookID, id)
	wantErr(f.t, fmt.Sprintf("Delivery(%d, %s)", webhookID, id), err, hookshot.ErrNotFound)
}

func jobIDs(jobs []*hookshot.Job) []string {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.Delivery.ID
	}
	return ids
}

func deliveryIDs(ds []*hookshot.Delivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

// diffs collects the fields in which a value differs from what was
// expected, so that one failure lists them all.
type diffs []string

func (d *diffs) check(field string, got, want any) {
	if !same(got, want) {
		*d = append(*d, fmt.Sprintf("%s = %s, want %s", field, show(got), show(want)))
	}
}

func (d diffs) report(t testing.TB, what string) {
	t.Helper()
	if len(d) > 0 {
		t.Errorf("%s:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

// same compares the way the suite promises: times by instant, and a nil
// slice, map or header like an empty one.
func same(got, want any) bool {
	switch w := want.(type) {
	case time.Time:
		g, ok := got.(time.Time)
		return ok && g.Equal(w)
	case *time.Time:
		g, ok := got.(*time.Time)
		return ok && (g == nil) == (w == nil) && (w == nil || g.Equal(*w))
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(g, w)
	}
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	if gv.IsValid() && wv.IsValid() && gv.Type() == wv.Type() {
		switch wv.Kind() {
		case reflect.Slice, reflect.Map:
			if gv.Len() == 0 && wv.Len() == 0 {
				return true
			}
		}
	}
	return reflect.DeepEqual(got, want)
}

func show(v any) string {
	switch x := v.(type) {
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case *time.Time:
		if x == nil {
			return "nil"
		}
		return x.Format(time.RFC3339Nano)
	case []byte:
		if x == nil {
			return "nil"
		}
		return fmt.Sprintf("%q", x)
	case *hookshot.AttemptResponse:
		if x == nil {
			return "nil"
		}
		return fmt.Sprintf("%+v", *x)
	}
	return fmt.Sprintf("%#v", v)
}

func checkWebhook(t testing.TB, what string, got, want *hookshot.Webhook) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got nil webhook", what)
		return
	}
	var d diffs
	d.checkWebhookSettings(got, want)
	d.check("Validation.CheckedAt", got.Validation.CheckedAt, want.Validation.CheckedAt)
	d.check("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	d.report(t, what)
}

// checkWebhookSettings compares what a webhook's owner set and what its
// validation decided: every read of a webhook returns these.
func (d *diffs) checkWebhookSettings(got, want *hookshot.Webhook) {
	d.check("ID", got.ID, want.ID)
	d.check("StudyID", got.StudyID, want.StudyID)
	d.check("Description", got.Description, want.Description)
	d.check("URL", got.URL, want.URL)
	d.check("Auth", got.Auth, want.Auth)
	d.check("SealedCredentials", got.SealedCredentials, want.SealedCredentials)
	d.check("Events", got.Events, want.Events)
	d.check("EventOptions", got.EventOptions, want.EventOptions)
	d.check("Active", got.Active, want.Active)
	d.check("Validation.Status", got.Validation.Status, want.Validation.Status)
	d.check("Validation.DeliveryID", got.Validation.DeliveryID, want.Validation.DeliveryID)
	d.check("Format", got.Format, want.Format)
	d.check("PreviousSecretUntil", got.PreviousSecretUntil, want.PreviousSecretUntil)
	d.check("CreatedAt", got.CreatedAt, want.CreatedAt)
}

// deliveryFields name the fields checkDelivery may be told to skip.
const (
	skipNextAttemptAt = "NextAttemptAt"
	skipUpdatedAt     = "UpdatedAt"
)

func checkDelivery(t testing.TB, what string, got, want *hookshot.Delivery, skip ...string) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got nil delivery", what)
		return
	}
	skipped := func(f string) bool {
		for _, s := range skip {
			if s == f {
				return true
			}
		}
		return false
	}
	var d diffs
	d.check("ID", got.ID, want.ID)
	d.check("WebhookID", got.WebhookID, want.WebhookID)
	d.check("StudyID", got.StudyID, want.StudyID)
	d.check("EventID", got.EventID, want.EventID)
	d.check("Event", got.Event, want.Event)
	d.check("Status", got.Status, want.Status)
	d.check("Attempts", got.Attempts, want.Attempts)
	d.check("MaxAttempts", got.MaxAttempts, want.MaxAttempts)
	if !skipped(skipNextAttemptAt) {
		d.check("NextAttemptAt", got.NextAttemptAt, want.NextAttemptAt)
	}
	d.check("ValidationCode", got.ValidationCode, want.ValidationCode)
	d.check("TraceParent", got.TraceParent, want.TraceParent)
	d.check("CreatedAt", got.CreatedAt, want.CreatedAt)
	if !skipped(skipUpdatedAt) {
		d.check("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	}
	d.report(t, what)
}

func checkAttempt(t testing.TB, what string, got, want *hookshot.Attempt) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: got nil attempt", what)
		return
	}
	var d diffs
	d.check("DeliveryID", got.DeliveryID, want.DeliveryID)
	d.check("Number", got.Number, want.Number)
	d.check("StartedAt", got.StartedAt, want.StartedAt)
	d.check("Duration", got.Duration, want.Duration)
	d.check("Request.URL", got.Request.URL, want.Request.URL)
	d.check("Request.Headers", got.Request.Headers, want.Request.Headers)
	d.check("Request.Body", got.Request.Body, want.Request.Body)
	if (got.Response == nil) != (want.Response == nil) {
		d.check("Response", got.Response, want.Response)
	} else if want.Response != nil {
		d.check("Response.Status", got.Response.Status, want.Response.Status)
		d.check("Response.Headers", got.Response.Headers, want.Response.Headers)
		d.check("Response.Body", got.Response.Body, want.Response.Body)
	}
	d.check("Error", got.Error, want.Error)
	d.report(t, what)
}
