package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookshot/hookshot"
)

// BenchmarkPublishConcurrent measures single-event publishes from 16
// concurrent publishers, each event to 10 webhooks, as hookshot-bench
// publishes them; each is its own durable write transaction, which group
// commit lets share COMMITs. Reports events per second.
func BenchmarkPublishConcurrent(b *testing.B) {
	const webhooks, publishers = 10, 16
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "hookshot.db"))
	var hooks []*hookshot.Webhook
	for i := range webhooks {
		w := &hookshot.Webhook{StudyID: 1, URL: fmt.Sprintf("https://receiver.example/%d", i),
			Auth: hookshot.Auth{Type: hookshot.AuthNone}, Events: []string{hookshot.EventUpload}, Active: true,
			Validation: hookshot.Validation{Status: hookshot.ValidationPassed}}
		if err := s.CreateWebhook(ctx, w, nil, nil); err != nil {
			b.Fatal(err)
		}
		hooks = append(hooks, w)
	}
	payload := []byte(`{"status":"completed","uploadId":"85045","subjectId":"44732","studyId":"1"}`)
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((publishers + procs - 1) / procs) // RunParallel runs parallelism × GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			ev := &hookshot.Event{ID: uuid.NewString(), StudyID: 1, Type: hookshot.EventUpload, Payload: payload, CreatedAt: now}
			ds := make([]*hookshot.Delivery, 0, len(hooks))
			for _, w := range hooks {
				ds = append(ds, &hookshot.Delivery{ID: uuid.NewString(), WebhookID: w.ID, StudyID: 1,
					Event: ev.Type, Status: hookshot.DeliveryInProgress, MaxAttempts: 5,
					NextAttemptAt: now, CreatedAt: now, UpdatedAt: now})
			}
			if _, err := s.PublishEvent(ctx, ev, ds, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
