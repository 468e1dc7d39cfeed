package service_test

import (
	"testing"
	"time"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/service"
)

// An Idempotency-Key holds for the window by the service's clock: the same
// event again is answered as the first, another event is a conflict, and
// once the window has passed the key is free.
func TestIdempotencyWindow(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.validatedWebhook(t, 189)
	publish := func(payload []byte) (*hookshot.Publication, error) {
		return f.events.Publish(ctx, root, 189, service.PublishInput{Type: hookshot.EventUpload, Payload: payload, IdempotencyKey: "k1"})
	}
	first, err := publish(uploadPayload(189))
	if err != nil || first.Replayed || len(first.Deliveries) != 1 {
		t.Fatalf("first publish: %+v, %v", first, err)
	}
	f.clock.Advance(24 * time.Hour) // the window's last instant
	again, err := publish(uploadPayload(189))
	if err != nil || !again.Replayed || again.Event.ID != first.Event.ID {
		t.Fatalf("same event within the window: %+v, %v; want the first answered again", again, err)
	}
	other := []byte(`{"status": "completed", "uploadId": "2", "subjectId": "44732", "studyId": "189"}`)
	if _, err := publish(other); hookshot.ErrorCode(err) != hookshot.EConflict {
		t.Fatalf("another event within the window: %v, want a conflict", err)
	}
	f.clock.Advance(time.Microsecond)
	later, err := publish(other)
	if err != nil || later.Replayed || later.Event.ID == first.Event.ID || !later.Event.CreatedAt.Equal(f.clock.Now()) {
		t.Fatalf("after the window: %+v, %v; want a new event at %s", later, err, f.clock.Now())
	}
}
