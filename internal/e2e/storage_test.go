package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// SPEC §13: PostgreSQL stopped under load and started again. While it is
// down, publishing answers 503 with Retry-After (never a bare 500), other
// calls too, and /readyz 503; once it is back the same process accepts
// again, without a restart; every event that got a 202 is delivered; and
// the engine logs the outage when it begins and ends, not at every retry.
func TestStoragePostgresStoppedAndStarted(t *testing.T) {
	t.Parallel()
	pg := startOwnPostgres(t)
	h := start(t, pg.URL())
	rc := newReceiver(t)
	h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
	p := startPublisher(t, h, 189)

	waitFor(t, 30*time.Second, "20 publishes accepted", func() bool { a, _ := p.counts(); return a >= 20 })
	pg.Stop()
	waitFor(t, 30*time.Second, "10 publishes refused with 503", func() bool { _, u := p.counts(); return u >= 10 })
	mustBeUnavailable(t, "creating a webhook with the database down", h.call("POST", "/v1/studies/189/webhooks", hookBody(rc.URL, "upload")))
	mustBeUnavailable(t, "listing webhooks with the database down", h.call("GET", "/v1/studies/189/webhooks", nil))
	mustBeUnavailable(t, "/readyz with the database down", h.waitReady(t, http.StatusServiceUnavailable))
	// The engine meets the outage at its next claim or its next record,
	// whichever comes first (the claim loop waits for a failing recorder
	// rather than claim what it could not record); keep the database down
	// until it has, or a quick run never sees it.
	engineOutages := func(logs string) (claims, records int) {
		return countLines(logs, "storage unavailable: claiming deliveries paused"), countLines(logs, "storage unavailable: recording attempts paused")
	}
	waitFor(t, 30*time.Second, "the engine to meet the outage", func() bool {
		c, r := engineOutages(h.Logs())
		return c+r >= 1
	})
	acceptedWhileDown, _ := p.counts()

	pg.Start()
	waitFor(t, 60*time.Second, "20 more publishes accepted by the same process", func() bool {
		a, _ := p.counts()
		return a >= acceptedWhileDown+20
	})
	h.waitReady(t, http.StatusOK)
	p.Stop()
	pubs := p.check(t)
	accepted, refused := p.counts()
	waitDelivered(t, rc, pubs)
	t.Logf("%d publishes accepted and all delivered, %d refused with 503 while PostgreSQL was down", accepted, refused)

	var hooks listJSON[webhookJSON]
	h.call("GET", "/v1/studies/189/webhooks", nil).must(t, http.StatusOK).JSON(t, &hooks)
	if len(hooks.Items) != 1 {
		t.Fatalf("%d webhooks, want 1: the create refused with 503 must have changed nothing", len(hooks.Items))
	}
	logs := h.Logs()
	if c, r := engineOutages(logs); c+r < 1 || c > 3 || r > 3 {
		t.Fatalf("the engine logged the outage %d times claiming and %d times recording, want once per change (up to 3 each: a restart can break the pool's connections once more):\n%s", c, r, logs)
	}
	if countLines(logs, "storage is back: claiming deliveries resumed")+countLines(logs, "storage is back: recording attempts resumed") < 1 {
		t.Fatalf("the engine never said that the storage is back:\n%s", logs)
	}
	if n := countLines(logs, `msg="not ready"`); n < 1 || n > 3 {
		t.Fatalf("/readyz logged \"not ready\" %d times, want once per change:\n%s", n, logs)
	}
	if n := countLines(logs, "level=ERROR"); n > 0 {
		t.Fatalf("%d ERROR lines for an outage that is expected to pass:\n%s", n, logs)
	}
}

// SPEC §13: PostgreSQL turned read-only (default_transaction_read_only, as
// on a standby): writes answer 503 and change nothing, reads go on, and
// /readyz says 503 although every read succeeds; turned writable again,
// the same process accepts and delivers.
func TestStoragePostgresReadOnly(t *testing.T) {
	t.Parallel()
	pg := startOwnPostgres(t)
	h := start(t, pg.URL())
	rc := newReceiver(t)
	w := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
	before := []publishJSON{h.publish(t, 189, "upload", uploadPayload(189, "completed", 1))}
	h.waitSucceeded(t, 189, before...)

	pg.Exec(`ALTER SYSTEM SET default_transaction_read_only = on`, `SELECT pg_reload_conf()`)
	var refused response
	// pg_reload_conf signals the backends and returns before each has
	// read the new setting, so a publish or two may still be accepted:
	// those count as accepted like any other and must be delivered.
	waitFor(t, 30*time.Second, "publishing to be refused", func() bool {
		refused = h.call("POST", "/v1/studies/189/events", publishBody("upload", uploadPayload(189, "completed", 2)))
		if refused.Status == http.StatusAccepted {
			var p publishJSON
			refused.JSON(t, &p)
			before = append(before, p)
		}
		return refused.Status != http.StatusAccepted
	})
	mustBeUnavailable(t, "publishing to a read-only database", refused)
	mustBeUnavailable(t, "creating a webhook in a read-only database", h.call("POST", "/v1/studies/189/webhooks", hookBody(rc.URL, "upload")))
	mustBeUnavailable(t, "disabling a webhook in a read-only database", h.call("POST", fmt.Sprintf("/v1/studies/189/webhooks/%d/disable", w.ID), nil))
	mustBeUnavailable(t, "/readyz on a read-only database", h.waitReady(t, http.StatusServiceUnavailable))
	// Reads still work, and show that nothing changed.
	var hooks listJSON[webhookJSON]
	h.call("GET", "/v1/studies/189/webhooks", nil).must(t, http.StatusOK).JSON(t, &hooks)
	if len(hooks.Items) != 1 || !hooks.Items[0].Active {
		t.Fatalf("webhooks %+v, want the one, still active", hooks.Items)
	}
	if n := h.deliveryCount(t, 189, w.ID, "upload"); n != len(before) {
		t.Fatalf("%d upload deliveries, want the %d accepted before", n, len(before))
	}

	pg.Exec(`SET default_transaction_read_only = off`, `ALTER SYSTEM RESET default_transaction_read_only`, `SELECT pg_reload_conf()`)
	h.waitReady(t, http.StatusOK)
	after := h.publish(t, 189, "upload", uploadPayload(189, "completed", 3))
	h.waitSucceeded(t, 189, after)
	waitDelivered(t, rc, append(before, after))
}

// SPEC §13: SQLite on a full disk (a small tmpfs, filled). Publishing,
// creating webhooks and signing in to the portal answer 503 (the portal
// with a readable page), /readyz 503, reads go on; attempts made before
// the disk filled wait to be recorded instead of being lost or sent again;
// with space freed, everything resumes without a restart.
func TestStorageSQLiteDiskFull(t *testing.T) {
	t.Parallel()
	disk := smallDisk(t, 48<<20)
	// Long timeout and lease: the attempts held below must not time out,
	// and their leases must outlast the outage, so that each is recorded
	// once and not sent again.
	h := start(t, "sqlite:"+disk+"/hookshot.db", "HOOKSHOT_DELIVERY_TIMEOUT=60s", "HOOKSHOT_LEASE=180s")
	rc := newReceiver(t)
	w := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
	h.call("POST", "/v1/accounts", map[string]any{"email": "manager@example.org", "password": "twelve chars!", "manage": []int64{189}}).must(t, http.StatusCreated)
	signedIn := newPortalClient(t, h.URL)
	if r := signedIn.signIn("manager@example.org", "twelve chars!"); r.Status != http.StatusSeeOther {
		t.Fatalf("signing in: %d\n%s", r.Status, r.Body)
	}

	// Three events reach the receiver, which holds its answers until the
	// disk is full: their attempts finish with nowhere to be recorded.
	hold := make(chan struct{})
	rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) { <-hold })
	var held []publishJSON
	for i := range 3 {
		held = append(held, h.publish(t, 189, "upload", uploadPayload(189, "completed", 10+i)))
	}
	rc.waitEvents(t, 3)
	free := fill(t, disk)
	close(hold)
	waitFor(t, 30*time.Second, "the engine to say that it cannot record", func() bool {
		return strings.Contains(h.Logs(), "storage unavailable: recording attempts paused")
	})

	mustBeUnavailable(t, "publishing on a full disk", h.call("POST", "/v1/studies/189/events", publishBody("upload", uploadPayload(189, "completed", 20))))
	mustBeUnavailable(t, "creating a webhook on a full disk", h.call("POST", "/v1/studies/189/webhooks", hookBody(rc.URL, "upload")))
	mustBeUnavailable(t, "/readyz on a full disk", h.waitReady(t, http.StatusServiceUnavailable))
	if r := signedIn.do("GET", "/studies/189/webhooks", nil); r.Status != http.StatusOK {
		t.Fatalf("the portal's webhooks page on a full disk: %d, want 200 (reads still work)", r.Status)
	}
	form := url.Values{"csrf": {signedIn.csrf("/studies/189/webhooks/new")}, "url": {rc.URL + "/portal"},
		"auth_type": {"none"}, "events": {"upload"}, "active": {"on"}}
	mustBeUnavailablePage(t, "creating a webhook in the portal on a full disk", signedIn.do("POST", "/studies/189/webhooks", form))
	mustBeUnavailablePage(t, "signing in on a full disk", newPortalClient(t, h.URL).signIn("manager@example.org", "twelve chars!"))
	if r := signedIn.do("GET", "/studies/189/webhooks", nil); r.Status != http.StatusOK {
		t.Fatalf("after a 503 page the session must still work: %d", r.Status)
	}
	// Nothing changed, and the held attempts are not recorded yet.
	var hooks listJSON[webhookJSON]
	h.call("GET", "/v1/studies/189/webhooks", nil).must(t, http.StatusOK).JSON(t, &hooks)
	if len(hooks.Items) != 1 {
		t.Fatalf("%d webhooks, want 1: creates refused with 503 must change nothing", len(hooks.Items))
	}
	if n := h.deliveryCount(t, 189, w.ID, "upload"); n != 3 {
		t.Fatalf("%d upload deliveries, want the 3 accepted before the disk filled", n)
	}
	for _, p := range held {
		if d := h.delivery(t, 189, w.ID, p.Deliveries[0].ID); d.Status != "in_progress" || d.AttemptCount != 0 {
			t.Fatalf("delivery %s is %s with %d attempts while nothing can be recorded", d.ID, d.Status, d.AttemptCount)
		}
	}

	free()
	h.waitReady(t, http.StatusOK)
	h.waitSucceeded(t, 189, held...)
	after := h.publish(t, 189, "upload", uploadPayload(189, "completed", 30))
	h.waitSucceeded(t, 189, after)
	got := waitDelivered(t, rc, append(held, after))
	for _, p := range held {
		if n := got[p.Deliveries[0].ID]; n != 1 {
			t.Fatalf("delivery %s reached the receiver %d times, want once: its attempt waited to be recorded", p.Deliveries[0].ID, n)
		}
	}
	logs := h.Logs()
	if n := countLines(logs, "storage unavailable: recording attempts paused"); n != 1 {
		t.Fatalf("the recorder logged the outage %d times, want once:\n%s", n, logs)
	}
	if countLines(logs, "storage is back: recording attempts resumed") != 1 {
		t.Fatalf("the recorder never said that the storage is back:\n%s", logs)
	}
}
