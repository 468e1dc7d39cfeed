package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/delivery"
	"github.com/hookshot/hookshot/webhook"
)

// Relays serves `hookshot listen` (SPEC §15): a relay is a temporary
// webhook of a study whose deliveries the CLI claims over the API,
// forwards to a receiver the service cannot reach, and reports back. It
// is created active and validated (the service never connects to its URL,
// so there is nothing to validate and no address to guard), authenticated
// by a generated HMAC secret that is answered once, and it lives while its
// CLI polls: each claim pushes its expiry on, and a sweep (Start) deletes
// it once the expiry passes. Who may listen is who may manage the study's
// webhooks. Relays is safe for concurrent use.
type Relays struct {
	base
	webhooks *Webhooks
	store    hookshot.Store
	relays   hookshot.RelayStore
	relay    *delivery.Relay
	cfg      RelaysConfig
	log      *slog.Logger

	mu   sync.Mutex
	wake chan struct{} // closed and replaced by Notify

	stopOnce sync.Once
	stopping chan struct{}
	done     chan struct{}
	started  bool
}

// RelaysConfig tunes relays. Zero values take the defaults on each field.
type RelaysConfig struct {
	// Expiry is how long a relay outlives its CLI's last poll
	// (HOOKSHOT_LISTEN_EXPIRY). Default 60s.
	Expiry time.Duration
	// Lease is how long a claimed delivery waits for its CLI's report
	// before it is due again. Default twice the delivery timeout plus 30s,
	// as the engine's.
	Lease time.Duration
	// Poll is how often a waiting claim looks for due retries when
	// nothing wakes it. Default 500ms.
	Poll time.Duration
}

// MaxListenWait bounds one long poll of a relay's claim.
const MaxListenWait = 25 * time.Second

// relayBatch bounds the deliveries one claim hands out.
const relayBatch = 16

// NewRelays returns the relays service. webhooks checks the subscription
// as for any webhook; relay builds and judges attempts as the engine does.
func NewRelays(webhooks *Webhooks, store hookshot.Store, relays hookshot.RelayStore, relay *delivery.Relay, log *slog.Logger, cfg RelaysConfig) *Relays {
	if cfg.Expiry <= 0 {
		cfg.Expiry = 60 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 60 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Relays{
		base: webhooks.base, webhooks: webhooks, store: store, relays: relays, relay: relay, cfg: cfg, log: log,
		wake: make(chan struct{}), stopping: make(chan struct{}), done: make(chan struct{}),
	}
}

// Notify wakes the claims waiting for deliveries: some may be due now. It
// never blocks. Pass Relays with the engine wherever deliveries become due.
func (s *Relays) Notify() {
	s.mu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

func (s *Relays) wakeup() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// Expiry is how long a relay outlives its CLI's last poll.
func (s *Relays) Expiry() time.Duration { return s.cfg.Expiry }

// ListenInput registers a relay: the URL the CLI forwards to (stored as the
// webhook's URL and in its attempts; the service never connects to it)
// and the subscription, all event types when Events is empty.
type ListenInput struct {
	URL          string
	Events       []string
	EventOptions map[string]hookshot.EventOptions
}

// Listener is a registered relay: the webhook, its HMAC secret (shown
// this once), and when it expires unless its CLI polls.
type Listener struct {
	Webhook   *hookshot.Webhook
	Secret    string
	ExpiresAt time.Time
}

// Listen registers a relay of the study for p. Bad input is EInvalid and
// stores nothing.
func (s *Relays) Listen(ctx context.Context, p *hookshot.Principal, studyID int64, in ListenInput) (*Listener, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, err
	}
	problems := checkForwardURL(in.URL)
	events := in.Events
	if len(events) == 0 {
		events = s.webhooks.eventNames()
	}
	events, evProblems := s.webhooks.checkEvents(events, in.EventOptions)
	problems = append(problems, evProblems...)
	if len(problems) > 0 {
		return nil, hookshot.Invalid("Nothing is listening: "+summary(problems), problems...)
	}
	secret := newRelaySecret()
	sealed, err := s.webhooks.sealer.Seal(hookshot.Credentials{Secret: secret})
	if err != nil {
		return nil, fmt.Errorf("sealing the relay's secret: %w", err)
	}
	t := s.clock.Now()
	w := &hookshot.Webhook{
		StudyID:           studyID,
		URL:               in.URL,
		Auth:              hookshot.Auth{Type: hookshot.AuthHMAC},
		Format:            webhook.FormatActiGraph,
		SealedCredentials: sealed,
		Events:            events,
		EventOptions:      cleanOptions(in.EventOptions),
		Active:            true,
		// The handshake proves that the service reaches the receiver; for
		// a relay it never does, the CLI does.
		Validation: hookshot.Validation{Status: hookshot.ValidationPassed, CheckedAt: &t},
		CreatedAt:  t,
		UpdatedAt:  t,
	}
	expires := t.Add(s.cfg.Expiry)
	e := s.entry(p, hookshot.AuditCreated, studyID, "webhook "+hookshot.AuditNewID,
		"hookshot listen relay to "+in.URL+"; events "+strings.Join(events, ", "))
	if err := s.relays.CreateRelay(ctx, w, expires, e); err != nil {
		return nil, err
	}
	return &Listener{Webhook: w, Secret: secret, ExpiresAt: expires}, nil
}

// RelayDelivery is one claimed delivery for the CLI to send.
type RelayDelivery struct {
	DeliveryID string
	Event      string
	Request    *delivery.RelayRequest
}

// Claim waits up to wait (at most MaxListenWait, and well within the
// expiry) for due deliveries of the relay, leases them to it and returns
// them with their requests built; none when the wait ends first. Every
// look pushes the relay's expiry on. An unknown webhook, or one that is
// not a relay (or no longer: it expired), is ENotFound.
func (s *Relays) Claim(ctx context.Context, p *hookshot.Principal, studyID, id int64, wait time.Duration) ([]RelayDelivery, time.Time, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, time.Time{}, err
	}
	wait = max(0, min(wait, MaxListenWait, s.cfg.Expiry/3))
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		woken := s.wakeup()
		now := s.clock.Now()
		expires := now.Add(s.cfg.Expiry)
		jobs, err := s.relays.ClaimRelay(ctx, studyID, id, expires, hookshot.Claim{
			Owner: relayOwner(id), Now: now, LeaseFor: s.cfg.Lease, Limit: relayBatch,
		})
		if err != nil {
			return nil, time.Time{}, notFound(err, "Webhook %d of study %d is not a hookshot listen relay, or it expired; start hookshot listen again.", id, studyID)
		}
		if len(jobs) > 0 {
			return s.requests(ctx, jobs), expires, nil
		}
		poll := time.NewTimer(s.cfg.Poll)
		select {
		case <-woken:
		case <-poll.C:
		case <-deadline.C:
			poll.Stop()
			return nil, expires, nil
		case <-s.stopping:
			// The server is shutting down: an open poll must not hold it
			// up. The CLI polls again, at another process or this one
			// restarted.
			poll.Stop()
			return nil, expires, nil
		case <-ctx.Done():
			poll.Stop()
			return nil, expires, ctx.Err()
		}
		poll.Stop()
	}
}

// requests builds each job's request. A job whose request cannot be built
// (its sealed secret does not open) is recorded as a failed attempt at
// once, as the engine would, and left out.
func (s *Relays) requests(ctx context.Context, jobs []*hookshot.Job) []RelayDelivery {
	out := make([]RelayDelivery, 0, len(jobs))
	for _, j := range jobs {
		req, err := s.relay.Request(ctx, j)
		if err != nil {
			r := s.relay.Result(ctx, j, delivery.RelayOutcome{Error: err.Error()})
			if err := s.store.RecordResults(ctx, relayOwner(j.Webhook.ID), []*hookshot.Result{r}); err != nil {
				s.log.Warn("recording a relay attempt that could not be built; it is attempted again when its lease runs out", "delivery_id", j.Delivery.ID, "webhook_id", j.Webhook.ID, "err", err)
			}
			continue
		}
		out = append(out, RelayDelivery{DeliveryID: j.Delivery.ID, Event: j.Delivery.Event, Request: req})
	}
	return out
}

// Report records what the CLI got for a delivery it claimed, with the
// engine's verdicts: success, a retry by the schedule, or the final
// failure. It returns the delivery's new state. A delivery that is not
// leased to the relay (never claimed, already reported, or its lease ran
// out and it went back to the queue) is ENotFound.
func (s *Relays) Report(ctx context.Context, p *hookshot.Principal, studyID, id int64, deliveryID string, o delivery.RelayOutcome) (*hookshot.Result, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, err
	}
	job, err := s.relays.RelayJob(ctx, studyID, id, deliveryID, relayOwner(id))
	if err != nil {
		return nil, notFound(err, "Delivery %s of webhook %d is not waiting for a hookshot listen report: it was never claimed, was reported already, or its lease ran out.", deliveryID, id)
	}
	r := s.relay.Result(ctx, job, o)
	if err := s.store.RecordResults(ctx, relayOwner(id), []*hookshot.Result{r}); err != nil {
		return nil, err
	}
	if r.Status != hookshot.DeliveryInProgress {
		s.log.Debug("relay delivery finished", "delivery_id", deliveryID, "webhook_id", id, "study_id", studyID, "status", r.Status)
	}
	return r, nil
}

// relayOwner is the lease owner of a relay's deliveries: the same in every
// process, so that a report may reach another process than the claim did.
func relayOwner(webhookID int64) string { return fmt.Sprintf("listen:%d", webhookID) }

// Sweep deletes the relays whose expiry has passed, with an audit entry by
// system each, and returns how many it deleted. Processes sweeping
// together delete each relay once.
func (s *Relays) Sweep(ctx context.Context) (int, error) {
	now := s.clock.Now()
	refs, err := s.relays.ExpiredRelays(ctx, now, 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ref := range refs {
		e := s.entry(&hookshot.Principal{Name: "system"}, hookshot.AuditDeleted, ref.StudyID, webhookTarget(ref.WebhookID),
			"hookshot listen relay expired: its CLI stopped polling")
		err := s.relays.DeleteExpiredRelay(ctx, ref, now, e)
		if hookshot.ErrorCode(err) == hookshot.ENotFound {
			continue // swept by another process, or its CLI came back
		}
		if err != nil {
			return n, err
		}
		n++
		s.log.Info("hookshot listen relay expired and was deleted", "webhook_id", ref.WebhookID, "study_id", ref.StudyID)
	}
	return n, nil
}

// Start sweeps expired relays in the background, a few times per expiry,
// until Stop. A second Start does nothing.
func (s *Relays) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	go s.sweepLoop()
}

// Stop ends the sweep and waits for it, and makes waiting claims answer
// at once, empty, so that a server's shutdown does not wait for them. It
// is safe to call twice, and without Start.
func (s *Relays) Stop() {
	s.stopOnce.Do(func() { close(s.stopping) })
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if started {
		<-s.done
	}
}

func (s *Relays) sweepLoop() {
	defer close(s.done)
	every := min(max(s.cfg.Expiry/4, 100*time.Millisecond), 15*time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stopping
		cancel()
	}()
	for {
		select {
		case <-s.stopping:
			return
		case <-tick.C:
		}
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sweeping expired hookshot listen relays", "err", err)
		}
	}
}

// checkForwardURL checks the URL a relay forwards to: any absolute http or
// https URL, loopback included, since only the CLI connects to it.
func checkForwardURL(raw string) []hookshot.FieldError {
	bad := func(msg string) []hookshot.FieldError {
		return []hookshot.FieldError{{Field: "url", Message: msg}}
	}
	if raw == "" {
		return bad("is required: the http:// or https:// address hookshot listen forwards to")
	}
	if len(raw) > maxURLLength {
		return bad(fmt.Sprintf("is longer than %d characters", maxURLLength))
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return bad("is not a valid URL: " + strings.TrimPrefix(err.Error(), "parse "))
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("must be an absolute http:// or https:// URL, e.g. http://localhost:3000/webhooks")
	case u.Hostname() == "":
		return bad("has no host name")
	case u.User != nil:
		return bad("must not carry a user name or password")
	}
	return nil
}

// newRelaySecret is a relay's HMAC secret: 32 random bytes, printable.
func newRelaySecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
