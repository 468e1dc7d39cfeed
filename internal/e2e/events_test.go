package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

type eventJSON struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	CreatedAt  time.Time `json:"created_at"`
	Deliveries []struct {
		ID        string `json:"id"`
		WebhookID int64  `json:"webhook_id"`
		Status    string `json:"status"`
	} `json:"deliveries"`
	Payload json.RawMessage `json:"payload"`
}

// The events of a study (SPEC §14), through the binary: newest first with
// their deliveries, filters and pages, and one event with its payload as
// it was published; the study's managers and publishers see them, others
// get 404.
func TestEventsListAndRead(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		// A validation has one attempt: on a machine busy with other
		// tests, the harness's 3s could fail it for no fault of the test.
		h := start(t, b.database(t), "HOOKSHOT_DELIVERY_TIMEOUT=15s", "HOOKSHOT_LEASE=40s")
		rc := newReceiver(t)
		both := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload", "raw_processing_complete"))
		uploads := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		h.validatedWebhook(t, 190, hookBody(rc.URL, "upload"))

		h.cliAccount(t, "--email", "mgr189@example.org", "--manage", "189")
		h.cliAccount(t, "--email", "pub189@example.org", "--publish", "189")
		h.cliAccount(t, "--email", "mgr190@example.org", "--manage", "190")
		manager := h.cliToken(t, "mgr189@example.org", "events")
		publisher := h.cliToken(t, "pub189@example.org", "events")
		elsewhere := h.cliToken(t, "mgr190@example.org", "events")

		// Odd whitespace, key order and an escape: the read answers these
		// bytes, not a re-encoding.
		raw := []byte("{\"study_id\" : 189,\n\t\"subject_id\":19525, \"subject_identifier\":\"TEST123\",\"monitor_serial\":\"TAS1F39160337\"," +
			"\"created_at_utc\":\"2019-07-19T19:30:28Z\",\"min_event_timestamp\":\"2019-07-19T14:08:58Z\"," +
			"\"max_event_timestamp\":\"2019-07-19T19:30:25Z\",\"status\":\"Completed\",\"error_message\":\"Z\\u00fcrich <&>\"  }\n")
		var pubs []publishJSON
		var payloads [][]byte
		for i := range 4 {
			typ, payload := "upload", uploadPayload(189, "completed", 500+i)
			if i == 2 {
				typ, payload = "raw_processing_complete", raw
			}
			var p publishJSON
			h.callAs(publisher, "POST", "/v1/studies/189/events", publishBody(typ, payload)).must(t, http.StatusAccepted).JSON(t, &p)
			pubs, payloads = append(pubs, p), append(payloads, payload)
		}
		h.publish(t, 190, "upload", uploadPayload(190, "completed", 9))
		h.waitSucceeded(t, 189, pubs...)

		events := "/v1/studies/189/events"
		for _, who := range []struct{ name, token string }{{"manager", manager}, {"publisher", publisher}, {"admin", adminToken}} {
			var page listJSON[eventJSON]
			h.callAs(who.token, "GET", events, nil).must(t, http.StatusOK).JSON(t, &page)
			if len(page.Items) != 4 || page.NextCursor != nil {
				t.Fatalf("%s: %d events (next %v), want the 4 of study 189", who.name, len(page.Items), page.NextCursor)
			}
			for i, ev := range page.Items {
				pub := pubs[3-i] // newest first
				if ev.ID != pub.ID || ev.Type != pub.Type || ev.Payload != nil {
					t.Fatalf("%s: event %d is %s %s (payload %s), want %s %s without its payload", who.name, i, ev.ID, ev.Type, ev.Payload, pub.ID, pub.Type)
				}
				var got, want []string
				for _, d := range ev.Deliveries {
					got = append(got, fmt.Sprintf("%s@%d:%s", d.ID, d.WebhookID, d.Status))
				}
				for _, d := range pub.Deliveries {
					want = append(want, fmt.Sprintf("%s@%d:succeeded", d.ID, d.WebhookID))
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: deliveries of event %s are %v, want %v", who.name, ev.ID, got, want)
				}
			}
		}
		for _, token := range []string{elsewhere} {
			h.callAs(token, "GET", events, nil).must(t, http.StatusNotFound)
			h.callAs(token, "GET", events+"/"+pubs[0].ID, nil).must(t, http.StatusNotFound)
		}
		h.callAs(publisher, "GET", "/v1/studies/190/events", nil).must(t, http.StatusNotFound)

		// One event: its payload byte for byte (the JSON value of the
		// publish request's payload, so without the whitespace after it),
		// and its deliveries.
		for i, pub := range pubs {
			for _, token := range []string{manager, publisher} {
				var ev eventJSON
				r := h.callAs(token, "GET", events+"/"+strings.ToUpper(pub.ID), nil).must(t, http.StatusOK)
				r.JSON(t, &ev)
				if ev.ID != pub.ID || string(ev.Payload) != strings.TrimSpace(string(payloads[i])) || len(ev.Deliveries) != len(pub.Deliveries) {
					t.Fatalf("event %s read as %s", pub.ID, r.Body)
				}
			}
		}
		h.call("GET", "/v1/studies/190/events/"+pubs[0].ID, nil).must(t, http.StatusNotFound)
		h.call("GET", events+"/0190a6a4-0000-7000-8000-000000000000", nil).must(t, http.StatusNotFound)
		h.call("GET", events+"/nope", nil).must(t, http.StatusNotFound)

		// Filters and pages.
		list := func(query string) []string {
			t.Helper()
			var page listJSON[eventJSON]
			h.callAs(manager, "GET", events+"?"+query, nil).must(t, http.StatusOK).JSON(t, &page)
			var ids []string
			for _, ev := range page.Items {
				ids = append(ids, ev.ID)
			}
			return ids
		}
		var all listJSON[eventJSON]
		h.call("GET", events, nil).must(t, http.StatusOK).JSON(t, &all)
		second := all.Items[2].CreatedAt.Format(time.RFC3339Nano) // pubs[1]
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"type=raw_processing_complete", []string{pubs[2].ID}},
			{"type=upload", []string{pubs[3].ID, pubs[1].ID, pubs[0].ID}},
			{"since=" + url.QueryEscape(second), []string{pubs[3].ID, pubs[2].ID, pubs[1].ID}},
			{"until=" + url.QueryEscape(second), []string{pubs[0].ID}},
			{"type=upload&since=" + url.QueryEscape(second) + "&until=2999-01-01T00:00:00Z", []string{pubs[3].ID, pubs[1].ID}},
			{"type=data_retrieval_complete", nil},
		} {
			if got := list(tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("events?%s = %v, want %v", tc.query, got, tc.want)
			}
		}
		var walked []string
		query := "limit=3"
		for range 4 {
			var page listJSON[eventJSON]
			h.callAs(manager, "GET", events+"?"+query, nil).must(t, http.StatusOK).JSON(t, &page)
			for _, ev := range page.Items {
				walked = append(walked, ev.ID)
			}
			if page.NextCursor == nil {
				break
			}
			query = "limit=3&cursor=" + url.QueryEscape(*page.NextCursor)
		}
		if want := []string{pubs[3].ID, pubs[2].ID, pubs[1].ID, pubs[0].ID}; !slices.Equal(walked, want) {
			t.Errorf("pages of 3 walked %v, want %v", walked, want)
		}

		// The deliveries list finds by delivery and event id, and by time.
		base := fmt.Sprintf("/v1/studies/189/webhooks/%d/deliveries", both.ID)
		deliveries := func(query string) []string {
			t.Helper()
			var page listJSON[deliveryJSON]
			h.callAs(manager, "GET", base+"?"+query, nil).must(t, http.StatusOK).JSON(t, &page)
			var ids []string
			for _, d := range page.Items {
				ids = append(ids, d.ID)
			}
			return ids
		}
		to := func(p publishJSON, webhookID int64) string {
			for _, d := range p.Deliveries {
				if d.WebhookID == webhookID {
					return d.ID
				}
			}
			t.Fatalf("event %s has no delivery to webhook %d", p.ID, webhookID)
			return ""
		}
		of2 := to(pubs[2], both.ID)
		since := h.delivery(t, 189, both.ID, to(pubs[1], both.ID)).CreatedAt.Format(time.RFC3339Nano)
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"id=" + of2, []string{of2}},
			{"id=" + strings.ToUpper(of2) + "&status=succeeded", []string{of2}},
			{"id=" + of2 + "&status=failed", nil},
			{"id=" + to(pubs[1], uploads.ID), nil}, // another webhook's delivery
			{"event_id=" + pubs[2].ID, []string{of2}},
			{"event_id=" + pubs[2].ID + "&event=upload", nil},
			{"event=upload&since=" + url.QueryEscape(since), []string{to(pubs[3], both.ID), to(pubs[1], both.ID)}},
			{"event=upload&until=" + url.QueryEscape(since), []string{to(pubs[0], both.ID)}},
		} {
			if got := deliveries(tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("deliveries?%s = %v, want %v", tc.query, got, tc.want)
			}
		}
	})
}

// Every list endpoint refuses a query parameter it does not know, or
// cannot read, with a 400 problem naming it; a known path called with a
// method it lacks answers 405 with Allow and a problem; an unknown path is
// a 404 problem. Nothing changes.
func TestStrictQueryAndMethods(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		rc := newReceiver(t)
		hook := h.createWebhook(t, 189, hookBody(rc.URL, "upload"))
		accountID := h.cliAccount(t, "--email", "someone@example.org", "--manage", "189")
		one := fmt.Sprintf("/v1/studies/189/webhooks/%d", hook.ID)

		problem := func(t *testing.T, r response, status int, mention string) {
			t.Helper()
			if r.Status != status || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d (%s), want %d problem JSON: %s", r.Status, r.Header.Get("Content-Type"), status, r.Body)
			}
			var p problemJSON
			r.JSON(t, &p)
			if p.Status != status || p.Detail == "" || !strings.Contains(string(r.Body), mention) {
				t.Fatalf("problem %s does not mention %q", r.Body, mention)
			}
		}
		for _, tc := range []struct{ path, param string }{
			{"/v1/event-types?verbose=1", "verbose"},
			{"/v1/studies/189/webhooks?active=true", "active"},
			{one + "/deliveries?stauts=failed", "stauts"},
			{one + "/deliveries?status=failed&status=succeeded", "status"},
			{one + "/deliveries?since=yesterday", "since"},
			{one + "/deliveries?until=2026-12-04", "until"},
			{one + "/deliveries?id=42", "id"},
			{one + "/deliveries?event_id=x", "event_id"},
			{one + "/deliveries?limit=abc", "limit"},
			{"/v1/studies/189/events?typ=upload", "typ"},
			{"/v1/studies/189/events?type=uplod", "type"},
			{"/v1/studies/189/events?since=2026-12-04T10:00:00Z&until=2026-12-04T09:00:00Z", "until"},
			{"/v1/studies/189/events?cursor=zzz", "cursor"},
			{"/v1/studies/189/events?limit=201", "limit"},
			{"/v1/studies/189/events?type=%zz", "query string"},
			{"/v1/accounts?email=x", "email"},
			{fmt.Sprintf("/v1/accounts/%d/tokens?all=1", accountID), "all"},
			{"/v1/audit?who=admin", "who"},
			{"/v1/audit?action=create", "action"},
			{"/v1/audit?study_id=abc", "study_id"},
			{"/v1/audit?cursor=xyz", "cursor"},
		} {
			t.Run("GET "+tc.path, func(t *testing.T) {
				problem(t, h.call("GET", tc.path, nil), http.StatusBadRequest, tc.param)
			})
		}
		// Known parameters, empty or not, still work.
		h.call("GET", one+"/deliveries?status=&event=upload&limit=5", nil).must(t, http.StatusOK)

		for _, tc := range []struct {
			method, path, allow string
		}{
			{"DELETE", "/v1/studies/189/events", "GET, HEAD, POST"},
			{"PUT", one, "GET, HEAD, PATCH, DELETE"},
			{"POST", one, "GET, HEAD, PATCH, DELETE"},
			{"GET", one + "/validate", "POST"},
			{"PATCH", "/v1/studies/189/events/0190a6a4-0000-7000-8000-000000000000", "GET, HEAD"},
			{"DELETE", "/v1/audit", "GET, HEAD"},
			{"POST", "/healthz", "GET, HEAD"},
		} {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				r := h.call(tc.method, tc.path, nil)
				problem(t, r, http.StatusMethodNotAllowed, tc.method)
				if got := r.Header.Get("Allow"); got != tc.allow {
					t.Fatalf("Allow %q, want %q", got, tc.allow)
				}
			})
		}
		problem(t, h.call("GET", "/v1/nothing/here", nil), http.StatusNotFound, "/v1/nothing/here")
		problem(t, h.call("DELETE", "/v1/studies/189/nothing", nil), http.StatusNotFound, "/v1/studies/189/nothing")
		// Without a token the answer is 401 whatever the query says.
		problem(t, h.callAs("", "GET", "/v1/studies/189/webhooks?x=1", nil), http.StatusUnauthorized, "Bearer")

		if got := h.webhook(t, 189, hook.ID); got.URL != rc.URL || !got.Active {
			t.Fatalf("refused requests changed the webhook: %+v", got)
		}
	})
}

// A webhook's description (SPEC §14): given on create, changed by PATCH,
// shown on read and list; at most 200 characters, beyond that a 422
// naming it, and nothing changes.
func TestWebhookDescriptionRoundTrip(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		rc := newReceiver(t)
		type described struct {
			ID          int64  `json:"id"`
			Description string `json:"description"`
		}
		body := hookBody(rc.URL, "upload")
		body["description"] = "Data warehouse (prod)"
		var created described
		h.call("POST", "/v1/studies/189/webhooks", body).must(t, http.StatusCreated).JSON(t, &created)
		one := fmt.Sprintf("/v1/studies/189/webhooks/%d", created.ID)
		read := func() described {
			t.Helper()
			var d described
			h.call("GET", one, nil).must(t, http.StatusOK).JSON(t, &d)
			var list listJSON[described]
			h.call("GET", "/v1/studies/189/webhooks", nil).must(t, http.StatusOK).JSON(t, &list)
			if len(list.Items) != 1 || list.Items[0] != d {
				t.Fatalf("list shows %+v, read shows %+v", list.Items, d)
			}
			return d
		}
		if created.Description != "Data warehouse (prod)" || read() != created {
			t.Fatalf("created %+v, read %+v", created, read())
		}

		// 200 characters of two bytes each are 400 bytes, and allowed.
		longest := strings.Repeat("ü", 200)
		var edited described
		h.call("PATCH", one, map[string]any{"description": longest}).must(t, http.StatusOK).JSON(t, &edited)
		if edited.Description != longest || read().Description != longest {
			t.Fatalf("200 characters: %+v", edited)
		}
		for _, bad := range []string{longest + "x", "two\nlines"} {
			r := h.call("PATCH", one, map[string]any{"description": bad})
			if r.Status != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), `"field":"description"`) {
				t.Fatalf("PATCH with description %q: %d %s, want 422 naming description", bad, r.Status, r.Body)
			}
			create := hookBody(rc.URL, "upload")
			create["description"] = bad
			if r := h.call("POST", "/v1/studies/189/webhooks", create); r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("create with description %q: %d %s, want 422", bad, r.Status, r.Body)
			}
		}
		if got := read(); got.Description != longest {
			t.Fatalf("refused edits changed the description to %q", got.Description)
		}
		// Clearing it, and a webhook without one, read as "".
		h.call("PATCH", one, map[string]any{"description": ""}).must(t, http.StatusOK)
		if got := read(); got.Description != "" {
			t.Fatalf("cleared description reads %q", got.Description)
		}
		var plain map[string]any
		h.call("POST", "/v1/studies/190/webhooks", hookBody(rc.URL, "upload")).must(t, http.StatusCreated).JSON(t, &plain)
		if d, ok := plain["description"]; !ok || d != "" {
			t.Fatalf("a webhook created without a description shows %v", plain["description"])
		}
	})
}
