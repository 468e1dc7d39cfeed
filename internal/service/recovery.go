package service

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hookshot/hookshot"
)

// Window is a span of creation times, [Since, Until). A zero Until means
// now.
type Window struct {
	Since time.Time
	Until time.Time
}

// replayPage bounds how many events replay reads, and how many
// deliveries it creates, in one transaction: a window of any size costs
// a bounded amount of memory.
const replayPage = 500

// check fills a zero Until with now and refuses a window that is empty
// or has no start, changing nothing.
func (w *Window) check(now time.Time) error {
	var problems []hookshot.FieldError
	if w.Since.IsZero() {
		problems = append(problems, hookshot.FieldError{Field: "since", Message: "is required: an RFC 3339 time such as 2026-12-01T00:00:00Z"})
	}
	if w.Until.IsZero() {
		w.Until = now
	}
	if len(problems) == 0 && !w.Since.Before(w.Until) {
		problems = append(problems, hookshot.FieldError{Field: "until", Message: "must be later than since (it defaults to now)"})
	}
	if len(problems) > 0 {
		return hookshot.Invalid("The window is not valid: "+summary(problems), problems...)
	}
	return nil
}

// enabledWebhook reads a webhook that must be enabled, and validated when
// validated is true, for a recovery: anything else is EConflict.
func (s *Events) enabledWebhook(ctx context.Context, studyID, webhookID int64, action string, validated bool) (*hookshot.Webhook, error) {
	w, err := findWebhook(ctx, s.store, studyID, webhookID)
	if err != nil {
		return nil, err
	}
	if !w.Active {
		return nil, hookshot.Errorf(hookshot.EConflict, "Webhook %d is disabled, so there is nothing to %s to: enable it first (POST .../webhooks/%d/enable).", webhookID, action, webhookID)
	}
	if validated && w.Validation.Status != hookshot.ValidationPassed {
		return nil, hookshot.Errorf(hookshot.EConflict, "Webhook %d has not passed validation (it is %s), and receives events only once it has: validate it first (POST .../webhooks/%d/validate).", webhookID, w.Validation.Status, webhookID)
	}
	return w, nil
}

// Recover gives every failed event delivery of the webhook created in the
// window one more attempt, as Resend does, and returns how many. The
// webhook must be enabled (EConflict); a bad window is EInvalid; more
// than ManualPerWindow manual requests to the webhook in a window are
// ETooMany.
func (s *Events) Recover(ctx context.Context, p *hookshot.Principal, studyID, webhookID int64, win Window) (int, error) {
	if err := mayManage(p, studyID); err != nil {
		return 0, err
	}
	now := s.clock.Now()
	if err := win.check(now); err != nil {
		return 0, err
	}
	if _, err := s.enabledWebhook(ctx, studyID, webhookID, "recover", false); err != nil {
		return 0, err
	}
	if err := s.cfg.Limit.allow(webhookID, "recoveries"); err != nil {
		return 0, err
	}
	e := s.entry(p, hookshot.AuditRecovered, studyID, webhookTarget(webhookID),
		hookshot.AuditCount+" failed deliveries created in ["+win.Since.Format(time.RFC3339)+", "+win.Until.Format(time.RFC3339)+")")
	n, err := s.store.RecoverDeliveries(ctx, webhookID, win.Since, win.Until, now, e)
	if err != nil {
		return 0, notFound(err, "Webhook %d does not exist in study %d.", webhookID, studyID)
	}
	if n > 0 {
		notify(s.notifier)
	}
	return n, nil
}

// Replay creates a delivery to the webhook for every event of the study
// created in the window that the webhook receives by its current
// subscription and options and has had no delivery of, and returns how
// many: the events it missed while disabled, not yet validated, or not yet
// created. A second identical call creates none. The webhook must be
// enabled and validated (EConflict); a bad window is EInvalid; more than
// ManualPerWindow manual requests to the webhook in a window are
// ETooMany. Each page of up to replayPage events is stored in its own
// transaction, with its own audit entry.
func (s *Events) Replay(ctx context.Context, p *hookshot.Principal, studyID, webhookID int64, win Window) (int, error) {
	if err := mayManage(p, studyID); err != nil {
		return 0, err
	}
	now := s.clock.Now()
	if err := win.check(now); err != nil {
		return 0, err
	}
	w, err := s.enabledWebhook(ctx, studyID, webhookID, "replay", true)
	if err != nil {
		return 0, err
	}
	if err := s.cfg.Limit.allow(webhookID, "replays"); err != nil {
		return 0, err
	}
	f := hookshot.ReplayFilter{StudyID: studyID, WebhookID: webhookID, Types: w.Events, Since: win.Since, Until: win.Until, Limit: replayPage}
	total := 0
	for {
		events, err := s.store.UnreplayedEvents(ctx, f)
		if err != nil {
			return total, err
		}
		if len(events) == 0 {
			break
		}
		var ds []*hookshot.Delivery
		for _, ev := range events {
			if !w.Subscribed(ev.Type, uploadStatus(ev)) {
				continue
			}
			ds = append(ds, &hookshot.Delivery{
				ID:            newID(),
				WebhookID:     webhookID,
				StudyID:       studyID,
				EventID:       ev.ID,
				Event:         ev.Type,
				Status:        hookshot.DeliveryInProgress,
				MaxAttempts:   len(s.cfg.Schedule) + 1,
				NextAttemptAt: now,
				TraceParent:   ev.TraceParent,
				CreatedAt:     now,
				UpdatedAt:     now,
			})
		}
		if len(ds) > 0 {
			e := s.entry(p, hookshot.AuditReplayed, studyID, webhookTarget(webhookID),
				hookshot.AuditCount+" events created in ["+win.Since.Format(time.RFC3339)+", "+win.Until.Format(time.RFC3339)+")")
			n, err := s.store.ReplayDeliveries(ctx, webhookID, ds, e)
			if err != nil {
				return total, notFound(err, "Webhook %d does not exist in study %d.", webhookID, studyID)
			}
			total += n
		}
		if len(events) < replayPage {
			break
		}
		last := events[len(events)-1]
		f.After = &hookshot.Cursor{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	if total > 0 {
		notify(s.notifier)
	}
	return total, nil
}

// uploadStatus is an upload event's status, which upload subscriptions
// may narrow (SPEC §2); "" for other types. The payload was checked when
// it was published.
func uploadStatus(ev *hookshot.Event) string {
	if ev.Type != hookshot.EventUpload {
		return ""
	}
	var p struct {
		Status string `json:"status"`
	}
	_ = json.Unmarshal(ev.Payload, &p)
	return p.Status
}
