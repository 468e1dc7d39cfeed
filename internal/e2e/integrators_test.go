package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hookshot/hookshot/internal/catalog"
)

// A test event is the catalog's example with this study's id, sent to the
// one webhook asked for, as an ordinary delivery that carries the extra
// header under the operator's prefix.
func TestTestEvents(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_HEADER_PREFIX=X-Acme-")
		const study = 4242
		echo := func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.Header().Set("X-Acme-Hook-Secret", r.Header.Get("X-Acme-Hook-Secret"))
		}
		target, other := newReceiver(t), newReceiver(t)
		target.setValidator(echo)
		other.setValidator(echo)
		// Subscribed to another type: the caller chose the webhook, so
		// the test event goes to it all the same.
		hook := h.validatedWebhook(t, study, hookBody(target.URL, "raw_processing_complete"))
		h.validatedWebhook(t, study, hookBody(other.URL, "upload"))

		path := fmt.Sprintf("/v1/studies/%d/webhooks/%d/test", study, hook.ID)
		var d deliveryJSON
		h.call("POST", path, map[string]any{"type": "upload", "status": "error"}).must(t, http.StatusAccepted).JSON(t, &d)
		if d.WebhookID != hook.ID || d.Event != "upload" || d.Status != "in_progress" || d.EventID == nil {
			t.Fatalf("test delivery = %+v, want an in-progress upload delivery of webhook %d with an event", d, hook.ID)
		}
		got := target.waitEvents(t, 1)[0]
		if got.Header.Get("X-Acme-Test") != "true" || got.Header.Get("X-Acme-Event") != "upload" || got.Header.Get("X-Acme-Delivery") != d.ID {
			t.Errorf("test event headers = %v, want X-Acme-Test: true, X-Acme-Event: upload, X-Acme-Delivery: %s", got.Header, d.ID)
		}
		want := bytes.Replace(fixture(t, "upload-error.json"), []byte(`"studyId": "189"`), []byte(`"studyId": "4242"`), 1)
		if !bytes.Equal(got.Body, want) {
			t.Errorf("test event body = %s\nwant the error example for study %d: %s", got.Body, study, want)
		}

		// In the history like any delivery, and resendable.
		done := h.waitDelivery(t, study, hook.ID, d.ID, "succeeded")
		if len(done.Attempts) != 1 || done.Attempts[0].Request.Headers["X-Acme-Test"] != "true" {
			t.Errorf("stored attempts = %+v, want one whose request has X-Acme-Test: true", done.Attempts)
		}
		var page listJSON[deliveryJSON]
		h.call("GET", fmt.Sprintf("/v1/studies/%d/webhooks/%d/deliveries?event=upload", study, hook.ID), nil).must(t, http.StatusOK).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != d.ID {
			t.Errorf("upload deliveries of the webhook = %+v, want the test delivery", page.Items)
		}
		h.call("POST", fmt.Sprintf("/v1/studies/%d/webhooks/%d/deliveries/%s/resend", study, hook.ID, d.ID), nil).must(t, http.StatusAccepted)
		if again := target.waitEvents(t, 2)[1]; again.Header.Get("X-Acme-Test") != "true" {
			t.Errorf("the resent test event lost X-Acme-Test: %v", again.Header)
		}

		// The default example of upload is the completed one; other types
		// have one each.
		h.call("POST", path, map[string]any{"type": "upload"}).must(t, http.StatusAccepted)
		if body := target.waitEvents(t, 3)[2].Body; !bytes.Contains(body, []byte(`"status": "completed"`)) {
			t.Errorf("default upload example = %s, want the completed one", body)
		}
		h.call("POST", path, map[string]any{"type": "daily_statistics_complete"}).must(t, http.StatusAccepted)
		if body := target.waitEvents(t, 4)[3].Body; !bytes.Contains(body, []byte(`"studyId": 4242`)) {
			t.Errorf("daily statistics example = %s, want studyId 4242 as a number", body)
		}

		// Bad input: nothing is sent.
		for _, bad := range []struct {
			body  any
			field string
		}{
			{map[string]any{"type": "nope"}, "type"},
			{map[string]any{}, "type"},
			{map[string]any{"type": "upload", "status": "finished"}, "status"},
			{map[string]any{"type": "raw_processing_complete", "status": "completed"}, "status"},
		} {
			var p problemJSON
			h.call("POST", path, bad.body).must(t, http.StatusUnprocessableEntity).JSON(t, &p)
			if len(p.Errors) != 1 || p.Errors[0].Field != bad.field {
				t.Errorf("%v: problem %+v, want one naming %s", bad.body, p, bad.field)
			}
		}
		h.call("POST", fmt.Sprintf("/v1/studies/%d/webhooks/%d/test", study+1, hook.ID), map[string]any{"type": "upload"}).must(t, http.StatusNotFound)

		// A disabled webhook gets no events, test events included.
		h.call("POST", fmt.Sprintf("/v1/studies/%d/webhooks/%d/disable", study, hook.ID), nil).must(t, http.StatusOK)
		var p problemJSON
		h.call("POST", path, map[string]any{"type": "upload"}).must(t, http.StatusConflict).JSON(t, &p)
		if !strings.Contains(p.Detail, "enable it") {
			t.Errorf("disabled webhook: %q, want it to say to enable it", p.Detail)
		}
		if n := h.deliveryCount(t, study, hook.ID, "upload"); n != 2 {
			t.Errorf("the webhook has %d upload deliveries, want 2: the refused requests stored none", n)
		}
		if n := len(other.Events()); n != 0 {
			t.Errorf("the study's other webhook got %d test events, want none", n)
		}
		var trail listJSON[struct{ Actor, Action, Target, Detail string }]
		h.call("GET", fmt.Sprintf("/v1/audit?study_id=%d", study), nil).must(t, http.StatusOK).JSON(t, &trail)
		tested, first := 0, false
		for _, e := range trail.Items {
			if e.Action == "tested" && e.Target == fmt.Sprintf("webhook %d", hook.ID) && e.Actor == "admin-token" {
				tested++
				first = first || e.Detail == "test event upload (error), delivery "+d.ID
			}
		}
		if tested != 3 || !first {
			t.Errorf("audit trail %+v: want the three test events sent, the first naming its delivery", trail.Items)
		}
	})
}

// Every valid token reads the catalog, a webhooks manager's included, and
// each type carries its example.
func TestCatalogForManagers(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		h.cliAccount(t, "--email", "manager@example.org", "--manage", "189")
		token := h.cliToken(t, "manager@example.org", "catalog reader")
		var types listJSON[catalog.EventType]
		h.callAs(token, "GET", "/v1/event-types", nil).must(t, http.StatusOK).JSON(t, &types)
		if len(types.Items) != 5 {
			t.Fatalf("the catalog has %d types, want 5", len(types.Items))
		}
		for _, typ := range types.Items {
			name := typ.Name + ".json"
			if typ.Name == "upload" {
				name = "upload-completed.json"
			}
			var want, got bytes.Buffer
			if err := json.Compact(&want, fixture(t, name)); err != nil {
				t.Fatal(err)
			}
			if err := json.Compact(&got, typ.Example); err != nil {
				t.Fatalf("%s: example %q: %v", typ.Name, typ.Example, err)
			}
			if got.String() != want.String() {
				t.Errorf("%s: example = %s, want %s", typ.Name, got.String(), want.String())
			}
			if len(typ.Schema) == 0 {
				t.Errorf("%s has no schema", typ.Name)
			}
		}
		h.callAs("hst_not-a-token", "GET", "/v1/event-types", nil).must(t, http.StatusUnauthorized)
	})
}

type batchJSON struct {
	Events []struct {
		publishJSON
		Replayed bool `json:"replayed"`
	} `json:"events"`
}

// A batch is checked whole before anything is stored, stored in one go,
// answered in order, and idempotent per event.
func TestBatchPublish(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		const study = 189
		rc := newReceiver(t)
		hook := h.validatedWebhook(t, study, hookBody(rc.URL, "upload"))
		path := fmt.Sprintf("/v1/studies/%d/events/batch", study)

		// Odd spacing and key order, to show the bytes are kept.
		payloads := [][]byte{
			[]byte(`{"studyId":"189",  "status":"completed","uploadId":"1","subjectId":"9"}`),
			[]byte("{\n \"status\": \"started\", \"uploadId\": \"2\", \"subjectId\": \"9\", \"studyId\": 189}"),
			[]byte(`{"status":"error","message":"m\u00e9","uploadId":"3","subjectId":"9","studyId":"189"}`),
		}
		batch := func(keys ...string) []byte {
			parts := make([]string, len(payloads))
			for i, p := range payloads {
				parts[i] = fmt.Sprintf(`{"type": "upload", "payload": %s, "idempotency_key": %q}`, p, keys[i])
			}
			return []byte(`{"events": [` + strings.Join(parts, ", ") + `]}`)
		}
		var first batchJSON
		h.call("POST", path, batch("b1", "b2", "b3")).must(t, http.StatusAccepted).JSON(t, &first)
		if len(first.Events) != 3 {
			t.Fatalf("batch answered %d publications, want 3", len(first.Events))
		}
		byDelivery := map[string][]byte{}
		for i, ev := range first.Events {
			if ev.Replayed || ev.Type != "upload" || len(ev.Deliveries) != 1 || ev.Deliveries[0].WebhookID != hook.ID {
				t.Fatalf("publication %d = %+v, want a new upload with one delivery to webhook %d", i, ev, hook.ID)
			}
			byDelivery[ev.Deliveries[0].ID] = payloads[i]
		}
		for _, got := range rc.waitEvents(t, 3) {
			want, ok := byDelivery[got.Header.Get("X-ActiGraph-Delivery")]
			if !ok || !bytes.Equal(got.Body, want) {
				t.Errorf("receiver got %s for delivery %s, want %s byte for byte", got.Body, got.Header.Get("X-ActiGraph-Delivery"), want)
			}
		}

		// The same batch again answers the same events and sends nothing.
		var again batchJSON
		h.call("POST", path, batch("b1", "b2", "b3")).must(t, http.StatusAccepted).JSON(t, &again)
		for i, ev := range again.Events {
			if !ev.Replayed || ev.ID != first.Events[i].ID || ev.Deliveries[0].ID != first.Events[i].Deliveries[0].ID {
				t.Errorf("repeated event %d = %+v, want a replay of %+v", i, ev, first.Events[i])
			}
		}

		// Invalid events: every problem by index, nothing stored, and the
		// valid events' keys are not taken.
		bad := `{"events": [
			{"type": "upload", "payload": ` + string(uploadPayload(study, "completed", 10)) + `, "idempotency_key": "c1"},
			{"type": "upload", "payload": {"status": "done", "uploadId": "11", "subjectId": "9", "studyId": "189"}},
			{"type": "upload", "payload": ` + string(uploadPayload(study, "completed", 12)) + `},
			{"type": "nope", "payload": {}},
			{"type": "upload", "payload": ` + string(uploadPayload(190, "completed", 14)) + `}
		]}`
		var p problemJSON
		h.call("POST", path, bad).must(t, http.StatusUnprocessableEntity).JSON(t, &p)
		fields := map[string]bool{}
		for _, e := range p.Errors {
			fields[e.Field] = true
		}
		for _, want := range []string{"events[1].payload.status", "events[3].type", "events[4].payload.studyId"} {
			if !fields[want] {
				t.Errorf("problem %+v does not name %s", p, want)
			}
		}
		if fields["events[0].payload"] || fields["events[2].payload"] || len(p.Errors) != 3 {
			t.Errorf("problem %+v, want exactly the three bad events named", p)
		}
		// Another event under a key an earlier batch used: 409, nothing
		// stored.
		conflict := `{"events": [
			{"type": "upload", "payload": ` + string(uploadPayload(study, "completed", 20)) + `, "idempotency_key": "c2"},
			{"type": "upload", "payload": ` + string(uploadPayload(study, "completed", 21)) + `, "idempotency_key": "b1"}
		]}`
		h.call("POST", path, conflict).must(t, http.StatusConflict).JSON(t, &p)
		if len(p.Errors) != 1 || p.Errors[0].Field != "events[1].idempotency_key" {
			t.Errorf("conflict problem %+v, want events[1].idempotency_key", p)
		}
		// One key for two different events of one batch is a mistake in
		// the batch; for the same event twice, both answer one event.
		dup := `{"events": [
			{"type": "upload", "payload": ` + string(uploadPayload(study, "completed", 30)) + `, "idempotency_key": "d1"},
			{"type": "upload", "payload": ` + string(uploadPayload(study, "completed", 31)) + `, "idempotency_key": "d1"}
		]}`
		h.call("POST", path, dup).must(t, http.StatusUnprocessableEntity).JSON(t, &p)
		if len(p.Errors) != 1 || p.Errors[0].Field != "events[1].idempotency_key" || !strings.Contains(p.Errors[0].Message, "events[0]") {
			t.Errorf("one key for two events: problem %+v, want events[1].idempotency_key pointing at events[0]", p)
		}
		// Too many events.
		many := make([]map[string]any, 501)
		for i := range many {
			many[i] = map[string]any{"type": "upload", "payload": json.RawMessage(uploadPayload(study, "completed", 1000+i))}
		}
		h.call("POST", path, map[string]any{"events": many}).must(t, http.StatusUnprocessableEntity).JSON(t, &p)
		if len(p.Errors) != 1 || p.Errors[0].Field != "events" {
			t.Errorf("501 events: problem %+v, want one naming events", p)
		}
		h.call("POST", path, `{"events": []}`).must(t, http.StatusUnprocessableEntity)
		if n := h.deliveryCount(t, study, hook.ID, "upload"); n != 3 {
			t.Errorf("the webhook has %d deliveries, want the first batch's 3: refused batches stored nothing", n)
		}
		same := `{"events": [
			{"type": "upload", "payload": ` + string(uploadPayload(study, "completed", 40)) + `, "idempotency_key": "s1"},
			{"type": "upload", "payload": ` + string(uploadPayload(study, "completed", 40)) + `, "idempotency_key": "s1"}
		]}`
		var twice batchJSON
		h.call("POST", path, same).must(t, http.StatusAccepted).JSON(t, &twice)
		if twice.Events[0].ID != twice.Events[1].ID || twice.Events[0].Replayed || !twice.Events[1].Replayed || len(twice.Events[1].Deliveries) != 1 {
			t.Errorf("the same event twice under one key: %+v, want one event answered twice", twice.Events)
		}
		h.waitSucceeded(t, study, twice.Events[0].publishJSON)
		if n := h.deliveryCount(t, study, hook.ID, "upload"); n != 4 {
			t.Errorf("the webhook has %d deliveries, want 4: the first batch's and one for the event sent twice", n)
		}
		// c1 and c2 were not kept: they publish anew.
		var fresh batchJSON
		h.call("POST", path, `{"events": [{"type": "upload", "payload": `+string(uploadPayload(study, "completed", 10))+`, "idempotency_key": "c1"}]}`).
			must(t, http.StatusAccepted).JSON(t, &fresh)
		if fresh.Events[0].Replayed {
			t.Error("the key of an event in a refused batch answered a later one")
		}

		// 500 events of the largest example are more than one request's
		// limit (HOOKSHOT_MAX_BODY, 1 MiB) but within a batch's; one
		// payload over the single limit is refused by name.
		daily := fixture(t, "daily_statistics_complete.json")
		full := make([]string, 500)
		for i := range full {
			full[i] = `{"type": "daily_statistics_complete", "payload": ` + string(daily) + `}`
		}
		body := `{"events": [` + strings.Join(full, ",") + `]}`
		if len(body) <= 1<<20 {
			t.Fatalf("the full batch is %d bytes; it should be over 1 MiB to show the batch's own limit", len(body))
		}
		var big batchJSON
		h.call("POST", "/v1/studies/234/events/batch", body).must(t, http.StatusAccepted).JSON(t, &big)
		if len(big.Events) != 500 {
			t.Errorf("a batch of 500 answered %d publications", len(big.Events))
		}
		huge := `{"type": "upload", "payload": {"status": "started", "uploadId": "1", "subjectId": "9", "studyId": "189", "pad": "` + strings.Repeat("x", 1<<20) + `"}}`
		h.call("POST", path, `{"events": [`+huge+`]}`).must(t, http.StatusRequestEntityTooLarge).JSON(t, &p)
		if len(p.Errors) != 1 || p.Errors[0].Field != "events[0].payload" {
			t.Errorf("an oversized payload: problem %+v, want events[0].payload named", p)
		}

		// A manager may not publish, in batches either.
		h.cliAccount(t, "--email", "manager@example.org", "--manage", "189")
		token := h.cliToken(t, "manager@example.org", "manager")
		h.callAs(token, "POST", path, batch("m1", "m2", "m3")).must(t, http.StatusForbidden)
	})
}

// ownTokenJSON is a token with the roles it was narrowed to.
type ownTokenJSON struct {
	tokenJSON
	Roles *struct {
		Admin      bool    `json:"admin"`
		PublishAll bool    `json:"publish_all"`
		Publish    []int64 `json:"publish"`
		Manage     []int64 `json:"manage"`
	} `json:"roles"`
}

// A webhooks manager issues, lists and revokes tokens of its own account,
// which act with the account's roles and never more.
func TestSelfServiceTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		managerID := h.cliAccount(t, "--email", "manager@example.org", "--manage", "189,191")
		bootstrap := h.cliToken(t, "manager@example.org", "bootstrap")
		h.cliAccount(t, "--email", "pipeline@example.org", "--publish-all")
		publisher := h.cliToken(t, "pipeline@example.org", "pipeline")

		var made tokenJSON
		h.callAs(bootstrap, "POST", "/v1/me/tokens", map[string]any{"name": "ci", "expires_in": "24h"}).must(t, http.StatusCreated).JSON(t, &made)
		if !strings.HasPrefix(made.Token, "hst_") || made.AccountID != managerID || made.ExpiresAt == nil {
			t.Fatalf("created token = %+v, want an hst_ token of account %d that expires", made, managerID)
		}
		// The account's roles: its study's webhooks, nothing else.
		h.callAs(made.Token, "GET", "/v1/studies/189/webhooks", nil).must(t, http.StatusOK)
		h.callAs(made.Token, "GET", "/v1/studies/190/webhooks", nil).must(t, http.StatusNotFound)
		h.callAs(made.Token, "POST", "/v1/studies/189/events", publishBody("upload", uploadPayload(189, "completed", 1))).must(t, http.StatusForbidden)
		h.callAs(made.Token, "GET", "/v1/accounts", nil).must(t, http.StatusForbidden)
		h.callAs(made.Token, "POST", fmt.Sprintf("/v1/accounts/%d/tokens", managerID), map[string]any{"name": "x"}).must(t, http.StatusForbidden)
		// Asking for more is refused, and creates nothing.
		var p problemJSON
		h.callAs(made.Token, "POST", "/v1/me/tokens", map[string]any{"name": "root", "admin": true}).must(t, http.StatusBadRequest).JSON(t, &p)
		if len(p.Errors) != 1 || p.Errors[0].Field != "admin" {
			t.Errorf("a token asking for admin: %+v, want admin named", p)
		}
		h.callAs(made.Token, "POST", "/v1/me/tokens", map[string]any{"name": ""}).must(t, http.StatusUnprocessableEntity)
		for _, over := range []struct {
			roles map[string]any
			field string
		}{
			{map[string]any{"admin": true}, "roles.admin"},
			{map[string]any{"publish": []int64{189}}, "roles.publish[0]"},
			{map[string]any{"publish_all": true}, "roles.publish_all"},
			{map[string]any{"manage": []int64{189, 190}}, "roles.manage[1]"},
		} {
			h.callAs(made.Token, "POST", "/v1/me/tokens", map[string]any{"name": "more", "roles": over.roles}).must(t, http.StatusForbidden).JSON(t, &p)
			if len(p.Errors) != 1 || p.Errors[0].Field != over.field {
				t.Errorf("a token asking for %v: %+v, want %s named", over.roles, p, over.field)
			}
		}

		// Fewer roles are fine: a token for one of the studies only, and
		// whatever it makes is no broader.
		var narrow, child ownTokenJSON
		h.callAs(made.Token, "POST", "/v1/me/tokens", map[string]any{"name": "one study", "roles": map[string]any{"manage": []int64{191}}}).
			must(t, http.StatusCreated).JSON(t, &narrow)
		if narrow.Roles == nil || len(narrow.Roles.Manage) != 1 || narrow.Roles.Manage[0] != 191 {
			t.Errorf("narrowed token = %+v, want roles manage [191]", narrow)
		}
		h.callAs(narrow.Token, "GET", "/v1/studies/191/webhooks", nil).must(t, http.StatusOK)
		h.callAs(narrow.Token, "GET", "/v1/studies/189/webhooks", nil).must(t, http.StatusNotFound)
		h.callAs(narrow.Token, "POST", "/v1/me/tokens", map[string]any{"name": "wider", "roles": map[string]any{"manage": []int64{189}}}).must(t, http.StatusForbidden)
		h.callAs(narrow.Token, "POST", "/v1/me/tokens", map[string]any{"name": "child"}).must(t, http.StatusCreated).JSON(t, &child)
		h.callAs(child.Token, "GET", "/v1/studies/189/webhooks", nil).must(t, http.StatusNotFound)
		h.callAs(child.Token, "GET", "/v1/studies/191/webhooks", nil).must(t, http.StatusOK)
		h.callAs(bootstrap, "DELETE", fmt.Sprintf("/v1/me/tokens/%d", narrow.ID), nil).must(t, http.StatusOK)
		h.callAs(bootstrap, "DELETE", fmt.Sprintf("/v1/me/tokens/%d", child.ID), nil).must(t, http.StatusOK)

		var mine listJSON[tokenJSON]
		h.callAs(made.Token, "GET", "/v1/me/tokens", nil).must(t, http.StatusOK).JSON(t, &mine)
		if len(mine.Items) != 4 || mine.Items[0].Name != "bootstrap" || mine.Items[1].Name != "ci" || mine.Items[2].Name != "one study" {
			t.Fatalf("my tokens = %+v, want bootstrap, ci, one study and child", mine.Items)
		}
		for _, tok := range mine.Items {
			if tok.Token != "" {
				t.Errorf("the list shows token %d's secret", tok.ID)
			}
		}
		// Others' tokens are not mine to see or revoke.
		var theirs listJSON[tokenJSON]
		h.call("GET", fmt.Sprintf("/v1/accounts/%d/tokens", managerID+1), nil).must(t, http.StatusOK).JSON(t, &theirs)
		h.callAs(made.Token, "DELETE", fmt.Sprintf("/v1/me/tokens/%d", theirs.Items[0].ID), nil).must(t, http.StatusNotFound)
		h.callAs(publisher, "GET", "/v1/me/tokens", nil).must(t, http.StatusForbidden)
		h.call("GET", "/v1/me/tokens", nil).must(t, http.StatusForbidden)

		// The roles are read at each request: what the account loses, its
		// tokens lose.
		h.call("PATCH", fmt.Sprintf("/v1/accounts/%d", managerID), map[string]any{"manage": []int64{190, 191}}).must(t, http.StatusOK)
		h.callAs(made.Token, "GET", "/v1/studies/189/webhooks", nil).must(t, http.StatusNotFound)
		h.callAs(made.Token, "GET", "/v1/studies/190/webhooks", nil).must(t, http.StatusOK)

		var revoked tokenJSON
		h.callAs(bootstrap, "DELETE", fmt.Sprintf("/v1/me/tokens/%d", made.ID), nil).must(t, http.StatusOK).JSON(t, &revoked)
		if revoked.RevokedAt == nil {
			t.Errorf("revoked token = %+v, want revoked_at", revoked)
		}
		h.callAs(made.Token, "GET", "/v1/studies/190/webhooks", nil).must(t, http.StatusUnauthorized)

		// The audit trail names the account as the actor.
		var trail listJSON[struct {
			Actor, Action, Target string
		}]
		h.call("GET", "/v1/audit", nil).must(t, http.StatusOK).JSON(t, &trail)
		want := fmt.Sprintf("token %d of account %d", made.ID, managerID)
		found := 0
		for _, e := range trail.Items {
			if e.Target == want && strings.HasPrefix(e.Actor, fmt.Sprintf("account:%d ", managerID)) {
				found++
			}
		}
		if found != 2 {
			t.Errorf("audit trail %+v: want the manager's creating and revoking %s", trail.Items, want)
		}
	})
}
