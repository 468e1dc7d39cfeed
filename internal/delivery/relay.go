package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/clock"
)

// Relay makes the attempts of relays, the webhooks of `hookshot listen`
// (SPEC §15), whose receiver the service cannot reach: the CLI claims
// them over the API, sends each request itself and reports the answer.
//
// Both halves run through the engine's own sender, over a transport that
// goes nowhere: Request lets it build the attempt (headers, signature,
// traceparent, whatever the webhook's format asks for) and keeps the
// request instead of sending it; Result hands it the CLI's answer as the
// response, so the attempt is judged, capped and stored exactly as the
// engine would, and resultFor reschedules it by the same retry schedule.
// Neither half keeps state between the two, so any process sharing the
// database may answer either.
type Relay struct {
	sender   sender
	schedule []time.Duration
	clock    clock.Clock
}

// NewRelay returns a Relay that builds and judges attempts as an engine
// built from cfg does (Wire, Timeout, Credentials, Schedule, Clock).
func NewRelay(cfg Config) *Relay {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Wire == (Wire{}) {
		cfg.Wire = DefaultWire
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	return &Relay{
		sender: sender{
			wire:    cfg.Wire,
			timeout: cfg.Timeout,
			opener:  cfg.Credentials,
			clock:   cfg.Clock,
			keys:    cfg.SigningKeys,
			keyOpen: cfg.KeyOpener,
			// Relays authenticate by HMAC only; the cache is there so that
			// the sender never meets a nil one.
			tokens: newTokenCache(&http.Client{Transport: nowhere{}}),
		},
		schedule: cfg.Schedule,
		clock:    cfg.Clock,
	}
}

// RelayRequest is one attempt's request as the engine would send it.
type RelayRequest struct {
	URL    string
	Header http.Header
	Body   []byte
	// Attempt is the number the attempt will be stored under.
	Attempt int
}

// RelayOutcome is what the CLI got when it sent a RelayRequest: a response
// (Status not 0), or the Error that kept one from arriving.
type RelayOutcome struct {
	Duration time.Duration
	Status   int
	Header   http.Header
	Body     []byte
	Error    string
}

// errKept ends a request that Request keeps instead of sending.
var errKept = errors.New("kept for the relay")

// Request builds the request of job's next attempt. It fails when the
// attempt could not even be built (the stored credentials do not open).
func (r *Relay) Request(ctx context.Context, job *hookshot.Job) (*RelayRequest, error) {
	var kept *http.Request
	s := r.sender
	s.client = relayClient(roundTrip(func(req *http.Request) (*http.Response, error) {
		kept = req
		return nil, errKept
	}))
	number := job.Delivery.Attempts + 1
	att, _ := s.send(ctx, job, number)
	if kept == nil {
		return nil, fmt.Errorf("building attempt %d of delivery %s: %s", number, job.Delivery.ID, att.Error)
	}
	return &RelayRequest{URL: kept.URL.String(), Header: kept.Header, Body: job.Payload, Attempt: number}, nil
}

// Result is the delivery's new state once the CLI reported outcome o for
// job's next attempt, to be recorded with Store.RecordResults under the
// owner that claimed it. The attempt is stored as having ended now.
func (r *Relay) Result(ctx context.Context, job *hookshot.Job, o RelayOutcome) *hookshot.Result {
	if size := headerSize(o.Header); size > relayHeaderCap {
		// As a receiver's own oversized headers would (SPEC §12): the
		// attempt fails, and nothing of them is kept.
		o = RelayOutcome{Duration: o.Duration, Error: fmt.Sprintf("the response headers are %d bytes, over the limit of %d KiB", size, relayHeaderCap>>10)}
	}
	s := r.sender
	s.client = relayClient(roundTrip(func(req *http.Request) (*http.Response, error) {
		if o.Status == 0 {
			msg := o.Error
			if msg == "" {
				msg = "the CLI got no response"
			}
			return nil, errors.New(msg)
		}
		header := o.Header
		if header == nil {
			header = http.Header{}
		}
		return &http.Response{
			Status: fmt.Sprintf("%d %s", o.Status, http.StatusText(o.Status)), StatusCode: o.Status,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: header, Body: io.NopCloser(bytes.NewReader(o.Body)), ContentLength: int64(len(o.Body)),
			Request: req,
		}, nil
	}))
	att, v := s.send(ctx, job, job.Delivery.Attempts+1)
	// The times are the CLI's: its request took o.Duration, and ended as
	// it reported.
	now := r.clock.Now()
	att.Duration = max(o.Duration, 0)
	att.StartedAt = now.Add(-att.Duration)
	if o.Status == 0 && o.Error != "" {
		att.Error = o.Error
	}
	return resultFor(job.Delivery, att, v, r.schedule, now)
}

// relayHeaderCap bounds the response headers stored of an attempt.
const relayHeaderCap = 64 << 10

// headerSize is how many bytes h takes as "Name: value" lines.
func headerSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// relayClient is a client over rt that, like the engine's, never follows
// a redirect.
func relayClient(rt http.RoundTripper) *http.Client {
	return &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// nowhere refuses every request: a relay never connects anywhere.
type nowhere struct{}

func (nowhere) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("a relay does not connect anywhere")
}
