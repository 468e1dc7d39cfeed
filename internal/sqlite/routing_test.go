package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

// BenchmarkRouting compares what a publish reads to route an event to 10
// webhooks: the whole list as Webhooks reads it (what publish read before
// the routing cache), and RoutingWebhooks, one version row and the cache.
func BenchmarkRouting(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "hookshot.db"))
	ctx := context.Background()
	const study = 189
	for range 10 {
		w := &hookshot.Webhook{StudyID: study, URL: "https://example.com/hook", Auth: hookshot.Auth{Type: hookshot.AuthHMAC},
			SealedCredentials: []byte("sealed"), Events: []string{hookshot.EventUpload},
			Active: true, Validation: hookshot.Validation{Status: hookshot.ValidationPassed},
			CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
		if err := s.CreateWebhook(ctx, w, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, read := range []struct {
		name string
		fn   func(context.Context, int64) ([]*hookshot.Webhook, error)
	}{{"Webhooks", s.Webhooks}, {"RoutingWebhooks", s.RoutingWebhooks}} {
		b.Run(read.name, func(b *testing.B) {
			for b.Loop() {
				if ws, err := read.fn(ctx, study); err != nil || len(ws) != 10 {
					b.Fatalf("%d webhooks, %v", len(ws), err)
				}
			}
		})
	}
}
