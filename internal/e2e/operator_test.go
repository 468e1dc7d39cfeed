package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape reads a process's /metrics as series (name with its labels, as
// Prometheus prints them) to values.
func (h *Hookshot) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := apiClient.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics answered %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// untrustedTLSServer is an HTTPS receiver whose certificate no root the
// binary trusts has signed.
func untrustedTLSServer(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "untrusted receiver"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the untrusted receiver was sent a request")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// closedPort is an HTTPS URL on the loopback address where nothing
// listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "https://" + ln.Addr().String() + "/hooks"
	ln.Close()
	return url
}

// /metrics counts attempts by outcome class, one class for each kind of
// result a receiver (or the way to it) can give, events published by
// type, and API requests by route pattern and status.
func TestMetricsByOutcomeClass(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		// Long enough that only the hanging receiver times out on a busy
		// machine.
		h := start(t, b.database(t), "HOOKSHOT_RETRY_SCHEDULE=50ms", "HOOKSHOT_DELIVERY_TIMEOUT=5s", "HOOKSHOT_LEASE=15s")
		hold := make(chan struct{})
		hanging := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hold }))
		t.Cleanup(hanging.Close)
		t.Cleanup(func() { close(hold) }) // before Close, which waits for the handler

		// Validation attempts that fail, one of each kind without an answer.
		failing := map[string]string{
			"timeout": hanging.URL,
			"tls":     untrustedTLSServer(t),
			"connect": closedPort(t),
			// The metadata address: the guard refuses it before any packet.
			"refused": "https://169.254.169.254/latest/meta-data",
		}
		study := int64(700)
		for class, url := range failing {
			hook := h.createWebhook(t, study, hookBody(url, "upload"))
			if w := h.waitValidation(t, study, hook.ID); w.Validation.Status != "failed" {
				t.Fatalf("%s: validation %s, want failed", class, w.Validation.Status)
			}
		}

		// Receivers that pass validation (2xx) and then answer events.
		answers := map[string]int{"2xx": 200, "4xx": 404, "5xx": 503}
		for class, status := range answers {
			study++
			rc := newReceiver(t)
			rc.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) { w.WriteHeader(status) })
			hook := h.validatedWebhook(t, study, hookBody(rc.URL, "upload"))
			pub := h.publish(t, study, "upload", uploadPayload(study, "completed", 1))
			final := "failed"
			if status == 200 {
				final = "succeeded"
			}
			if d := h.waitDelivery(t, study, hook.ID, pub.Deliveries[0].ID, final); class != "2xx" && len(d.Attempts) != 2 {
				t.Fatalf("%s: %d attempts, want 2", class, len(d.Attempts))
			}
		}
		h.call("POST", "/v1/studies/189/events", `{"type": "upload"}`).must(t, http.StatusUnprocessableEntity)

		m := h.scrape(t)
		want := map[string]float64{
			// Three validations and one event delivery succeeded.
			`hookshot_attempt_outcomes_total{class="2xx"}`: 4,
			`hookshot_attempt_outcomes_total{class="3xx"}`: 0,
			// Each failing event delivery is attempted twice.
			`hookshot_attempt_outcomes_total{class="4xx"}`:                                        2,
			`hookshot_attempt_outcomes_total{class="5xx"}`:                                        2,
			`hookshot_attempt_outcomes_total{class="timeout"}`:                                    1,
			`hookshot_attempt_outcomes_total{class="tls"}`:                                        1,
			`hookshot_attempt_outcomes_total{class="connect"}`:                                    1,
			`hookshot_attempt_outcomes_total{class="refused"}`:                                    1,
			`hookshot_attempt_outcomes_total{class="other"}`:                                      0,
			`hookshot_events_published_total{type="upload"}`:                                      3,
			`hookshot_events_published_total{type="raw_processing_complete"}`:                     0,
			`hookshot_api_requests_total{route="POST /v1/studies/{study}/events",status="202"}`:   3,
			`hookshot_api_requests_total{route="POST /v1/studies/{study}/events",status="422"}`:   1,
			`hookshot_api_requests_total{route="POST /v1/studies/{study}/webhooks",status="201"}`: 7,
			// Nothing is left to do.
			`hookshot_deliveries_in_progress`:          0,
			`hookshot_deliveries_due`:                  0,
			`hookshot_oldest_due_delivery_age_seconds`: 0,
		}
		for series, v := range want {
			got, ok := m[series]
			if !ok || got != v {
				t.Errorf("%s = %v (present: %v), want %v", series, got, ok, v)
			}
		}
		for series := range m {
			if strings.HasPrefix(series, "hookshot_api_requests_total") && regexp.MustCompile(`/v1/studies/\d`).MatchString(series) {
				t.Errorf("an API series names a path, not a route: %s", series)
			}
		}
	})
}

// The backlog gauges read the database: deliveries that wait behind a
// webhook whose receiver is stuck are in progress and due, and the oldest
// of them ages; once the receiver answers they drain to zero.
func TestBacklogMetrics(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		h := start(t, b.database(t), "HOOKSHOT_WEBHOOK_CONCURRENCY=1", "HOOKSHOT_DELIVERY_TIMEOUT=60s", "HOOKSHOT_LEASE=150s")
		hold := make(chan struct{})
		rc := newReceiver(t)
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) { <-hold })
		released := false
		release := func() {
			if !released {
				released = true
				close(hold)
			}
		}
		t.Cleanup(release)
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		const events = 6
		var pubs []publishJSON
		for i := range events {
			pubs = append(pubs, h.publish(t, 189, "upload", uploadPayload(189, "completed", i)))
		}
		rc.waitEvents(t, 1)
		// One attempt in flight and one queued behind it in the process
		// hold leases; the rest wait in the database, due.
		var m map[string]float64
		waitFor(t, 30*time.Second, "the backlog gauges to show the waiting deliveries", func() bool {
			m = h.scrape(t)
			return m["hookshot_deliveries_in_progress"] == events && m["hookshot_deliveries_due"] >= 1 &&
				m["hookshot_oldest_due_delivery_age_seconds"] > 0
		})
		if due := m["hookshot_deliveries_due"]; due > events-1 {
			t.Fatalf("%v due, want at most %d: one is being attempted", due, events-1)
		}
		release()
		for _, p := range pubs {
			h.waitDelivery(t, 189, hook.ID, p.Deliveries[0].ID, "succeeded")
		}
		waitFor(t, 30*time.Second, "the backlog gauges to drain", func() bool {
			m = h.scrape(t)
			return m["hookshot_deliveries_in_progress"] == 0 && m["hookshot_deliveries_due"] == 0 &&
				m["hookshot_oldest_due_delivery_age_seconds"] == 0
		})
	})
}

var logLine = regexp.MustCompile(`level=(\w+) msg=("[^"]*"|\S+) .*delivery_id=(\S+)`)

// deliveryLogs returns the levels and messages of the lines about a
// delivery.
func deliveryLogs(logs, deliveryID string) []string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if m := logLine.FindStringSubmatch(line); m != nil && m[3] == deliveryID {
			out = append(out, m[1]+" "+strings.Trim(m[2], `"`))
		}
	}
	return out
}

// A delivery that finally fails is a WARN line, a failure that will be
// retried INFO, a success DEBUG; so at --log-level warn only the final
// failures show, and at info the retries join them.
func TestDeliveryLogLevels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		level       string
		failed, won []string
	}{
		{"warn", []string{"WARN delivery failed"}, nil},
		{"info", []string{"INFO attempt failed, will retry", "WARN delivery failed"}, nil},
		{"debug", []string{"INFO attempt failed, will retry", "WARN delivery failed"}, []string{"DEBUG attempt succeeded"}},
	} {
		t.Run(tc.level, func(t *testing.T) {
			t.Parallel()
			h := startQuiet(t, "sqlite:"+t.TempDir()+"/hookshot.db", "HOOKSHOT_RETRY_SCHEDULE=50ms", "HOOKSHOT_LOG_LEVEL="+tc.level)
			good, bad := newReceiver(t), newReceiver(t)
			bad.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) { w.WriteHeader(500) })
			goodHook := h.validatedWebhook(t, 189, hookBody(good.URL, "upload"))
			badHook := h.validatedWebhook(t, 190, hookBody(bad.URL, "upload"))
			won := h.publish(t, 189, "upload", uploadPayload(189, "completed", 1)).Deliveries[0].ID
			lost := h.publish(t, 190, "upload", uploadPayload(190, "completed", 2)).Deliveries[0].ID
			h.waitDelivery(t, 189, goodHook.ID, won, "succeeded")
			h.waitDelivery(t, 190, badHook.ID, lost, "failed")
			// The engine logs a result before it is recorded, so both
			// lines are written by now.
			logs := h.Logs()
			if got := deliveryLogs(logs, lost); fmt.Sprint(got) != fmt.Sprint(tc.failed) {
				t.Errorf("lines about the failed delivery: %q, want %q\n%s", got, tc.failed, logs)
			}
			if got := deliveryLogs(logs, won); fmt.Sprint(got) != fmt.Sprint(tc.won) {
				t.Errorf("lines about the delivered one: %q, want %q\n%s", got, tc.won, logs)
			}
			for _, key := range []string{"webhook_id=" + itoa(badHook.ID), "study_id=190", "err=", "status_code=500"} {
				if !strings.Contains(logs, key) {
					t.Errorf("the failure's line lacks %s:\n%s", key, logs)
				}
			}
		})
	}
}

// startQuiet is start for a log level that leaves out the listening
// line: it listens on a port chosen here and waits for /healthz instead.
func startQuiet(t *testing.T, database string, extra ...string) *Hookshot {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h := &Hookshot{t: t, Database: database, dir: t.TempDir(), URL: "http://" + addr}
	h.env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"HOOKSHOT_DATABASE=" + database,
		"HOOKSHOT_ADMIN_TOKEN=" + adminToken,
		"HOOKSHOT_SECRET_KEY=" + secretKey,
		"HOOKSHOT_EGRESS_ALLOW=127.0.0.0/8,::1/128",
		"HOOKSHOT_DELIVERY_TIMEOUT=10s",
		"SSL_CERT_FILE=" + caFile,
	}, extra...)
	h.env = append(h.env, "HOOKSHOT_ADDR="+addr)
	h.logs = &logBuffer{listening: make(chan string, 1)}
	h.exited = make(chan struct{})
	cmd := exec.Command(binary, "serve")
	cmd.Env, cmd.Dir = h.env, h.dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.cmd = cmd
	go h.logs.consume(stderr)
	go func() { _ = cmd.Wait(); close(h.exited) }()
	t.Cleanup(h.Kill)
	waitFor(t, 30*time.Second, "hookshot to answer /healthz", func() bool {
		select {
		case <-h.exited:
			t.Fatalf("hookshot exited:\n%s", h.Logs())
		default:
		}
		resp, err := apiClient.Get(h.URL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return h
}

// On the first run the listening line names the portal's URL and the
// sign-in page says how to create the first account; once an account
// with a password exists, the hint is gone.
func TestFirstRun(t *testing.T) {
	t.Parallel()
	h := start(t, "sqlite:"+t.TempDir()+"/hookshot.db", "HOOKSHOT_LOG_LEVEL=info")
	if want := "portal=" + h.URL + "/"; !strings.Contains(h.Logs(), want) {
		t.Fatalf("the listening line does not name the portal (%s):\n%s", want, h.Logs())
	}
	page := func() string {
		t.Helper()
		resp, err := apiClient.Get(h.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		return b.String()
	}
	const hint = "hookshot accounts create --email you@example.org --admin --password-stdin"
	if p := page(); !strings.Contains(p, "No account can sign in yet") || !strings.Contains(p, hint) {
		t.Fatalf("the sign-in page of an empty database does not say how to create the first account:\n%s", p)
	}
	// An account that holds tokens only cannot sign in either.
	h.cliAccount(t, "--email", "pipeline@example.org", "--publish-all")
	if p := page(); !strings.Contains(p, hint) {
		t.Fatalf("with only a token account, the hint is gone:\n%s", p)
	}
	// The command the page gives works as given.
	h.cli(t, "a long enough password\n", strings.Fields(hint)[1:]...)
	if p := page(); strings.Contains(p, "No account can sign in yet") {
		t.Fatalf("the first-run hint is still shown once an account can sign in:\n%s", p)
	}
}
