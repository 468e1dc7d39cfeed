package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// portalSession is a signed-in browser without the browser: a cookie jar
// and the portal's sign-in form.
type portalSession struct {
	h      *Hookshot
	client *http.Client
}

// csrfInput (storage_helpers_test.go) finds the sign-in form's token.

// signIn creates a manager of study with a password through the CLI and
// signs in to the portal as it.
func (h *Hookshot) signIn(t *testing.T, study int64) *portalSession {
	t.Helper()
	const password = "a long enough password"
	email := fmt.Sprintf("manager%d@example.org", study)
	h.cli(t, password+"\n", "accounts", "create", "--email", email, "--password-stdin", "--manage", itoa(study))
	jar, _ := cookiejar.New(nil)
	s := &portalSession{h: h, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	status, page := s.get(t, "/login")
	m := csrfInput.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		t.Fatalf("GET /login: %d, no CSRF token:\n%s", status, page)
	}
	resp, err := s.client.PostForm(h.URL+"/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("signing in: status %d, want a redirect", resp.StatusCode)
	}
	return s
}

func (s *portalSession) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := s.client.Get(s.h.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric reads one sample of the process's /metrics, or -1 when absent.
func (h *Hookshot) metric(t *testing.T, series string) float64 {
	t.Helper()
	r := h.call("GET", "/metrics", nil).must(t, http.StatusOK)
	for _, line := range strings.Split(string(r.Body), "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("metric %s: %q", series, line)
			}
			return v
		}
	}
	return -1
}

// With a retention of a few seconds, a delivered event and its delivery
// are pruned in the background: the delivery reads 404 in the API and in
// the portal, the webhook and its current validation stay, and the
// counter of rows pruned says what went.
func TestRetentionPrunesDeliveredEvents(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_RETENTION=4s", "HOOKSHOT_PRUNE_INTERVAL=200ms")
		rc := newReceiver(t)
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		portal := h.signIn(t, 189)
		pub := h.publish(t, 189, "upload", uploadPayload(189, "completed", 1))
		id := pub.Deliveries[0].ID
		h.waitDelivery(t, 189, hook.ID, id, "succeeded")
		page := fmt.Sprintf("/studies/189/webhooks/%d/deliveries/%s", hook.ID, id)
		apiPath := fmt.Sprintf("/v1/studies/189/webhooks/%d/deliveries/%s", hook.ID, id)
		eventPage := fmt.Sprintf("/studies/189/events/%s", pub.ID)
		eventPath := "/v1/studies/189/events/" + pub.ID
		// Read at once, well within the retention.
		for _, p := range []string{page, eventPage} {
			if status, body := portal.get(t, p); status != http.StatusOK {
				t.Fatalf("portal page %s before pruning: %d\n%s", p, status, body)
			}
		}
		h.call("GET", eventPath, nil).must(t, http.StatusOK)

		waitFor(t, 30*time.Second, "the delivery to be pruned", func() bool {
			return h.call("GET", apiPath, nil).Status == http.StatusNotFound
		})
		var problem problemJSON
		h.call("GET", apiPath, nil).must(t, http.StatusNotFound).JSON(t, &problem)
		if problem.Detail == "" {
			t.Errorf("the 404 of a pruned delivery has no detail: %+v", problem)
		}
		if status, _ := portal.get(t, page); status != http.StatusNotFound {
			t.Errorf("portal page of the pruned delivery: %d, want 404", status)
		}
		// Its event goes after it, in the batch's next transaction.
		waitFor(t, 30*time.Second, "the event to be pruned", func() bool {
			return h.call("GET", eventPath, nil).Status == http.StatusNotFound
		})
		if status, _ := portal.get(t, eventPage); status != http.StatusNotFound {
			t.Errorf("portal page of the pruned event: %d, want 404", status)
		}
		if r := h.call("GET", "/v1/studies/189/events", nil).must(t, http.StatusOK); strings.Contains(string(r.Body), pub.ID) {
			t.Errorf("the events list still names the pruned event: %s", r.Body)
		}
		if n := h.deliveryCount(t, 189, hook.ID, "upload"); n != 0 {
			t.Errorf("%d upload deliveries listed after pruning, want 0", n)
		}
		// The webhook and its current validation delivery stay.
		w := h.webhook(t, 189, hook.ID)
		if w.Validation.Status != "passed" || w.Validation.DeliveryID == nil {
			t.Fatalf("webhook after pruning: %+v", w)
		}
		h.delivery(t, 189, hook.ID, *w.Validation.DeliveryID)
		if status, _ := portal.get(t, fmt.Sprintf("/studies/189/webhooks/%d", hook.ID)); status != http.StatusOK {
			t.Errorf("portal page of the webhook after pruning: %d, want 200", status)
		}
		for table, want := range map[string]float64{"deliveries": 1, "attempts": 1, "events": 1} {
			if got := h.metric(t, `hookshot_pruned_rows_total{table="`+table+`"}`); got != want {
				t.Errorf("hookshot_pruned_rows_total{table=%q} = %v, want %v", table, got, want)
			}
		}
	})
}

var pruneLine = regexp.MustCompile(`(?m)^  (\w+) +(\d+)$`)

// pruneCounts parses what hookshot prune printed, by table.
func pruneCounts(t *testing.T, out string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, m := range pruneLine.FindAllStringSubmatch(out, -1) {
		counts[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(counts) != 5 {
		t.Fatalf("hookshot prune printed %q, want a count for each of 5 tables", out)
	}
	return counts
}

// hookshot prune --dry-run counts what a pass would delete and deletes
// nothing; hookshot prune deletes it and says so. Both run beside serve,
// which keeps the default retention of 30 days.
func TestPruneCommand(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t))
		rc := newReceiver(t)
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		var pubs []publishJSON
		for i := range 3 {
			pubs = append(pubs, h.publish(t, 189, "upload", uploadPayload(189, "completed", i)))
		}
		h.waitSucceeded(t, 189, pubs...)

		// The deliveries finished less than a second ago; wait until a
		// retention of one second would take them (and the validation
		// delivery, which is kept as the webhook's current one).
		var dry map[string]int
		waitFor(t, 30*time.Second, "the deliveries to be a second old", func() bool {
			out := h.cli(t, "", "prune", "--dry-run", "--retention", "1s")
			if !strings.Contains(out, "dry run") {
				t.Fatalf("prune --dry-run printed %q, without saying it is a dry run", out)
			}
			dry = pruneCounts(t, out)
			return dry["deliveries"] == 3
		})
		want := map[string]int{"deliveries": 3, "attempts": 3, "events": 3, "idempotency_keys": 0, "audit_log": 0}
		for table, n := range want {
			if dry[table] != n {
				t.Errorf("dry run counted %d %s, want %d", dry[table], table, n)
			}
		}
		for _, p := range pubs {
			h.delivery(t, 189, hook.ID, p.Deliveries[0].ID) // still there
		}

		deleted := pruneCounts(t, h.cli(t, "", "prune", "--retention", "1s"))
		for table, n := range want {
			if deleted[table] != n {
				t.Errorf("prune deleted %d %s, want %d", deleted[table], table, n)
			}
		}
		for _, p := range pubs {
			h.call("GET", fmt.Sprintf("/v1/studies/189/webhooks/%d/deliveries/%s", hook.ID, p.Deliveries[0].ID), nil).must(t, http.StatusNotFound)
		}
		again := pruneCounts(t, h.cli(t, "", "prune", "--retention", "1s"))
		if again["deliveries"] != 0 || again["events"] != 0 {
			t.Errorf("a second prune deleted %v, want nothing", again)
		}
		if _, errOut, err := h.runCLI("", "prune", "--retention", "10ms"); err == nil || !strings.Contains(errOut, "--retention") {
			t.Errorf("prune --retention 10ms: err %v, stderr %q; want it refused naming the flag", err, errOut)
		}
	})
}

// serveAgain runs a second serve with h's settings and returns its exit
// error and what it printed; it fails the test if that serve starts.
func (h *Hookshot) serveAgain(t *testing.T) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve")
	cmd.Env = h.env
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("a second serve on the same SQLite file kept running:\n%s", out)
	}
	return string(out), err
}

// A second serve on the same SQLite file refuses to start, saying that
// another Hookshot holds it and that PostgreSQL runs several, while the
// CLI's other commands keep working beside the first; once the first
// stops, a serve starts again.
func TestSecondServeOnSQLiteRefused(t *testing.T) {
	t.Parallel()
	h := start(t, backends(t)[0].database(t))
	rc := newReceiver(t)
	hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))

	out, err := h.serveAgain(t)
	if err == nil {
		t.Fatalf("a second serve exited cleanly:\n%s", out)
	}
	for _, want := range []string{"another Hookshot holds the SQLite database", "PostgreSQL", "SQLite is for one Hookshot process"} {
		if !strings.Contains(out, want) {
			t.Errorf("the second serve's message does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "listening") {
		t.Errorf("the second serve started listening:\n%s", out)
	}

	// The first is unharmed, and the commands work beside it.
	h.cli(t, "", "migrate")
	h.cliAccount(t, "--email", "beside@example.org", "--publish-all")
	h.cliToken(t, "beside@example.org", "beside serve")
	pruneCounts(t, h.cli(t, "", "prune", "--dry-run"))
	h.waitSucceeded(t, 189, h.publish(t, 189, "upload", uploadPayload(189, "completed", 1)))
	h.webhook(t, 189, hook.ID)

	h.Stop()
	h.Restart()
	h.call("GET", "/readyz", nil).must(t, http.StatusOK)
}

// After kill -9, a restarted serve on SQLite attempts the deliveries the
// killed one had in flight within a second or two, not after their
// lease: holding the file's lock, it knows their owner is gone.
func TestKilledServesLeasesReleasedAtStart(t *testing.T) {
	t.Parallel()
	h := start(t, backends(t)[0].database(t), "HOOKSHOT_LEASE=120s", "HOOKSHOT_DELIVERY_TIMEOUT=50s")
	rc := newReceiver(t)
	hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
	gate := make(chan struct{})
	var open sync.Once
	t.Cleanup(func() { open.Do(func() { close(gate) }) })
	rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
		select {
		case <-gate: // after the kill: the restarted process sent this
		case <-r.Context().Done():
		}
	})
	pub := h.publish(t, 189, "upload", uploadPayload(189, "completed", 1))
	rc.waitEvents(t, 1)
	h.Kill()
	open.Do(func() { close(gate) })
	restarted := time.Now()
	h.Restart()
	events := rc.waitEvents(t, 2)
	took := events[1].At.Sub(restarted)
	if took > 5*time.Second {
		t.Fatalf("the delivery leased by the killed process went out %s after the restart, want within ~2s", took)
	}
	if !strings.Contains(h.Logs(), "released deliveries leased by a process that stopped") {
		t.Errorf("the restart did not log the leases it released:\n%s", h.Logs())
	}
	if events[1].Header.Get("X-ActiGraph-Delivery") != pub.Deliveries[0].ID {
		t.Fatalf("second request was for %s, want delivery %s", events[1].Header.Get("X-ActiGraph-Delivery"), pub.Deliveries[0].ID)
	}
	h.waitDelivery(t, 189, hook.ID, pub.Deliveries[0].ID, "succeeded")
	t.Logf("retried %s after the restart began (lease 120s)", took)
}
