package delivery

import (
	"bytes"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/webhook"
)

func relayJob(url string) *hookshot.Job {
	j := newJob("0190a6a4-7c1e-7000-8000-000000000001", 7, url)
	j.Webhook.Auth.Type = hookshot.AuthHMAC
	j.Delivery.TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	return j
}

// A relay's request carries exactly the headers the engine sends a
// receiver for the same job, signature included.
func TestRelayRequestIsTheEngines(t *testing.T) {
	rc := newReceiver(t, nil)
	cfg := testConfig()
	cfg.Credentials = secretCredentials{hookshot.Credentials{Secret: "s3cret"}}
	q := newFakeQueue()
	q.add(relayJob(rc.URL + "/in"))
	startEngine(t, q, cfg).Notify()
	var sent *http.Request
	select {
	case sent = <-rc.arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the engine sent nothing within 10s")
	}

	job := relayJob(rc.URL + "/in")
	req, err := NewRelay(cfg).Request(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	if req.URL != rc.URL+"/in" || !bytes.Equal(req.Body, job.Payload) || req.Attempt != 1 {
		t.Fatalf("relay request %+v", req)
	}
	if err := webhook.Verify("s3cret", req.Body, first(req.Header[signatureKey])); err != nil {
		t.Fatalf("relay request's signature: %v", err)
	}
	// The server reads header names canonicalised; the spelling on the
	// wire is the map's in both cases.
	relayed := http.Header{}
	for k, v := range req.Header {
		relayed[http.CanonicalHeaderKey(k)] = v
	}
	for k, v := range relayed {
		if !reflect.DeepEqual(sent.Header[k], v) {
			t.Errorf("header %s: relay %q, engine %q", k, v, sent.Header[k])
		}
	}
	for k := range sent.Header {
		// What Go's transport adds on the wire.
		if _, ok := relayed[k]; !ok && k != "Accept-Encoding" && k != "Content-Length" {
			t.Errorf("the engine sent %s, the relay request lacks it", k)
		}
	}
}

// A relay's outcome is judged and rescheduled as the engine's attempts
// are: 2xx succeeds, other answers and errors retry by the schedule
// until the last attempt, and the stored body is capped.
func TestRelayResult(t *testing.T) {
	cfg := testConfig()
	cfg.Credentials = secretCredentials{hookshot.Credentials{Secret: "s3cret"}}
	relay := NewRelay(cfg)
	big := bytes.Repeat([]byte("x"), responseBodyCap+100)
	cases := []struct {
		name     string
		attempts int
		outcome  RelayOutcome
		status   hookshot.DeliveryStatus
		wait     time.Duration
		reason   string
		body     int // the stored body's length; -1 for no response stored
	}{
		{"success", 0, RelayOutcome{Status: 204, Duration: 5 * time.Millisecond}, hookshot.DeliverySucceeded, 0, "", 0},
		{"server error", 0, RelayOutcome{Status: 500, Header: http.Header{"X-Why": {"broken"}}, Body: big}, hookshot.DeliveryInProgress, 10 * time.Second, "answered 500", responseBodyCap},
		{"no answer", 1, RelayOutcome{Error: "connection refused by localhost:3000"}, hookshot.DeliveryInProgress, time.Minute, "connection refused by localhost:3000", 0},
		{"last attempt", 2, RelayOutcome{Status: 502}, hookshot.DeliveryFailed, 0, "answered 502", 0},
		{"oversized headers", 0, RelayOutcome{Status: 200, Header: http.Header{"X-Big": {strings.Repeat("y", relayHeaderCap)}}}, hookshot.DeliveryInProgress, 10 * time.Second, "over the limit of 64 KiB", -1},
		{"redirect is not followed", 0, RelayOutcome{Status: 302, Header: http.Header{"Location": {"https://elsewhere.example/"}}}, hookshot.DeliveryInProgress, 10 * time.Second, "answered 302", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job := relayJob("http://localhost:3000/in")
			job.Delivery.Attempts, job.Delivery.MaxAttempts = c.attempts, 3
			before := time.Now()
			r := relay.Result(t.Context(), job, c.outcome)
			if r.Status != c.status {
				t.Fatalf("status %s, want %s (attempt error %q)", r.Status, c.status, r.Attempt.Error)
			}
			if c.status == hookshot.DeliveryInProgress {
				if wait := r.NextAttemptAt.Sub(before); wait < c.wait || wait > c.wait+5*time.Second {
					t.Fatalf("next attempt in %s, want %s", wait, c.wait)
				}
			}
			a := r.Attempt
			if a.Number != c.attempts+1 || a.Duration != c.outcome.Duration || !strings.Contains(a.Error, c.reason) || (c.reason == "") != (a.Error == "") {
				t.Fatalf("attempt %d, duration %s, error %q", a.Number, a.Duration, a.Error)
			}
			if first(a.Request.Headers[signatureKey]) != webhook.Sign("s3cret", job.Payload) || a.Request.URL != "http://localhost:3000/in" {
				t.Fatalf("stored request %+v", a.Request)
			}
			if c.outcome.Status == 0 || c.body < 0 {
				if a.Response != nil {
					t.Fatalf("stored a response %+v for no answer", a.Response)
				}
				return
			}
			if a.Response == nil || a.Response.Status != c.outcome.Status || len(a.Response.Body) != c.body {
				t.Fatalf("stored response %+v", a.Response)
			}
		})
	}
}

// signatureKey is the signature header as the engine spells it, a
// variable because the spelling is deliberately not canonical.
var signatureKey = webhook.HeaderSignature

// first is a header's first value; the engine spells its keys as SPEC
// §3 does, which Header.Get, canonicalising, would not find.
func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}
