package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// An upload webhook subscribed to some statuses gets only those; webhooks
// get only the event types they subscribed to.
func TestEventOptionsAndSubscriptions(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		errorsOnly, all, rawOnly := newReceiver(t), newReceiver(t), newReceiver(t)
		eo := h.validatedWebhook(t, 189, map[string]any{"url": errorsOnly.URL, "events": []string{"upload"},
			"event_options": map[string]any{"upload": map[string]any{"statuses": []string{"completed", "error"}}}})
		if string(eo.EventOptions["upload"]) != `{"statuses":["completed","error"]}` {
			t.Fatalf("event_options shown as %s", eo.EventOptions["upload"])
		}
		al := h.validatedWebhook(t, 189, hookBody(all.URL, "upload"))
		ro := h.validatedWebhook(t, 189, hookBody(rawOnly.URL, "raw_processing_complete"))

		want := map[string][]int64{"started": {al.ID}, "completed": {eo.ID, al.ID}, "error": {eo.ID, al.ID}}
		var pubs []publishJSON
		for i, status := range []string{"started", "completed", "error"} {
			pub := h.publish(t, 189, "upload", uploadPayload(189, status, i))
			pubs = append(pubs, pub)
			var got []int64
			for _, d := range pub.Deliveries {
				got = append(got, d.WebhookID)
			}
			if fmt.Sprint(got) != fmt.Sprint(want[status]) {
				t.Fatalf("%s went to webhooks %v, want %v", status, got, want[status])
			}
		}
		// The answers list every delivery the events made; once those are
		// recorded, nothing more is on its way, so the counts are final.
		h.waitSucceeded(t, 189, pubs...)
		if n := h.deliveryCount(t, 189, ro.ID, "upload"); n != 0 {
			t.Fatalf("the raw_processing_complete webhook has %d upload deliveries", n)
		}
		if n := len(errorsOnly.Events()); n != 2 {
			t.Fatalf("the completed+error webhook got %d events, want 2", n)
		}
		if n := len(all.Events()); n != 3 {
			t.Fatalf("the upload webhook got %d events, want 3", n)
		}
		if n := len(rawOnly.Events()); n != 0 {
			t.Fatalf("the raw_processing_complete webhook got %d upload events", n)
		}
	})
}

// A disabled webhook gets no new deliveries; enabled again, it does.
func TestDisableAndEnable(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		rc := newReceiver(t)
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		base := fmt.Sprintf("/v1/studies/189/webhooks/%d", hook.ID)
		var w webhookJSON
		h.call("POST", base+"/disable", nil).must(t, 200).JSON(t, &w)
		if w.Active {
			t.Fatal("disable answered an active webhook")
		}
		pub := h.publish(t, 189, "upload", uploadPayload(189, "started", 1))
		if len(pub.Deliveries) != 0 {
			t.Fatalf("a disabled webhook got %d deliveries", len(pub.Deliveries))
		}
		h.call("POST", base+"/enable", nil).must(t, 200).JSON(t, &w)
		if !w.Active || w.Validation.Status != "passed" {
			t.Fatalf("enable answered %+v", w)
		}
		pub = h.publish(t, 189, "upload", uploadPayload(189, "started", 2))
		if len(pub.Deliveries) != 1 {
			t.Fatal("an enabled webhook got no delivery")
		}
		if got := rc.waitEvents(t, 1); len(got) != 1 {
			t.Fatalf("%d events arrived, want only the one published while enabled", len(got))
		}
		// Created disabled: validated, but silent.
		quiet := newReceiver(t)
		off := h.createWebhook(t, 189, map[string]any{"url": quiet.URL, "events": []string{"upload"}, "active": false})
		if h.waitValidation(t, 189, off.ID).Validation.Status != "passed" {
			t.Fatal("a webhook created disabled was not validated")
		}
		pub = h.publish(t, 189, "upload", uploadPayload(189, "started", 3))
		for _, d := range pub.Deliveries {
			if d.WebhookID == off.ID {
				t.Fatal("a webhook created disabled got a delivery")
			}
		}
	})
}

// One study's webhooks and deliveries are invisible from another, and its
// events never reach another study's webhooks.
func TestStudyIsolation(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		a, other := newReceiver(t), newReceiver(t)
		hook := h.validatedWebhook(t, 189, hookBody(a.URL, "upload"))
		otherHook := h.validatedWebhook(t, 190, hookBody(other.URL, "upload"))
		pub := h.publish(t, 189, "upload", uploadPayload(189, "started", 1))
		if len(pub.Deliveries) != 1 || pub.Deliveries[0].WebhookID != hook.ID {
			t.Fatalf("study 189's event made deliveries %+v, want one to webhook %d", pub.Deliveries, hook.ID)
		}
		did := pub.Deliveries[0].ID
		for _, path := range []string{
			fmt.Sprintf("/v1/studies/190/webhooks/%d", hook.ID),
			fmt.Sprintf("/v1/studies/190/webhooks/%d/deliveries", hook.ID),
			fmt.Sprintf("/v1/studies/190/webhooks/%d/deliveries/%s", hook.ID, did),
		} {
			h.call("GET", path, nil).must(t, http.StatusNotFound)
		}
		for _, path := range []string{
			fmt.Sprintf("/v1/studies/190/webhooks/%d/validate", hook.ID),
			fmt.Sprintf("/v1/studies/190/webhooks/%d/disable", hook.ID),
			fmt.Sprintf("/v1/studies/190/webhooks/%d/deliveries/%s/resend", hook.ID, did),
		} {
			h.call("POST", path, nil).must(t, http.StatusNotFound)
		}
		h.call("PATCH", fmt.Sprintf("/v1/studies/190/webhooks/%d", hook.ID), map[string]any{"active": false}).must(t, http.StatusNotFound)
		h.call("DELETE", fmt.Sprintf("/v1/studies/190/webhooks/%d", hook.ID), nil).must(t, http.StatusNotFound)
		var list listJSON[webhookJSON]
		h.call("GET", "/v1/studies/190/webhooks", nil).must(t, 200).JSON(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID == hook.ID {
			t.Fatalf("study 190 lists %+v", list.Items)
		}
		// Study 190's webhook has no delivery of the event, so once the one
		// delivery is recorded, nothing can still be on its way there.
		h.waitSucceeded(t, 189, pub)
		if n := h.deliveryCount(t, 190, otherHook.ID, "upload"); n != 0 {
			t.Fatalf("study 190's webhook has %d upload deliveries", n)
		}
		if len(other.Events()) != 0 || len(a.Events()) != 1 {
			t.Fatalf("study 190's receiver got %d events and study 189's %d, want 0 and 1", len(other.Events()), len(a.Events()))
		}
		if w := h.webhook(t, 189, hook.ID); !w.Active {
			t.Fatal("a call through another study changed the webhook")
		}
	})
}

// The same Idempotency-Key answers the same and creates nothing; reused
// for another event it is refused.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		rc := newReceiver(t)
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		payload := uploadPayload(189, "started", 5)
		first := h.publish(t, 189, "upload", payload, "Idempotency-Key", "upload-85045-started")
		second := h.publish(t, 189, "upload", payload, "Idempotency-Key", "upload-85045-started")
		if fmt.Sprint(first) != fmt.Sprint(second) || len(first.Deliveries) != 1 {
			t.Fatalf("replay answered %+v, first %+v; want the same single delivery", second, first)
		}
		r := h.call("POST", "/v1/studies/189/events", publishBody("upload", uploadPayload(189, "started", 6)), "Idempotency-Key", "upload-85045-started")
		r.must(t, http.StatusConflict)
		// Another study may use the same key for its own event.
		h.publish(t, 190, "upload", uploadPayload(190, "started", 5), "Idempotency-Key", "upload-85045-started")
		// One delivery in the store, recorded: no other request can come.
		h.waitSucceeded(t, 189, first)
		if n := h.deliveryCount(t, 189, hook.ID, "upload"); n != 1 || len(rc.Events()) != 1 {
			t.Fatalf("%d deliveries and %d requests after a replay, want 1", n, len(rc.Events()))
		}
	})
}

// Deliveries list newest first, filter by status and event, and page
// with a cursor without gaps or repeats.
func TestDeliveryListPaginationAndFilters(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		rc := newReceiver(t)
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload", "raw_processing_complete"))
		var published []string
		for i := 0; i < 12; i++ {
			published = append(published, h.publish(t, 189, "upload", uploadPayload(189, "started", i)).Deliveries[0].ID)
		}
		rc.waitEvents(t, 12)
		base := fmt.Sprintf("/v1/studies/189/webhooks/%d/deliveries", hook.ID)
		var seen []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			path := base + "?event=upload&limit=5"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			var page listJSON[deliveryJSON]
			h.call("GET", path, nil).must(t, 200).JSON(t, &page)
			for _, d := range page.Items {
				seen = append(seen, d.ID)
			}
			if page.NextCursor == nil {
				break
			}
			cursor = *page.NextCursor
		}
		if len(seen) != 12 {
			t.Fatalf("pages held %d deliveries, want 12", len(seen))
		}
		for i := range seen {
			if seen[i] != published[len(published)-1-i] {
				t.Fatalf("position %d holds %s, want newest first (%s)", i, seen[i], published[len(published)-1-i])
			}
		}
		waitFor(t, 10*time.Second, "all succeeded", func() bool {
			var page listJSON[deliveryJSON]
			h.call("GET", base+"?status=succeeded&limit=200", nil).must(t, 200).JSON(t, &page)
			return len(page.Items) == 13 // 12 uploads and the validation
		})
		var none listJSON[deliveryJSON]
		h.call("GET", base+"?status=failed", nil).must(t, 200).JSON(t, &none)
		if len(none.Items) != 0 || none.NextCursor != nil {
			t.Fatalf("failed filter returned %+v", none)
		}
	})
}
