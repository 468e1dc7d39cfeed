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
	"github.com/hookshot/hookshot/internal/sqlite"
)

// BenchmarkPublishConcurrent measures single-event publishes from 16
// concurrent publishers, each event to 10 webhooks, as hookshot-bench
// publishes them; each is its own durable write transaction, which group
// commit lets share COMMITs. Reports events per second.
func BenchmarkPublishConcurrent(b *testing.B) {
	const webhooks, publishers = 10, 16
	s := open(b, filepath.Join(b.TempDir(), "hookshot.db"))
	hooks := benchWebhooks(b, s, webhooks)
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((publishers + procs - 1) / procs) // RunParallel runs parallelism × GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := benchPublish(s, hooks, time.Now()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// benchPayload is an upload event's payload of the usual size.
var benchPayload = []byte(`{"status":"completed","firstEpochUTC":"2016-06-14T20:46:00.0000000",` +
	`"lastEpochUTC":"2016-06-14T20:47:00.0000000","uploadId":"85045","subjectId":"44732","studyId":"1"}`)

// benchWebhooks creates n validated HMAC webhooks of study 1 for upload
// events.
func benchWebhooks(b *testing.B, s *sqlite.Store, n int) []*hookshot.Webhook {
	b.Helper()
	var hooks []*hookshot.Webhook
	for i := range n {
		w := &hookshot.Webhook{StudyID: 1, URL: fmt.Sprintf("https://receiver.example/%d", i),
			Auth: hookshot.Auth{Type: hookshot.AuthHMAC}, SealedCredentials: make([]byte, 64),
			Events: []string{hookshot.EventUpload}, Active: true,
			Validation: hookshot.Validation{Status: hookshot.ValidationPassed}}
		if err := s.CreateWebhook(context.Background(), w, nil, nil); err != nil {
			b.Fatal(err)
		}
		hooks = append(hooks, w)
	}
	return hooks
}

// benchPublish publishes an upload event to hooks, its deliveries due at.
func benchPublish(s *sqlite.Store, hooks []*hookshot.Webhook, at time.Time) error {
	ev := &hookshot.Event{ID: uuid.NewString(), StudyID: 1, Type: hookshot.EventUpload, Payload: benchPayload, CreatedAt: at}
	ds := make([]*hookshot.Delivery, 0, len(hooks))
	for _, w := range hooks {
		ds = append(ds, &hookshot.Delivery{ID: uuid.NewString(), WebhookID: w.ID, StudyID: 1,
			Event: ev.Type, Status: hookshot.DeliveryInProgress, MaxAttempts: 5,
			NextAttemptAt: at, CreatedAt: at, UpdatedAt: at})
	}
	_, err := s.PublishEvent(context.Background(), ev, ds, nil)
	return err
}
