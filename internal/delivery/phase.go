package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// phase is where an attempt stands on its way from connecting to reading
// the answer, so that a timeout can say which part was slow: a receiver
// whose TLS handshake hangs needs other fixing than one that takes long
// to think.
type phase int32

const (
	phaseConnecting phase = iota
	phaseTLS
	phaseSending
	phaseWaiting
	phaseReading
)

func (p phase) String() string {
	switch p {
	case phaseTLS:
		return "during the TLS handshake"
	case phaseSending:
		return "while sending the request"
	case phaseWaiting:
		return "while waiting for the answer"
	case phaseReading:
		return "while reading the answer"
	}
	return "while connecting"
}

// phases follows one request through net/http/httptrace. The hooks run
// on the transport's goroutines, hence the atomic.
type phases struct {
	now atomic.Int32
}

func (p *phases) set(to phase) { p.now.Store(int32(to)) }

func (p *phases) current() phase { return phase(p.now.Load()) }

// trace returns ctx with hooks that move p along. A connection taken from
// the pool skips connecting: GotConn moves straight to sending. Hooks that
// run once ctx has ended are ignored: tearing down a request fires some of
// them (on a reused HTTP/1.1 connection, GotFirstResponseByte), and the
// phase to report is the one the deadline found.
func (p *phases) trace(ctx context.Context) context.Context {
	move := func(to phase) {
		if ctx.Err() == nil {
			p.set(to)
		}
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn:           func(string) { move(phaseConnecting) },
		TLSHandshakeStart: func() { move(phaseTLS) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { move(phaseConnecting) },
		GotConn:           func(httptrace.GotConnInfo) { move(phaseSending) },
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				move(phaseWaiting)
			}
		},
		GotFirstResponseByte: func() { move(phaseReading) },
	})
}

// isTimeout reports whether err is the attempt running out of time: the
// attempt's deadline, or a timeout of the transport's own (dialing, the
// TLS handshake).
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// maxResponseHeaderBytes bounds a receiver's response headers (SPEC §12):
// the transport stops reading beyond it, so a receiver that answers
// megabytes of headers costs at most this much memory, and the attempt
// fails with headersTooLarge as its reason.
const maxResponseHeaderBytes = 64 << 10

// headersTooLarge says why an attempt failed when the receiver's headers
// went beyond maxResponseHeaderBytes, or "" for any other error. HTTP/1
// says so plainly; HTTP/2 says so when the excess is small, and for a
// large one only closes the connection with PROTOCOL_ERROR, which then
// names that cause among the likely ones.
func headersTooLarge(err error) string {
	msg := err.Error()
	limit := fmt.Sprintf("the receiver's response headers exceed %d KiB, the most Hookshot reads", maxResponseHeaderBytes>>10)
	switch {
	case strings.Contains(msg, "server response headers exceeded"),
		strings.Contains(msg, "response header list larger than advertised limit"):
		return limit
	case strings.Contains(msg, "connection error: PROTOCOL_ERROR"):
		return "the receiver broke the HTTP/2 protocol (connection error: PROTOCOL_ERROR); the usual cause is that " + limit
	}
	return ""
}

// timedOut says that an attempt ran out of time, and in which phase.
func timedOut(timeout time.Duration, at phase) string {
	return fmt.Sprintf("timed out after %s %s (HOOKSHOT_DELIVERY_TIMEOUT)", timeout, at)
}

// timedOutErr is timedOut for err: the attempt's deadline, or one of the
// transport's own, shorter ones (10 s to connect, 10 s for the TLS
// handshake), which err then names.
func timedOutErr(err error, timeout time.Duration, at phase) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return timedOut(timeout, at)
	}
	return fmt.Sprintf("timed out %s: %v", at, rootCause(err))
}

// describeFailure is describe for an attempt whose phase is known.
func describeFailure(err error, timeout time.Duration, at phase) string {
	if isTimeout(err) {
		return timedOutErr(err, timeout, at)
	}
	if reason := headersTooLarge(err); reason != "" {
		return reason
	}
	return describe(err, timeout)
}

// maxTokenErrorText bounds what of a token endpoint's error is kept in an
// attempt's reason: x/oauth2 reads up to 1 MiB of its answer.
const maxTokenErrorText = 200

// describeTokenFailure says why the OAuth2 token request failed: that it
// was the token request and not the delivery, the token URL without its
// query (which could hold secrets), and the endpoint's status and error
// code, but never the endpoint's whole answer, which may echo what was
// sent.
func describeTokenFailure(err error, tokenURL string, timeout time.Duration, at phase) string {
	lead := "the OAuth2 token request to " + redactURL(tokenURL) + " failed: "
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		reason := fmt.Sprintf("the token endpoint answered %s", re.Response.Status)
		if re.ErrorCode != "" {
			reason += fmt.Sprintf(" with error %q", clip(re.ErrorCode))
			if re.ErrorDescription != "" {
				reason += fmt.Sprintf(" (%s)", clip(re.ErrorDescription))
			}
		}
		if re.Response.StatusCode == http.StatusUnauthorized || re.ErrorCode == "invalid_client" {
			reason += "; check the webhook's client id and client secret"
		}
		return lead + reason
	}
	if isTimeout(err) {
		return lead + timedOutErr(err, timeout, at)
	}
	if reason := headersTooLarge(err); reason != "" {
		return lead + reason
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The url.Error repeats the token URL with its query.
		err = ue.Err
	}
	return lead + clip(describe(err, timeout))
}

// redactURL shows a URL without user information, query or fragment.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the webhook's token URL"
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	return u.String()
}

func clip(s string) string {
	if len(s) <= maxTokenErrorText {
		return s
	}
	cut := maxTokenErrorText
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
