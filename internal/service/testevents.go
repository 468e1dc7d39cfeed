package service

import (
	"cmp"
	"context"

	"github.com/hookshot/hookshot"
)

// TestInput asks for a test event: the catalog's example of Type (and,
// for upload, of Status; "" is completed).
type TestInput struct {
	Type   string
	Status string
}

// SendTest sends the catalog's example payload of a type, with this
// study's id in it, to one webhook as an ordinary delivery of a new event
// marked as a test, whose requests carry <prefix>Test: true (SPEC §15).
// The event goes to this webhook only, whatever the others subscribe to;
// this one need not be subscribed to the type either, since the caller
// chose it. It must be enabled and validated, like any webhook that gets
// events: otherwise EConflict saying what to do. An unknown webhook is
// ENotFound, an unknown type or status EInvalid. The audit trail records
// it, as p's doing, with the event.
func (s *Events) SendTest(ctx context.Context, p *hookshot.Principal, studyID, webhookID int64, in TestInput) (*hookshot.Delivery, error) {
	if err := mayManage(p, studyID); err != nil {
		return nil, err
	}
	w, err := findWebhook(ctx, s.store, studyID, webhookID)
	if err != nil {
		return nil, err
	}
	if in.Type == "" {
		return nil, hookshot.Invalid("The test event needs a type: one of the event types, e.g. upload.",
			hookshot.FieldError{Field: "type", Message: "is required: the event type whose example to send, e.g. upload"})
	}
	payload, err := s.catalog.Example(in.Type, in.Status, studyID)
	if err != nil {
		return nil, err
	}
	switch {
	case !w.Active:
		return nil, hookshot.Errorf(hookshot.EConflict, "Webhook %d is disabled, and a disabled webhook gets no events, test events included; enable it first.", webhookID)
	case w.Validation.Status != hookshot.ValidationPassed:
		return nil, hookshot.Errorf(hookshot.EConflict, "Webhook %d has not passed validation (it is %s), and until it does it gets no events, test events included; validate it first.", webhookID, w.Validation.Status)
	}
	t := s.clock.Now()
	trace := newTraceParent()
	ev := &hookshot.Event{ID: newID(), StudyID: studyID, Type: in.Type, Payload: payload, TraceParent: trace, Test: true, CreatedAt: t}
	d := &hookshot.Delivery{
		ID:            newID(),
		WebhookID:     w.ID,
		StudyID:       studyID,
		Event:         in.Type,
		Status:        hookshot.DeliveryInProgress,
		MaxAttempts:   len(s.cfg.Schedule) + 1,
		NextAttemptAt: t,
		TraceParent:   trace,
		CreatedAt:     t,
		UpdatedAt:     t,
	}
	detail := "test event " + in.Type
	if in.Type == hookshot.EventUpload {
		detail += " (" + cmp.Or(in.Status, "completed") + ")"
	}
	e := s.entry(p, hookshot.AuditTested, studyID, webhookTarget(webhookID), detail+", delivery "+d.ID)
	pubs, err := s.store.PublishEvents(ctx, []hookshot.PublishItem{{Event: ev, Deliveries: []*hookshot.Delivery{d}, Audit: e}})
	if err != nil {
		return nil, err
	}
	pub := pubs[0]
	if len(pub.Deliveries) == 0 {
		// Deleted between the read and the insert.
		return nil, hookshot.Errorf(hookshot.ENotFound, "Webhook %d does not exist in study %d.", webhookID, studyID)
	}
	notify(s.notifier)
	return pub.Deliveries[0], nil
}
