package delivery

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
	"github.com/hookshot/hookshot/webhook"
)

// Wire is the branding of outgoing requests (SPEC §3 and §8).
type Wire struct {
	HeaderPrefix string // "X-ActiGraph-"
	UserAgent    string // "ActiGraph-Hookshot/1.0"
}

// DefaultWire is the branding receivers written against CentrePoint's
// documentation expect.
var DefaultWire = Wire{HeaderPrefix: "X-ActiGraph-", UserAgent: "ActiGraph-Hookshot/1.0"}

// CredentialOpener unseals a webhook's stored credentials.
type CredentialOpener interface {
	Open(sealed []byte) (hookshot.Credentials, error)
}

// KeyOpener unseals the studies' Ed25519 signing keys.
type KeyOpener interface {
	OpenPrivateKey(sealed []byte) (ed25519.PrivateKey, error)
}

// responseBodyCap bounds how much of a receiver's answer is kept.
const responseBodyCap = 64 << 10

// drainCap bounds how much more of an oversized answer is read and thrown
// away so the keep-alive connection can be reused.
const drainCap = 256 << 10

const redacted = "[redacted]"

// sender makes one attempt of one delivery.
type sender struct {
	client  *http.Client
	wire    Wire
	timeout time.Duration
	opener  CredentialOpener
	tokens  *tokenCache
	clock   clock.Clock
	keys    SigningKeys
	keyOpen KeyOpener
}

// send makes attempt number of job and says what the answer means; the
// attempt records why it failed.
func (s *sender) send(ctx context.Context, job *hookshot.Job, number int) (*hookshot.Attempt, verdict) {
	d, w := job.Delivery, job.Webhook
	body := job.Payload
	// The start is stored by the clock; the duration is measured on the
	// machine's monotonic clock, which a setting of the clock cannot skew.
	started := time.Now()
	att := &hookshot.Attempt{
		DeliveryID: d.ID,
		Number:     number,
		StartedAt:  s.clock.Now(),
		Request:    hookshot.AttemptRequest{URL: w.URL, Body: body},
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var at phases
	ctx = at.trace(ctx)

	header := s.headers(job)
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		// The attempt's own span, so that the receiver's spans are its
		// children (SPEC §18).
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(header))
	}
	again := verdict{next: retry}

	creds, err := s.opener.Open(w.SealedCredentials)
	if err != nil {
		att.Error = "cannot open the webhook's stored credentials: " + err.Error()
		att.Request.Headers = header
		att.Duration = time.Since(started)
		return att, again.as(classOther)
	}
	// Signatures are no secret: they are stored as sent, so that a
	// receiver's complaint can be checked against the attempt.
	if err := s.sign(ctx, d, w, creds, body, att.StartedAt, header); err != nil {
		att.Error = err.Error()
		att.Request.Headers = header
		att.Duration = time.Since(started)
		return att, again
	}
	// The stored headers are the sent ones, one map for both, unless a
	// credential goes out: the stored copy then has it redacted, so the
	// secret never reaches the attempt record. Neither map is written
	// once the request is made.
	stored := header
	cachedToken := false
	switch w.Auth.Type {
	case hookshot.AuthBasic:
		stored = withRedactedAuthorization(header)
		header["Authorization"] = []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(w.Auth.Username+":"+creds.Password))}
	case hookshot.AuthOAuth2:
		stored = withRedactedAuthorization(header)
		tok, cached, err := s.tokens.token(ctx, w, creds)
		if err != nil {
			att.Error = describeTokenFailure(err, w.Auth.TokenURL, s.timeout, at.current())
			att.Request.Headers = stored
			att.Duration = time.Since(started)
			return att, again.as(errorClass(err))
		}
		cachedToken = cached
		header["Authorization"] = []string{"Bearer " + tok}
	}
	att.Request.Headers = stored

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		att.Error = "bad target URL: " + err.Error()
		att.Duration = time.Since(started)
		return att, again.as(classOther)
	}
	req.Header = header
	resp, err := s.client.Do(req)
	if err != nil {
		att.Error = describeFailure(err, s.timeout, at.current())
		att.Duration = time.Since(started)
		return att, again.as(errorClass(err))
	}
	at.set(phaseReading)
	respBody, readErr := readResponseBody(resp)
	resp.Body.Close()
	att.Duration = time.Since(started)
	att.Response = &hookshot.AttemptResponse{Status: resp.StatusCode, Headers: capHeaders(resp.Header, maxStoredHeaderBytes), Body: respBody}
	if readErr != nil && isTimeout(readErr) {
		att.Error = describeFailure(readErr, s.timeout, phaseReading)
		return att, again.as(errorClass(readErr))
	}
	if readErr != nil {
		att.Error = "reading the response: " + describe(readErr, s.timeout)
		return att, again.as(errorClass(readErr))
	}

	v := again
	if d.Event == hookshot.EventValidation {
		// An answer that fails the handshake is the receiver's considered
		// reply: asking again would get the same.
		v = verdict{next: giveUp}
		echo := resp.Header.Get(s.wire.HeaderPrefix + "Hook-Secret")
		switch {
		case resp.StatusCode != http.StatusOK:
			att.Error = fmt.Sprintf("validation failed: the receiver answered %d, not 200", resp.StatusCode)
		case echo == "":
			att.Error = fmt.Sprintf("validation failed: the response has no %sHook-Secret header echoing the code", s.wire.HeaderPrefix)
		case echo != d.ValidationCode:
			att.Error = fmt.Sprintf("validation failed: the %sHook-Secret header in the response does not match the code sent", s.wire.HeaderPrefix)
		default:
			v = verdict{next: succeeded}
		}
	} else if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		v = verdict{next: succeeded}
	} else {
		att.Error = fmt.Sprintf("the receiver answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		switch resp.StatusCode {
		case http.StatusGone:
			v = verdict{next: disable}
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			if wait, ok := parseRetryAfter(resp.Header.Get("Retry-After"), s.clock.Now()); ok {
				v = verdict{next: retryAfter, wait: wait}
				att.Error += fmt.Sprintf(", asking to retry after %s", wait.Round(time.Second))
			}
		}
	}
	if resp.StatusCode == http.StatusUnauthorized && w.Auth.Type == hookshot.AuthOAuth2 {
		s.tokens.forget(w.ID)
		if cachedToken {
			// The token was refused, not the delivery.
			v = verdict{next: retryNow}
		}
	}
	return att, v.as(statusClass(resp.StatusCode))
}

// readResponseBody reads the first responseBodyCap bytes of resp's body
// into a buffer of the announced length when there is one (most answers
// are a few bytes, often none, and io.ReadAll starts at 512), and only when
// the cap was reached reads on, up to drainCap, and throws that away so
// the keep-alive connection can be reused: a shorter body has ended.
func readResponseBody(resp *http.Response) ([]byte, error) {
	size := 512
	if n := resp.ContentLength; n >= 0 && n < responseBodyCap {
		size = int(n) + 1 // room to read the end without growing
	}
	body := make([]byte, 0, size)
	for {
		n, err := resp.Body.Read(body[len(body):min(cap(body), responseBodyCap)])
		body = body[:len(body)+n]
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			return body, err
		}
		if len(body) == responseBodyCap {
			_, _ = io.CopyN(io.Discard, resp.Body, drainCap)
			return body, nil
		}
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
	}
}

// parseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3): a number
// of seconds, or an HTTP date, which is read against now. A date in the
// past asks for no wait.
func parseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(value, 10, 63); err == nil {
		if secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	at, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return max(0, at.Sub(now)), true
}

// headerCount is how many header values an attempt of job sends: the six
// fixed ones, traceparent, the validation code or the test mark, the
// signature headers and Authorization. The header map is made with room
// for exactly these: a map of up to eight entries, the usual count, is one
// allocation, and a larger hint than needed makes a bigger table.
func headerCount(job *hookshot.Job) int {
	d, w := job.Delivery, job.Webhook
	n := 6
	if d.TraceParent != "" {
		n++
	}
	if d.Event == hookshot.EventValidation {
		n++
	}
	if job.Test {
		n++
	}
	switch {
	case w.Format == webhook.FormatStandard:
		n += 3 // id, timestamp and signature
	case w.Auth.Type == hookshot.AuthHMAC:
		n++
		if w.PreviousSecretUntil != nil {
			n++ // -Next, while the rotation's overlap lasts
		}
	}
	if w.Auth.Type == hookshot.AuthBasic || w.Auth.Type == hookshot.AuthOAuth2 {
		n++
	}
	return n
}

// headers returns the headers every attempt of job sends, with room in
// the map for the signatures and credentials still to come. The values
// share one backing array, as in Header.Clone, rather than one allocation
// each.
func (s *sender) headers(job *hookshot.Job) http.Header {
	d, w := job.Delivery, job.Webhook
	p := s.wire.HeaderPrefix
	room := headerCount(job)
	h := make(http.Header, room)
	values := make([]string, 0, room)
	// Keys are set directly, not through Header.Set, so they go out spelt
	// as documented (X-ActiGraph-…, not X-Actigraph-…).
	set := func(name, value string) {
		values = append(values, value)
		h[name] = values[len(values)-1 : len(values) : len(values)]
	}
	set("Content-Type", "application/json; charset=utf-8")
	set("User-Agent", s.wire.UserAgent)
	set(p+"Webhook-Id", strconv.FormatInt(w.ID, 10))
	set(p+"Event", d.Event)
	set(p+"Delivery", d.ID)
	set("X-Client-Cert-Used", "False")
	if d.TraceParent != "" {
		set("Traceparent", d.TraceParent)
	}
	if d.Event == hookshot.EventValidation {
		set(p+"Hook-Secret", d.ValidationCode)
	}
	if job.Test {
		set(p+"Test", "true")
	}
	return h
}

// withRedactedAuthorization is a copy of h to store, with the
// Authorization header about to be added to h recorded as redacted.
func withRedactedAuthorization(h http.Header) http.Header {
	stored := h.Clone()
	stored["Authorization"] = []string{redacted}
	return stored
}

// describe turns a transport error into a reason a person can act on.
func describe(err error, timeout time.Duration) string {
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("timed out after %s", timeout)
	case isGuardRefusal(err):
		reason := err.Error()
		if errors.As(err, &opErr) {
			reason = opErr.Err.Error()
		}
		return "refused to connect: " + reason + " (private, loopback, link-local and metadata addresses are blocked unless HOOKSHOT_EGRESS_ALLOW lists them)"
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		return "TLS certificate not trusted: " + rootCause(err).Error()
	case errors.As(err, &dnsErr):
		return "DNS lookup failed: " + dnsErr.Error()
	case errors.As(err, &opErr):
		return "connection failed: " + opErr.Error()
	}
	return err.Error()
}

func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
