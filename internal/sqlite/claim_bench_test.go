package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

// BenchmarkClaimPastSkipped measures a claim behind a backlog in which
// most webhooks are skipped (full in this process), as when publishing
// outruns delivering: 200,000 due deliveries over 10 webhooks, claims of
// 32 for the one webhook with room. Each claim leases the oldest of that
// webhook, behind the deliveries of the nine others that the claims
// before it passed over, and passes over them again. On the development
// machine, -benchtime 600x: 24.7 ms a claim with the due time alone in the
// queue's index, 15.6 ms with the webhook beside it (migration 0014),
// which passes over the others' entries without reading their rows.
func BenchmarkClaimPastSkipped(b *testing.B) {
	const webhooks, events = 10, 20000
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "hookshot.db"))
	hooks := benchWebhooks(b, s, webhooks)
	due := time.Now().Add(-time.Hour)
	for i := range events {
		if err := benchPublish(s, hooks, due.Add(time.Duration(i)*time.Millisecond)); err != nil {
			b.Fatal(err)
		}
	}
	skip := make([]int64, 0, webhooks-1)
	for _, w := range hooks[:webhooks-1] {
		skip = append(skip, w.ID)
	}
	var claimed []string // by the ops since the last release
	b.ResetTimer()
	for b.Loop() {
		jobs, err := s.ClaimDeliveries(ctx, hookshot.Claim{Owner: "bench", Now: time.Now(), LeaseFor: time.Hour, Limit: 32, SkipWebhooks: skip})
		if err != nil {
			b.Fatal(err)
		}
		for _, j := range jobs {
			if j.Delivery.WebhookID != hooks[webhooks-1].ID {
				b.Fatalf("claimed a delivery of skipped webhook %d", j.Delivery.WebhookID)
			}
			claimed = append(claimed, j.Delivery.ID)
		}
		if len(jobs) < 32 {
			// The webhook's backlog is used up: give it all back, in its
			// place, and go on.
			b.StopTimer()
			for len(claimed) > 0 {
				n := min(len(claimed), 500)
				if err := s.ReleaseDeliveries(ctx, "bench", claimed[:n]); err != nil {
					b.Fatal(err)
				}
				claimed = claimed[n:]
			}
			b.StartTimer()
		}
	}
}
