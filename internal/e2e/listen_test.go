package e2e

import (
	"bufio"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookshot/hookshot/webhook"
)

// listenProcess is one running `hookshot listen`.
type listenProcess struct {
	cmd       *exec.Cmd
	webhookID int64
	secret    string
	exited    chan struct{}
	mu        sync.Mutex
	out       strings.Builder
}

var (
	listeningLine = regexp.MustCompile(`^Listening to study \d+ as webhook (\d+) `)
	secretLine    = regexp.MustCompile(`^Signing secret: (\S+)$`)
)

// listen starts hookshot listen against h with token, and waits until it
// has printed its webhook and secret.
func (h *Hookshot) listen(t *testing.T, token string, args ...string) *listenProcess {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"listen", "--server", h.URL, "--study", "189"}, args...)...)
	cmd.Env = append(append([]string{}, h.env...), "HOOKSHOT_TOKEN="+token)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	lp := &listenProcess{cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = lockedWriterFunc(lp.write)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			lp.write([]byte(line + "\n"))
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				lp.webhookID, _ = strconv.ParseInt(m[1], 10, 64)
			}
			if m := secretLine.FindStringSubmatch(line); m != nil {
				lp.secret = m[1]
				close(ready)
			}
		}
		_ = cmd.Wait()
		close(lp.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-lp.exited
	})
	select {
	case <-ready:
	case <-lp.exited:
		t.Fatalf("hookshot listen exited before listening:\n%s", lp.output())
	case <-time.After(30 * time.Second):
		t.Fatalf("hookshot listen printed no secret within 30s:\n%s", lp.output())
	}
	return lp
}

func (lp *listenProcess) write(p []byte) (int, error) {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.out.Write(p)
}

func (lp *listenProcess) output() string {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.out.String()
}

// signal sends sig and waits for the process to exit.
func (lp *listenProcess) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	_ = lp.cmd.Process.Signal(sig)
	select {
	case <-lp.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("hookshot listen did not exit within 30s of %s:\n%s", sig, lp.output())
	}
}

type lockedWriterFunc func([]byte) (int, error)

func (f lockedWriterFunc) Write(p []byte) (int, error) { return f(p) }

// hookshot listen (SPEC §15): a receiver the service cannot reach gets a
// study's events through the CLI, with the same headers and a signature
// it verifies with the printed secret; its answers are stored as the
// attempts, failures are retried through the CLI, and the webhook goes
// away when the CLI stops and expires when it is killed.
func TestListenRelaysDeliveriesThroughTheCLI(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		// No egress exemption: the service itself cannot reach the
		// loopback receiver, so whatever reaches it came through the CLI.
		h := start(t, b.database(t), "HOOKSHOT_EGRESS_ALLOW=", "HOOKSHOT_RETRY_SCHEDULE=100ms,200ms", "HOOKSHOT_LISTEN_EXPIRY=3s")
		h.cliAccount(t, "--email", "manager@example.org", "--manage", "189")
		h.cliAccount(t, "--email", "publisher@example.org", "--publish", "189")
		manager := h.cliToken(t, "manager@example.org", "listen")
		publisher := h.cliToken(t, "publisher@example.org", "publish")

		// Who may listen: the study's managers and admins.
		h.callAs(publisher, "POST", "/v1/studies/189/webhooks/listen", map[string]any{"url": "http://127.0.0.1:1/"}).must(t, http.StatusForbidden)
		bad := h.callAs(manager, "POST", "/v1/studies/189/webhooks/listen", map[string]any{"url": "ftp://x/", "events": []string{"nope"}}).must(t, http.StatusUnprocessableEntity)
		var p problemJSON
		bad.JSON(t, &p)
		if len(p.Errors) != 2 {
			t.Fatalf("bad registration answered %s, want problems for url and events", bad.Body)
		}

		rc := newReceiver(t)
		failPayload := uploadPayload(189, "completed", 12)
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, body []byte) {
			if string(body) == string(failPayload) {
				http.Error(w, "local receiver is broken", http.StatusInternalServerError)
				return
			}
			w.Header().Set("X-Local", "yes")
			_, _ = w.Write([]byte(`{"local":true}`))
		})
		lp := h.listen(t, manager, "--forward-to", rc.URL+"/local", "--events", "upload")
		hookPath := "/v1/studies/189/webhooks/" + itoa(lp.webhookID)

		// The relay's routes keep to its study's managers, and bad reports
		// change nothing.
		h.callAs(publisher, "POST", hookPath+"/listen/claim", map[string]any{"wait": "0s"}).must(t, http.StatusForbidden)
		h.callAs(manager, "POST", "/v1/studies/1064/webhooks/"+itoa(lp.webhookID)+"/listen/claim", map[string]any{"wait": "0s"}).must(t, http.StatusNotFound)
		h.callAs(manager, "POST", hookPath+"/listen/results", map[string]any{"delivery_id": "0190a6a4-7c1e-7000-8000-000000000001"}).must(t, http.StatusUnprocessableEntity)
		h.callAs(manager, "POST", hookPath+"/listen/results", map[string]any{"delivery_id": "0190a6a4-7c1e-7000-8000-000000000001", "error": "x"}).must(t, http.StatusNotFound)
		ordinary := h.createWebhook(t, 189, hookBody("https://receiver.example/", "upload"))
		h.callAs(manager, "POST", "/v1/studies/189/webhooks/"+itoa(ordinary.ID)+"/listen/claim", map[string]any{"wait": "0s"}).must(t, http.StatusNotFound)
		h.call("DELETE", "/v1/studies/189/webhooks/"+itoa(ordinary.ID), nil).must(t, http.StatusNoContent)

		// A published event reaches the receiver with the engine's headers
		// and a signature made with the printed secret.
		payload := uploadPayload(189, "completed", 11)
		pub := h.publish(t, 189, "upload", payload, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		if len(pub.Deliveries) != 1 || pub.Deliveries[0].WebhookID != lp.webhookID {
			t.Fatalf("publish answered deliveries %+v, want one to webhook %d", pub.Deliveries, lp.webhookID)
		}
		id := pub.Deliveries[0].ID
		d := h.waitDelivery(t, 189, lp.webhookID, id, "succeeded")
		got := rc.waitEvents(t, 1)
		g := got[0]
		if string(g.Body) != string(payload) {
			t.Fatalf("receiver got body %q, want %q", g.Body, payload)
		}
		v := webhook.Verifier{Secrets: []string{lp.secret}}
		if err := v.Verify(g.Header, g.Body); err != nil {
			t.Fatalf("signature does not verify with the printed secret: %v", err)
		}
		for k, want := range map[string]string{
			"X-Actigraph-Delivery": id, "X-Actigraph-Webhook-Id": itoa(lp.webhookID), "X-Actigraph-Event": "upload",
			"User-Agent": "ActiGraph-Hookshot/1.0", "Content-Type": "application/json; charset=utf-8", "X-Client-Cert-Used": "False",
		} {
			if g.Header.Get(k) != want {
				t.Fatalf("receiver got %s %q, want %q", k, g.Header.Get(k), want)
			}
		}
		if !strings.HasPrefix(g.Header.Get("Traceparent"), "00-0af7651916cd43dd8448eb211c80319c-") {
			t.Fatalf("receiver got traceparent %q, want the event's trace", g.Header.Get("Traceparent"))
		}
		// The local answer is the stored attempt.
		if len(d.Attempts) != 1 {
			t.Fatalf("delivery has %d attempts, want 1", len(d.Attempts))
		}
		a := d.Attempts[0]
		if a.Response == nil || a.Response.Status != 200 || a.Response.Body != `{"local":true}` || a.Response.Headers["X-Local"] != "yes" || a.Error != nil {
			t.Fatalf("attempt stored as %+v", a)
		}
		if a.Request.URL != rc.URL+"/local" || a.Request.Body != string(payload) || a.Request.Headers["X-ActiGraph-Signature"] != g.Header.Get("X-ActiGraph-Signature") || a.DurationMS <= 0 {
			t.Fatalf("attempt's request stored as %+v", a.Request)
		}

		// A receiver answering 500 gets the normal retries, through the
		// CLI, until the delivery fails.
		failPub := h.publish(t, 189, "upload", failPayload)
		failID := failPub.Deliveries[0].ID
		fd := h.waitDelivery(t, 189, lp.webhookID, failID, "failed")
		if len(fd.Attempts) != 3 {
			t.Fatalf("failed delivery has %d attempts, want 3 (1 + the schedule's 2)", len(fd.Attempts))
		}
		for _, a := range fd.Attempts {
			if a.Response == nil || a.Response.Status != 500 || !strings.Contains(a.Response.Body, "local receiver is broken") || a.Error == nil || !strings.Contains(*a.Error, "500") {
				t.Fatalf("failed attempt stored as %+v", a)
			}
		}

		// SIGTERM (and Ctrl-C alike) deletes the webhook.
		lp.signal(t, syscall.SIGTERM)
		if code := lp.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("hookshot listen exited with %d after SIGTERM:\n%s", code, lp.output())
		}
		if !strings.Contains(lp.output(), "Deleted webhook "+itoa(lp.webhookID)) {
			t.Fatalf("hookshot listen did not say it deleted the webhook:\n%s", lp.output())
		}
		h.call("GET", hookPath, nil).must(t, http.StatusNotFound)

		// SIGKILL leaves it behind, until it expires by itself.
		killed := h.listen(t, manager, "--forward-to", rc.URL+"/local")
		h.call("GET", "/v1/studies/189/webhooks/"+itoa(killed.webhookID), nil).must(t, http.StatusOK)
		killed.signal(t, syscall.SIGKILL)
		waitFor(t, 20*time.Second, "the killed listener's webhook to expire", func() bool {
			return h.call("GET", "/v1/studies/189/webhooks/"+itoa(killed.webhookID), nil).Status == http.StatusNotFound
		})
		// The sweep logs after its delete commits, so the 404 can come first.
		waitFor(t, 5*time.Second, "the log line for the expired relay", func() bool {
			return strings.Contains(h.Logs(), "relay expired and was deleted")
		})

		// Each relay's creation and deletion is in the audit trail: by the
		// manager, and by system for the one that expired.
		var trail listJSON[auditJSON]
		h.call("GET", "/v1/audit?study_id=189&limit=200", nil).must(t, 200).JSON(t, &trail)
		entries := map[string]string{}
		for _, e := range trail.Items {
			entries[e.Action+" "+e.Target] = e.Actor
		}
		for what, actor := range map[string]string{
			"created webhook " + itoa(lp.webhookID):     "manager@example.org",
			"deleted webhook " + itoa(lp.webhookID):     "manager@example.org",
			"created webhook " + itoa(killed.webhookID): "manager@example.org",
			"deleted webhook " + itoa(killed.webhookID): "system",
		} {
			if !strings.Contains(entries[what], actor) {
				t.Errorf("audit trail has %q by %q, want by %s; trail: %+v", what, entries[what], actor, trail.Items)
			}
		}
	})
}

// A listen poll waiting for deliveries (up to 25s) does not hold up the
// server's shutdown (here 20s), and the CLI outlives the server, waiting
// for it to come back.
func TestListenDoesNotHoldUpShutdown(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_EGRESS_ALLOW=", "HOOKSHOT_LISTEN_EXPIRY=120s", "HOOKSHOT_SHUTDOWN_TIMEOUT=20s")
		rc := newReceiver(t)
		lp := h.listen(t, adminToken, "--forward-to", rc.URL+"/local")
		// One delivery through the CLI: from here on it is polling.
		pub := h.publish(t, 189, "upload", uploadPayload(189, "completed", 13))
		h.waitDelivery(t, 189, lp.webhookID, pub.Deliveries[0].ID, "succeeded")
		h.Stop()
		if strings.Contains(h.Logs(), "closing connections") {
			t.Fatalf("the shutdown waited for the listen poll:\n%s", h.Logs())
		}
		select {
		case <-lp.exited:
			t.Fatalf("hookshot listen exited when the server stopped:\n%s", lp.output())
		default:
		}
	})
}
