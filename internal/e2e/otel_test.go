package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpSink is a real OTLP/HTTP trace endpoint on the loopback address: it
// decodes each export with the OTLP protobuf types and keeps the spans.
type otlpSink struct {
	*httptest.Server
	mu      sync.Mutex
	spans   []*tracepb.Span
	exports int
	// countOnly keeps no spans, only their count, for benchmarks.
	countOnly bool
	count     int
	arrived   chan struct{} // gets a value after each export
	bad       []string      // what could not be decoded
}

func newOTLPSink(t testing.TB) *otlpSink {
	t.Helper()
	s := &otlpSink{arrived: make(chan struct{}, 1)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *otlpSink) serve(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			s.fail(w, "gzip: "+err.Error())
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		s.fail(w, "reading: "+err.Error())
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		s.fail(w, fmt.Sprintf("%s %s as %s", r.Method, r.URL.Path, r.Header.Get("Content-Type")))
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		s.fail(w, "protobuf: "+err.Error())
		return
	}
	s.mu.Lock()
	s.exports++
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			s.count += len(ss.GetSpans())
			if !s.countOnly {
				s.spans = append(s.spans, ss.GetSpans()...)
			}
		}
	}
	s.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
	select {
	case s.arrived <- struct{}{}:
	default:
	}
}

func (s *otlpSink) fail(w http.ResponseWriter, why string) {
	s.mu.Lock()
	s.bad = append(s.bad, why)
	s.mu.Unlock()
	http.Error(w, why, http.StatusBadRequest)
}

// inTrace returns the spans of a trace received so far.
func (s *otlpSink) inTrace(traceID string) []*tracepb.Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*tracepb.Span
	for _, sp := range s.spans {
		if hex.EncodeToString(sp.GetTraceId()) == traceID {
			out = append(out, sp)
		}
	}
	return out
}

// waitSpans waits, export by export, until the trace holds a span for
// which each of want holds, and returns them in want's order.
func (s *otlpSink) waitSpans(t *testing.T, traceID string, want ...func(*tracepb.Span) bool) []*tracepb.Span {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		spans := s.inTrace(traceID)
		found := make([]*tracepb.Span, len(want))
		all := true
		for i, w := range want {
			for _, sp := range spans {
				if w(sp) {
					found[i] = sp
				}
			}
			all = all && found[i] != nil
		}
		if all {
			return found
		}
		select {
		case <-s.arrived:
		case <-timeout:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("timed out waiting for the spans of trace %s; got %d exports, %d spans in the trace: %s; undecodable: %v",
				traceID, s.exports, len(spans), describeSpans(spans), s.bad)
		}
	}
}

func describeSpans(spans []*tracepb.Span) string {
	var b strings.Builder
	for _, sp := range spans {
		fmt.Fprintf(&b, "\n  %s %s span %x parent %x attrs %v", sp.GetKind(), sp.GetName(), sp.GetSpanId(), sp.GetParentSpanId(), sp.GetAttributes())
	}
	return b.String()
}

func attr(sp *tracepb.Span, key string) *commonpb.AnyValue {
	for _, kv := range sp.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue()
		}
	}
	return nil
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// A published event with the producer's traceparent yields, in that
// trace, the publish call as a server span (the producer's span its
// parent) and each attempt as a client span, child of the publish span,
// with the delivery id, webhook id, attempt number, status code and
// outcome; the traceparent each attempt carries names its own span.
func TestTracesOverOTLP(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		sink := newOTLPSink(t)
		h := start(t, b.database(t),
			"OTEL_EXPORTER_OTLP_ENDPOINT="+sink.URL,
			"OTEL_BSP_SCHEDULE_DELAY=50", // milliseconds: export soon after each span
			"OTEL_SERVICE_NAME=hookshot-e2e",
			"HOOKSHOT_DELIVERY_TIMEOUT=10s", "HOOKSHOT_LEASE=25s") // nothing here is meant to time out, even on a busy machine
		rc := newReceiver(t)
		var mu sync.Mutex
		calls := 0
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 1 {
				w.WriteHeader(http.StatusInternalServerError) // the first attempt fails, the retry succeeds
			}
		})
		const study = 189
		hook := h.validatedWebhook(t, study, hookBody(rc.URL, "upload"))

		traceID, producerSpan := randomHex(t, 16), randomHex(t, 8)
		pub := h.publish(t, study, "upload", uploadPayload(study, "completed", 1),
			"traceparent", "00-"+traceID+"-"+producerSpan+"-01")
		deliveryID := pub.Deliveries[0].ID
		h.waitDelivery(t, study, hook.ID, deliveryID, "succeeded")
		events := rc.waitEvents(t, 2)

		// What each attempt's traceparent named: this trace, a span of
		// Hookshot's own, a different one each time.
		var sent []string
		for i, e := range events {
			tp := strings.Split(e.Header.Get("Traceparent"), "-")
			if len(tp) != 4 || tp[0] != "00" || tp[1] != traceID || tp[3] != "01" {
				t.Fatalf("attempt %d carried traceparent %q, want trace %s, sampled", i+1, e.Header.Get("Traceparent"), traceID)
			}
			if tp[2] == producerSpan {
				t.Fatalf("attempt %d carried the producer's span id: it should name the attempt's span", i+1)
			}
			sent = append(sent, tp[2])
		}
		if sent[0] == sent[1] {
			t.Fatalf("both attempts carried span id %s; each attempt is a span of its own", sent[0])
		}

		isPublish := func(sp *tracepb.Span) bool {
			return sp.GetKind() == tracepb.Span_SPAN_KIND_SERVER && hex.EncodeToString(sp.GetParentSpanId()) == producerSpan
		}
		attemptSpan := func(id string) func(*tracepb.Span) bool {
			return func(sp *tracepb.Span) bool { return hex.EncodeToString(sp.GetSpanId()) == id }
		}
		spans := sink.waitSpans(t, traceID, isPublish, attemptSpan(sent[0]), attemptSpan(sent[1]))
		publish := spans[0]
		if publish.GetName() != "POST /v1/studies/{study}/events" {
			t.Errorf("publish span named %q", publish.GetName())
		}
		if v := attr(publish, "http.response.status_code"); v.GetIntValue() != http.StatusAccepted {
			t.Errorf("publish span status code %v, want 202", v)
		}
		if v := attr(publish, "hookshot.event.id"); v.GetStringValue() != pub.ID {
			t.Errorf("publish span event id %v, want %s", v, pub.ID)
		}
		for i, sp := range spans[1:] {
			number := i + 1
			wantStatus, wantOutcome, wantClass := int64(500), "failed", "5xx"
			if number == 2 {
				wantStatus, wantOutcome, wantClass = 200, "succeeded", "2xx"
			}
			if sp.GetKind() != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("attempt %d span kind %s, want client", number, sp.GetKind())
			}
			if !bytes.Equal(sp.GetParentSpanId(), publish.GetSpanId()) {
				t.Errorf("attempt %d span's parent %x, want the publish span %x", number, sp.GetParentSpanId(), publish.GetSpanId())
			}
			checks := []struct {
				key       string
				got, want any
			}{
				{"hookshot.delivery.id", attr(sp, "hookshot.delivery.id").GetStringValue(), deliveryID},
				{"hookshot.webhook.id", attr(sp, "hookshot.webhook.id").GetIntValue(), hook.ID},
				{"hookshot.attempt.number", attr(sp, "hookshot.attempt.number").GetIntValue(), int64(number)},
				{"http.response.status_code", attr(sp, "http.response.status_code").GetIntValue(), wantStatus},
				{"hookshot.attempt.outcome", attr(sp, "hookshot.attempt.outcome").GetStringValue(), wantOutcome},
				{"hookshot.attempt.class", attr(sp, "hookshot.attempt.class").GetStringValue(), wantClass},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("attempt %d span: %s = %v, want %v", number, c.key, c.got, c.want)
				}
			}
		}
		if got := spans[1].GetStatus().GetCode(); got != tracepb.Status_STATUS_CODE_ERROR {
			t.Errorf("the failed attempt's span status %s, want error", got)
		}

		// The handshake has no publish to belong to: its attempt starts a
		// trace of its own, and the receiver was told that span.
		tp := strings.Split(rc.Validations()[0].Header.Get("Traceparent"), "-")
		if len(tp) != 4 {
			t.Fatalf("the validation carried traceparent %q", rc.Validations()[0].Header.Get("Traceparent"))
		}
		validation := sink.waitSpans(t, tp[1], attemptSpan(tp[2]))[0]
		if len(validation.GetParentSpanId()) != 0 || attr(validation, "hookshot.event.type").GetStringValue() != "validation" ||
			attr(validation, "hookshot.attempt.outcome").GetStringValue() != "succeeded" {
			t.Errorf("validation span: parent %x, attributes %v; want a root span of a succeeded validation", validation.GetParentSpanId(), validation.GetAttributes())
		}
	})
}

// Without an OTLP endpoint, or with the SDK turned off, nothing is
// exported and the receiver gets the producer's traceparent unchanged: no
// span was made.
func TestNoTracesWithoutEndpoint(t *testing.T) {
	t.Parallel()
	sink := newOTLPSink(t)
	for name, env := range map[string][]string{
		"no variable":  nil,
		"sdk disabled": {"OTEL_EXPORTER_OTLP_ENDPOINT=" + sink.URL, "OTEL_SDK_DISABLED=true", "OTEL_BSP_SCHEDULE_DELAY=50"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := start(t, "sqlite:"+t.TempDir()+"/hookshot.db", env...)
			rc := newReceiver(t)
			hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
			producer := "00-" + randomHex(t, 16) + "-" + randomHex(t, 8) + "-01"
			pub := h.publish(t, 189, "upload", uploadPayload(189, "completed", 2), "traceparent", producer)
			h.waitDelivery(t, 189, hook.ID, pub.Deliveries[0].ID, "succeeded")
			if got := rc.waitEvents(t, 1)[0].Header.Get("Traceparent"); got != producer {
				t.Fatalf("the receiver got traceparent %q, want the producer's %q", got, producer)
			}
			h.Stop() // a provider would flush its spans here
			if spans := sink.inTrace(producer[3:35]); len(spans) > 0 {
				t.Fatalf("exported %d spans with tracing off: %s", len(spans), describeSpans(spans))
			}
			if strings.Contains(h.Logs(), "exporting traces") {
				t.Fatalf("tracing was set up:\n%s", h.Logs())
			}
		})
	}
}

// The publish's trace context is stored with the delivery, so an attempt
// made later by another process (here a resend after a restart) is still
// a child of the publish span.
func TestTraceJoinedByLaterProcess(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, b backend) {
		sink := newOTLPSink(t)
		// The traces-only variable, a full URL, this time.
		h := start(t, b.database(t), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="+sink.URL+"/v1/traces", "OTEL_BSP_SCHEDULE_DELAY=50", "HOOKSHOT_RETRY_SCHEDULE=50ms", "HOOKSHOT_DELIVERY_TIMEOUT=10s", "HOOKSHOT_LEASE=25s")
		rc := newReceiver(t)
		var mu sync.Mutex
		status := http.StatusInternalServerError
		rc.setHandler(func(w http.ResponseWriter, r *http.Request, _ []byte) {
			mu.Lock()
			defer mu.Unlock()
			w.WriteHeader(status)
		})
		hook := h.validatedWebhook(t, 189, hookBody(rc.URL, "upload"))
		traceID, producerSpan := randomHex(t, 16), randomHex(t, 8)
		pub := h.publish(t, 189, "upload", uploadPayload(189, "completed", 3), "traceparent", "00-"+traceID+"-"+producerSpan+"-01")
		id := pub.Deliveries[0].ID
		h.waitDelivery(t, 189, hook.ID, id, "failed")
		publish := sink.waitSpans(t, traceID, func(sp *tracepb.Span) bool {
			return sp.GetKind() == tracepb.Span_SPAN_KIND_SERVER && hex.EncodeToString(sp.GetParentSpanId()) == producerSpan
		})[0]

		h.Stop()
		h.Restart()
		mu.Lock()
		status = http.StatusOK
		mu.Unlock()
		h.call("POST", fmt.Sprintf("/v1/studies/189/webhooks/%d/deliveries/%s/resend", hook.ID, id), nil).must(t, http.StatusAccepted)
		h.waitDelivery(t, 189, hook.ID, id, "succeeded")
		events := rc.waitEvents(t, 3)
		tp := strings.Split(events[2].Header.Get("Traceparent"), "-")
		if len(tp) != 4 || tp[1] != traceID {
			t.Fatalf("the resent attempt carried traceparent %q, want trace %s", events[2].Header.Get("Traceparent"), traceID)
		}
		third := sink.waitSpans(t, traceID, func(sp *tracepb.Span) bool { return hex.EncodeToString(sp.GetSpanId()) == tp[2] })[0]
		if !bytes.Equal(third.GetParentSpanId(), publish.GetSpanId()) {
			t.Fatalf("the later process's attempt span has parent %x, want the publish span %x", third.GetParentSpanId(), publish.GetSpanId())
		}
		if n := attr(third, "hookshot.attempt.number").GetIntValue(); n != 3 {
			t.Fatalf("attempt number %d, want 3", n)
		}
	})
}
