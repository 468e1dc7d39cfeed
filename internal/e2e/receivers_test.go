package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookshot/hookshot/webhook"
)

// receiversDir holds the example receivers, relative to this package.
const receiversDir = "../../examples/receivers"

// exampleReceivers are the receivers under examples/receivers/: how to
// start each, and the runtimes that needs.
var exampleReceivers = []struct {
	name string
	// runtimes are the programs the receiver needs on PATH, and what to
	// install when one is missing.
	runtimes map[string]string
	// command returns the command line that runs the receiver.
	command func(t *testing.T) []string
}{
	{"go", nil, buildGoReceiver},
	{"python", map[string]string{"python3": "Python 3.11 or newer"}, func(t *testing.T) []string {
		return []string{"python3", filepath.Join(receiversDir, "python", "receiver.py")}
	}},
	{"node", map[string]string{"node": "Node.js 20 or newer"}, func(t *testing.T) []string {
		return []string{"node", filepath.Join(receiversDir, "node", "receiver.mjs")}
	}},
	// The single-file launch compiles in memory, which needs a JDK, not only
	// a JRE: hence javac.
	{"java", map[string]string{"java": "a JDK 17 or newer", "javac": "a JDK 17 or newer"}, func(t *testing.T) []string {
		return []string{"java", filepath.Join(receiversDir, "java", "Receiver.java")}
	}},
}

// The example receivers, each run as a real process against the real
// binary: the handshake, a verified delivery of every event type's example,
// a resend reported as a duplicate, and forged, rotated and oversized
// requests sent to the receiver directly.
func TestReceivers(t *testing.T) {
	t.Parallel()
	for _, rx := range exampleReceivers {
		t.Run(rx.name, func(t *testing.T) {
			t.Parallel() // each its own receiver process, port and database
			for _, program := range slices.Sorted(maps.Keys(rx.runtimes)) {
				requireRuntime(t, program, rx.runtimes[program])
			}
			testExampleReceiver(t, rx.command(t))
		})
	}
}

func testExampleReceiver(t *testing.T, command []string) {
	// The webhook's secret has non-ASCII characters, so that a receiver
	// keying its HMAC with anything but the secret's UTF-8 bytes fails. It is
	// second in the receiver's list, so that every secret is tried.
	const secret = "rëceiver-sécret-✓-B3`MlG4sJR.X^-%w=oG_UrNBEpszl?"
	const nextSecret = "the-next-secret-0123456789"
	rc := runExampleReceiver(t, command, "WEBHOOK_SECRETS="+nextSecret+","+secret)
	h := start(t, "sqlite:"+filepath.Join(t.TempDir(), "hookshot.db"), "HOOKSHOT_ALLOW_HTTP=true")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("receiver output:\n%s\nhookshot logs:\n%s", rc.output(), h.Logs())
		}
	})

	var catalog listJSON[struct {
		Name string `json:"name"`
	}]
	h.call("GET", "/v1/event-types", nil).must(t, http.StatusOK).JSON(t, &catalog)
	var types []string
	for _, typ := range catalog.Items {
		types = append(types, typ.Name)
	}
	examples := slices.Sorted(maps.Keys(fixtureStudy))
	for _, typ := range types {
		if !slices.ContainsFunc(examples, func(name string) bool { return fixtureType[name] == typ }) {
			t.Fatalf("no example payload of event type %s among %v", typ, examples)
		}
	}

	// One webhook per study that the examples belong to, each subscribed to
	// every type, and the handshake answered after verification.
	hooks := map[int64]webhookJSON{}
	for _, name := range examples {
		study := fixtureStudy[name]
		if _, ok := hooks[study]; ok {
			continue
		}
		hook := h.validatedWebhook(t, study, map[string]any{
			"url": rc.URL, "events": types, "auth": map[string]any{"type": "hmac", "secret": secret},
		})
		hooks[study] = hook
		rc.waitLine(t, "the verified handshake of webhook "+itoa(hook.ID), func(l receiverLine) bool {
			return l.Delivery == *hook.Validation.DeliveryID && l.Event == webhook.EventValidation && l.Verified && l.Status == http.StatusOK
		})
	}

	type sent struct{ study, webhook int64 }
	published := map[string]sent{} // by delivery id
	var first string
	for _, name := range examples {
		study := fixtureStudy[name]
		pub := h.publish(t, study, fixtureType[name], fixture(t, name))
		if len(pub.Deliveries) != 1 || pub.Deliveries[0].WebhookID != hooks[study].ID {
			t.Fatalf("publishing %s: deliveries %+v, want one to webhook %d", name, pub.Deliveries, hooks[study].ID)
		}
		id := pub.Deliveries[0].ID
		published[id] = sent{study, hooks[study].ID}
		if first == "" {
			first = id
		}
		rc.waitLine(t, fmt.Sprintf("a verified delivery of %s (%s)", name, id), func(l receiverLine) bool {
			return l.Delivery == id && l.Event == fixtureType[name] && l.Verified && !l.Duplicate && l.Status/100 == 2
		})
	}
	for id, s := range published {
		h.waitDelivery(t, s.study, s.webhook, id, "succeeded")
	}

	t.Run("a resent delivery is a duplicate", func(t *testing.T) {
		s := published[first]
		h.call("POST", fmt.Sprintf("/v1/studies/%d/webhooks/%d/deliveries/%s/resend", s.study, s.webhook, first), nil).must(t, http.StatusAccepted)
		rc.waitLine(t, "the resend of "+first+" reported as a duplicate", func(l receiverLine) bool {
			return l.Delivery == first && l.Verified && l.Duplicate && l.Status/100 == 2
		})
		d := h.waitDelivery(t, s.study, s.webhook, first, "succeeded")
		if len(d.Attempts) != 2 {
			t.Fatalf("%d attempts after the resend, want 2", len(d.Attempts))
		}
		if n := len(rc.linesWhere(func(l receiverLine) bool { return l.Delivery == first && !l.Duplicate })); n != 1 {
			t.Fatalf("the receiver processed delivery %s %d times, want once", first, n)
		}
	})

	body := fixture(t, "upload-completed.json")
	tampered := bytes.Replace(body, []byte(`"completed"`), []byte(`"error"`), 1)
	for _, c := range []struct {
		name    string
		body    []byte
		headers map[string]string
		want    int
	}{
		{"a forged signature is refused", body, map[string]string{webhook.HeaderSignature: webhook.Sign("not-the-secret", body)}, http.StatusUnauthorized},
		{"a missing signature is refused", body, map[string]string{}, http.StatusUnauthorized},
		{"a tampered body is refused", tampered, map[string]string{webhook.HeaderSignature: webhook.Sign(secret, body)}, http.StatusUnauthorized},
		{"a forged handshake is refused", []byte(`{"WebhookId":"74","ValidationCode":"c0de"}`), map[string]string{
			webhook.HeaderEvent: webhook.EventValidation, webhook.HeaderHookSecret: "c0de", webhook.HeaderSignature: webhook.Sign("not-the-secret", body),
		}, http.StatusUnauthorized},
		// During a rotation the new secret's signature is in -Next.
		{"the next signature is accepted", body, map[string]string{
			webhook.HeaderSignature: webhook.Sign("not-the-secret", body), webhook.HeaderSignatureNext: webhook.Sign(nextSecret, body),
		}, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			delivery := uuid.NewString()
			status := rc.post(t, delivery, c.body, c.headers)
			if status != c.want {
				t.Fatalf("the receiver answered %d, want %d", status, c.want)
			}
			rc.waitLine(t, "the line of "+delivery, func(l receiverLine) bool {
				return l.Delivery == delivery && l.Status == c.want && l.Verified == (c.want == http.StatusOK)
			})
		})
	}

	t.Run("an oversized body is refused unread", func(t *testing.T) {
		// Only the headers are sent: a receiver that waited for the body
		// instead of refusing it by its declared length times out here.
		conn, err := net.DialTimeout("tcp", rc.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /hooks HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s: upload\r\n%s: %s\r\n%s: %s\r\n\r\n",
			rc.addr, webhook.MaxBodySize+1, webhook.HeaderEvent, webhook.HeaderDelivery, uuid.NewString(), webhook.HeaderSignature, webhook.Sign(secret, body))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer to a declared body of %d bytes: %v", webhook.MaxBodySize+1, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("the receiver answered %d to a declared body of %d bytes, want 413", resp.StatusCode, webhook.MaxBodySize+1)
		}
	})
}

// requireRuntime skips the test when program is not on PATH, saying what
// to install, and fails it under CI=true, whose machine has them all.
func requireRuntime(t *testing.T, program, install string) {
	t.Helper()
	if _, err := exec.LookPath(program); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not on PATH (%v); CI=true, so this fails rather than skips", program, err)
		}
		t.Skipf("%s is not on PATH (%v): install %s to run this receiver", program, err, install)
	}
}

// buildGoReceiver builds the Go receiver, with the race detector when the
// tests run with it, and returns the binary's command line. Running the
// binary, rather than go run, leaves one process to stop.
func buildGoReceiver(t *testing.T) []string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "receiver")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, filepath.Join(receiversDir, "golang"))...).CombinedOutput()
	if err != nil {
		t.Fatalf("building the Go receiver: %v\n%s", err, out)
	}
	return []string{bin}
}

// receiverLine is one JSON line an example receiver logs.
type receiverLine struct {
	Msg       string `json:"msg"`
	Addr      string `json:"addr"`
	Delivery  string `json:"delivery"`
	Event     string `json:"event"`
	Verified  bool   `json:"verified"`
	Duplicate bool   `json:"duplicate"`
	Status    int    `json:"status"`
	Error     string `json:"error"`
}

// exampleReceiverProcess is a running example receiver and what it has
// logged.
type exampleReceiverProcess struct {
	addr string // host:port it listens on
	URL  string // its webhook URL

	mu      sync.Mutex
	lines   []receiverLine
	out     bytes.Buffer  // stdout and stderr as they came
	changed chan struct{} // closed, and replaced, when a line arrives
	exited  chan struct{}
}

// runExampleReceiver starts command on a free loopback port (the receiver
// binds port 0 and logs the address it got) with the extra environment,
// and stops it when the test ends.
func runExampleReceiver(t *testing.T, command []string, env ...string) *exampleReceiverProcess {
	t.Helper()
	rc := &exampleReceiverProcess{changed: make(chan struct{}), exited: make(chan struct{})}
	cmd := exec.Command(command[0], command[1:]...)
	// Java decodes the environment by the locale; the secret is UTF-8.
	cmd.Env = append(os.Environ(), append([]string{"RECEIVER_ADDR=127.0.0.1:0", "LC_ALL=C.UTF-8"}, env...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = lockedWriter{&rc.mu, &rc.out}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %v: %v", command, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-rc.exited
		if strings.Contains(rc.output(), "WARNING: DATA RACE") {
			t.Errorf("the race detector found a data race in the receiver:\n%s", rc.output())
		}
	})
	go func() {
		rc.consume(stdout)
		_ = cmd.Wait()
		close(rc.exited)
	}()
	listening := rc.waitLine(t, "the receiver to listen", func(l receiverLine) bool { return l.Msg == "listening" })
	rc.addr = listening.Addr
	rc.URL = "http://" + rc.addr + "/hooks"
	return rc
}

func (rc *exampleReceiverProcess) consume(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var l receiverLine
		err := json.Unmarshal(sc.Bytes(), &l)
		rc.mu.Lock()
		rc.out.Write(sc.Bytes())
		rc.out.WriteByte('\n')
		if err == nil {
			rc.lines = append(rc.lines, l)
			close(rc.changed)
			rc.changed = make(chan struct{})
		}
		rc.mu.Unlock()
	}
}

func (rc *exampleReceiverProcess) output() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.out.String()
}

func (rc *exampleReceiverProcess) linesWhere(match func(receiverLine) bool) []receiverLine {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []receiverLine
	for _, l := range rc.lines {
		if match(l) {
			out = append(out, l)
		}
	}
	return out
}

// waitLine waits until the receiver has logged a line that matches, and
// returns the first such line. It fails the test after 30 seconds, or when
// the receiver exits first.
func (rc *exampleReceiverProcess) waitLine(t *testing.T, what string, match func(receiverLine) bool) receiverLine {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		rc.mu.Lock()
		i := slices.IndexFunc(rc.lines, match)
		var l receiverLine
		if i >= 0 {
			l = rc.lines[i]
		}
		changed := rc.changed
		rc.mu.Unlock()
		if i >= 0 {
			return l
		}
		select {
		case <-changed:
		case <-rc.exited:
			t.Fatalf("the receiver exited while the test waited for %s:\n%s", what, rc.output())
		case <-timeout:
			t.Fatalf("timed out after 30s waiting for %s; the receiver logged:\n%s", what, rc.output())
		}
	}
}

// post sends an upload event straight to the receiver, as a forger would,
// with the headers Hookshot sets and then headers, and returns the status.
func (rc *exampleReceiverProcess) post(t *testing.T, delivery string, body []byte, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, rc.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(webhook.HeaderEvent, "upload")
	req.Header.Set(webhook.HeaderDelivery, delivery)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatalf("posting to the receiver: %v", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// lockedWriter serializes writes to w under mu, so that a process's stderr
// and the scanner of its stdout can share one buffer.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
