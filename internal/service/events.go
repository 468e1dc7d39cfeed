package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/catalog"
	"github.com/hookshot/hookshot/internal/clock"
)

// Events publishes a study's events for its publishers, and shows and
// resends a webhook's deliveries to the study's managers. It is safe for
// concurrent use.
type Events struct {
	base
	store     hookshot.Store
	catalog   *catalog.Catalog
	notifier  Notifier
	cfg       EventsConfig
	published *prometheus.CounterVec
}

// EventsConfig is the part of the operator's settings that Events applies.
type EventsConfig struct {
	// Schedule is the retry schedule; a delivery gets len(Schedule)+1
	// attempts.
	Schedule []time.Duration
	// IdempotencyWindow is how long an Idempotency-Key is remembered.
	// Default 24h.
	IdempotencyWindow time.Duration
	// Limit bounds the resends, recoveries and replays people ask for, per
	// webhook; nil for a limit of this service's own. Share one with
	// Webhooks.
	Limit *ManualLimit
	// Registerer, when set, receives the count of events published.
	Registerer prometheus.Registerer
	// HandOff, when set, is this process's engine: a publish hands it
	// what it can start at once, leased to it in the publish's
	// transaction, instead of leaving it due for a claim.
	HandOff HandOff
}

// NewEvents returns the events service over store. The catalog checks
// payloads, and notifier (which may be nil) is told when deliveries are
// due. A nil clk is the system clock.
func NewEvents(store hookshot.Store, cat *catalog.Catalog, notifier Notifier, clk clock.Clock, cfg EventsConfig) *Events {
	if cfg.IdempotencyWindow <= 0 {
		cfg.IdempotencyWindow = 24 * time.Hour
	}
	if cfg.Limit == nil {
		cfg.Limit = NewManualLimit(clk)
	}
	published := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookshot_events_published_total",
		Help: "Events published through this process, by type; a repeated Idempotency-Key counts once.",
	}, []string{"type"})
	for _, t := range cat.Types() {
		published.WithLabelValues(t.Name)
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(published)
	}
	return &Events{base: newBase(clk), store: store, catalog: cat, notifier: notifier, cfg: cfg, published: published}
}

// Catalog returns the event catalog, which every caller may read.
func (s *Events) Catalog() *catalog.Catalog { return s.catalog }

// PublishInput is one event as a producer sends it.
type PublishInput struct {
	Type string
	// Payload is the raw JSON text; it reaches receivers byte for byte.
	Payload []byte
	// TraceParent is the producer's W3C trace context, if any; a new trace
	// is started when it is missing or malformed.
	TraceParent string
	// IdempotencyKey makes a retried publish answer the first one.
	IdempotencyKey string
}

const maxIdempotencyKey = 255

var traceParentPattern = regexp.MustCompile(`^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)

// Publish checks an event against its schema and the study, stores it with
// one delivery for each webhook that receives it (enabled, validated,
// subscribed, options matching), and hands them to the engine or wakes it. Once it returns
// without error, the event and its deliveries are on disk. Bad input is
// EInvalid and stores nothing; a key reused for another event is
// EConflict.
func (s *Events) Publish(ctx context.Context, p *hookshot.Principal, studyID int64, in PublishInput) (*hookshot.Publication, error) {
	if err := mayPublish(p, studyID); err != nil {
		return nil, err
	}
	webhooks, err := s.store.RoutingWebhooks(ctx, studyID)
	if err != nil {
		return nil, err
	}
	item, err := s.prepare(studyID, in, webhooks, s.clock.Now())
	if err != nil {
		return nil, err
	}
	ev, deliveries, key := item.Event, item.Deliveries, item.Key
	r := s.reserve(deliveries)
	pub, err := s.store.PublishEvent(ctx, ev, deliveries, key)
	if err != nil {
		r.Cancel()
	} else {
		handOver(r, []*hookshot.Publication{pub}, webhooks)
	}
	if errors.Is(err, hookshot.ErrIdempotencyMismatch) {
		return nil, hookshot.Errorf(hookshot.EConflict, "The Idempotency-Key %q was used within the last %s for a different event; use a new key for a new event.", in.IdempotencyKey, s.cfg.IdempotencyWindow)
	}
	if err != nil {
		return nil, err
	}
	if !pub.Replayed {
		s.published.WithLabelValues(ev.Type).Inc()
		if dueNow(pub.Deliveries) {
			notify(s.notifier)
		}
	}
	return pub, nil
}

// prepare checks one event against its schema and the study, and builds
// it with one delivery for each of webhooks that receives it, created at
// t, and its idempotency key. Bad input is EInvalid.
func (s *Events) prepare(studyID int64, in PublishInput, webhooks []*hookshot.Webhook, t time.Time) (hookshot.PublishItem, error) {
	var problems []hookshot.FieldError
	if in.Type == "" {
		problems = append(problems, hookshot.FieldError{Field: "type", Message: "is required: the event type, e.g. upload"})
	}
	if len(in.Payload) == 0 || string(in.Payload) == "null" {
		problems = append(problems, hookshot.FieldError{Field: "payload", Message: "is required: the event's JSON object"})
	}
	if len(problems) > 0 {
		return hookshot.PublishItem{}, hookshot.Invalid("The event was not published: the body needs both type and payload.", problems...)
	}
	if len(in.IdempotencyKey) > maxIdempotencyKey || strings.IndexFunc(in.IdempotencyKey, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return hookshot.PublishItem{}, hookshot.Invalid("The Idempotency-Key header must be at most 255 printable characters.",
			hookshot.FieldError{Field: "Idempotency-Key", Message: "must be at most 255 printable characters"})
	}
	info, err := s.catalog.Validate(in.Type, studyID, in.Payload)
	if err != nil {
		return hookshot.PublishItem{}, err
	}
	trace := in.TraceParent
	if !validTraceParent(trace) {
		trace = newTraceParent()
	}
	ev := &hookshot.Event{
		ID:          newID(),
		StudyID:     studyID,
		Type:        in.Type,
		Payload:     in.Payload,
		TraceParent: trace,
		CreatedAt:   t,
	}
	var deliveries []*hookshot.Delivery
	for _, w := range webhooks {
		if !w.Receives(in.Type, info.Status) {
			continue
		}
		deliveries = append(deliveries, &hookshot.Delivery{
			ID:            newID(),
			WebhookID:     w.ID,
			StudyID:       studyID,
			EventID:       ev.ID,
			Event:         in.Type,
			Status:        hookshot.DeliveryInProgress,
			MaxAttempts:   len(s.cfg.Schedule) + 1,
			NextAttemptAt: t,
			TraceParent:   trace,
			CreatedAt:     t,
			UpdatedAt:     t,
		})
	}
	var key *hookshot.IdempotencyKey
	if in.IdempotencyKey != "" {
		sum := sha256.Sum256(append([]byte(in.Type+"\x00"), in.Payload...))
		key = &hookshot.IdempotencyKey{
			Key:         in.IdempotencyKey,
			RequestHash: hex.EncodeToString(sum[:]),
			NotBefore:   t.Add(-s.cfg.IdempotencyWindow),
		}
	}
	return hookshot.PublishItem{Event: ev, Deliveries: deliveries, Key: key}, nil
}

func validTraceParent(tp string) bool {
	if !traceParentPattern.MatchString(tp) || strings.HasPrefix(tp, "ff") {
		return false
	}
	return tp[3:35] != strings.Repeat("0", 32) && tp[36:52] != strings.Repeat("0", 16)
}

// DeliveryQuery selects a page of a webhook's deliveries. Every field is
// optional and as a caller wrote it; Deliveries checks them.
type DeliveryQuery struct {
	Status string
	Event  string
	// ID finds one delivery by its GUID, EventID an event's deliveries.
	ID      string
	EventID string
	// Since and Until (RFC 3339) keep the deliveries created in
	// [Since, Until).
	Since, Until string
	Cursor       string
	Limit        int
}

// Deliveries lists a webhook's deliveries newest first and returns the
// cursor of the next page ("" on the last). An unknown webhook is
// ENotFound; a bad query is EMalformed, naming each bad parameter.
func (s *Events) Deliveries(ctx context.Context, p *hookshot.Principal, studyID, webhookID int64, q DeliveryQuery) ([]*hookshot.Delivery, string, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, "", err
	}
	return s.deliveries(ctx, studyID, webhookID, q)
}

// deliveries is Deliveries for a caller already checked.
func (s *Events) deliveries(ctx context.Context, studyID, webhookID int64, q DeliveryQuery) ([]*hookshot.Delivery, string, error) {
	if _, err := findWebhook(ctx, s.store, studyID, webhookID); err != nil {
		return nil, "", err
	}
	f := hookshot.DeliveryFilter{WebhookID: webhookID, Limit: q.Limit}
	var problems []hookshot.FieldError
	if q.Status != "" {
		if !hookshot.DeliveryStatus(q.Status).Valid() {
			problems = append(problems, hookshot.FieldError{Field: "status", Message: "must be in_progress, succeeded or failed"})
		}
		f.Status = hookshot.DeliveryStatus(q.Status)
	}
	if q.Event != "" {
		if _, ok := s.catalog.Lookup(q.Event); !ok && q.Event != hookshot.EventValidation {
			problems = append(problems, hookshot.FieldError{Field: "event", Message: "must be an event type or validation"})
		}
		f.Event = q.Event
	}
	f.ID, problems = queryGUID(problems, "id", q.ID)
	f.EventID, problems = queryGUID(problems, "event_id", q.EventID)
	f.Since, f.Until, problems = queryWindow(problems, q.Since, q.Until)
	f.Before, problems = queryCursor(problems, q.Cursor)
	f.Limit, problems = queryLimit(problems, f.Limit)
	if len(problems) > 0 {
		return nil, "", badQuery("delivery list", problems)
	}
	f.Limit++ // one more tells whether there is a next page
	items, err := s.store.Deliveries(ctx, f)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(items) == f.Limit {
		items = items[:len(items)-1]
		last := items[len(items)-1]
		next = hookshot.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}.Encode()
	}
	return items, next, nil
}

// DeliveryHistory is a delivery with its attempts, oldest first.
type DeliveryHistory struct {
	*hookshot.Delivery
	// Attempts shadows Delivery.Attempts, the count; that stays readable
	// as History.Delivery.Attempts.
	Attempts []*hookshot.Attempt
}

// DeliveryHistories is Deliveries with every delivery's attempts, for a
// page that shows them all at once. The webhook is checked once, not once
// per delivery.
func (s *Events) DeliveryHistories(ctx context.Context, p *hookshot.Principal, studyID, webhookID int64, q DeliveryQuery) ([]DeliveryHistory, string, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, "", err
	}
	list, next, err := s.deliveries(ctx, studyID, webhookID, q)
	if err != nil {
		return nil, "", err
	}
	out := make([]DeliveryHistory, len(list))
	for i, d := range list {
		_, attempts, err := s.store.Delivery(ctx, webhookID, d.ID)
		if err != nil {
			return nil, "", notFound(err, "Delivery %s does not exist for webhook %d.", d.ID, webhookID)
		}
		out[i] = DeliveryHistory{Delivery: d, Attempts: attempts}
	}
	return out, next, nil
}

var guidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Delivery returns one delivery of a webhook with all its attempts, or
// ENotFound.
func (s *Events) Delivery(ctx context.Context, p *hookshot.Principal, studyID, webhookID int64, id string) (*hookshot.Delivery, []*hookshot.Attempt, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, nil, err
	}
	return s.delivery(ctx, studyID, webhookID, id)
}

// delivery is Delivery for a caller already checked.
func (s *Events) delivery(ctx context.Context, studyID, webhookID int64, id string) (*hookshot.Delivery, []*hookshot.Attempt, error) {
	if _, err := findWebhook(ctx, s.store, studyID, webhookID); err != nil {
		return nil, nil, err
	}
	id = strings.ToLower(id)
	if !guidPattern.MatchString(id) {
		return nil, nil, hookshot.Errorf(hookshot.ENotFound, "Delivery %q does not exist for webhook %d: delivery ids are GUIDs.", id, webhookID)
	}
	d, attempts, err := s.store.Delivery(ctx, webhookID, id)
	if err != nil {
		return nil, nil, notFound(err, "Delivery %s does not exist for webhook %d.", id, webhookID)
	}
	return d, attempts, nil
}

// Resend puts a finished delivery back in progress for one more attempt,
// under the same GUID; one still in progress becomes due at once, keeping
// the retries it has left (retry now). An unknown delivery is ENotFound;
// more than ManualPerWindow manual requests to the webhook in a window
// are ETooMany.
func (s *Events) Resend(ctx context.Context, p *hookshot.Principal, studyID, webhookID int64, id string) (*hookshot.Delivery, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, err
	}
	if _, _, err := s.delivery(ctx, studyID, webhookID, id); err != nil {
		return nil, err
	}
	if err := s.cfg.Limit.allow(webhookID, "resends"); err != nil {
		return nil, err
	}
	id = strings.ToLower(id)
	d, err := s.store.ResendDelivery(ctx, webhookID, id, s.clock.Now(), s.entry(p, hookshot.AuditResent, studyID, "delivery "+id, webhookTarget(webhookID)))
	if err != nil {
		return nil, notFound(err, "Delivery %s does not exist for webhook %d.", id, webhookID)
	}
	notify(s.notifier)
	return d, nil
}
