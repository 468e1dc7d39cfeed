//go:build linux

package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookshot/hookshot"
)

// BenchmarkWritePath runs the store's share of a delivery as the service
// does under load, without HTTP: publishers publish events, each to ten
// webhooks with its deliveries leased to the engine, and one recorder
// records a successful attempt for each, in batches of what has arrived
// (up to 256). It reports the bytes the process sent to storage per
// delivery (the WAL and the checkpoints' copies into the database file)
// and its CPU per delivery.
func BenchmarkWritePath(b *testing.B) {
	for _, publishers := range []int{16, 1} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) { benchmarkWritePath(b, publishers) })
	}
}

func benchmarkWritePath(b *testing.B, publishers int) {
	const webhooks, batch = 10, 256
	ctx := context.Background()
	s := open(b, filepath.Join(b.TempDir(), "hookshot.db"))
	hooks := benchWebhooks(b, s, webhooks)
	payload := benchPayload
	events := max(1, b.N/webhooks)
	results := make(chan *hookshot.Result, 4096)
	var published sync.WaitGroup
	next := make(chan int, events)
	for i := range events {
		next <- i
	}
	close(next)

	written0, cpu0 := writtenBytes(b), processCPU()
	b.ResetTimer()
	for range publishers {
		published.Add(1)
		go func() {
			defer published.Done()
			for range next {
				now := time.Now()
				ev := &hookshot.Event{ID: newID(), StudyID: 1, Type: hookshot.EventUpload,
					Payload: payload, TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", CreatedAt: now}
				ds := make([]*hookshot.Delivery, 0, len(hooks))
				for _, w := range hooks {
					ds = append(ds, &hookshot.Delivery{ID: newID(), WebhookID: w.ID, StudyID: 1,
						EventID: ev.ID, Event: ev.Type, Status: hookshot.DeliveryInProgress, MaxAttempts: 5,
						NextAttemptAt: now, TraceParent: ev.TraceParent, CreatedAt: now, UpdatedAt: now,
						LeaseOwner: "bench", LeaseUntil: now.Add(time.Minute)})
				}
				pub, err := s.PublishEvent(ctx, ev, ds, nil)
				if err != nil {
					b.Error(err)
					return
				}
				for _, d := range pub.Deliveries {
					results <- benchResult(d, hooks[d.WebhookID-hooks[0].ID], payload)
				}
			}
		}()
	}
	go func() { published.Wait(); close(results) }()
	recorded := 0
	pending := make([]*hookshot.Result, 0, batch)
	for r := range results {
		pending = append(pending[:0], r)
	gather:
		for len(pending) < batch {
			select {
			case r, ok := <-results:
				if !ok {
					break gather
				}
				pending = append(pending, r)
			default:
				break gather
			}
		}
		if err := s.RecordResults(ctx, "bench", pending); err != nil {
			b.Fatal(err)
		}
		recorded += len(pending)
	}
	b.StopTimer()
	if recorded > 0 {
		b.ReportMetric(float64(writtenBytes(b)-written0)/float64(recorded), "written-B/delivery")
		b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(recorded), "cpu-µs/delivery")
		b.ReportMetric(float64(recorded)/b.Elapsed().Seconds(), "deliveries/s")
	}
}

// benchResult is the result of a successful attempt of d, with headers
// of the sizes the engine records.
func benchResult(d *hookshot.Delivery, w *hookshot.Webhook, payload []byte) *hookshot.Result {
	started := time.Now().Add(-2 * time.Millisecond)
	return &hookshot.Result{
		Attempt: &hookshot.Attempt{DeliveryID: d.ID, Number: 1, StartedAt: started, Duration: 2 * time.Millisecond,
			Request: hookshot.AttemptRequest{URL: w.URL, Body: payload, Headers: map[string][]string{
				"Content-Type":           {"application/json; charset=utf-8"},
				"Traceparent":            {d.TraceParent},
				"User-Agent":             {"ActiGraph-Hookshot/1.0"},
				"X-Actigraph-Delivery":   {d.ID},
				"X-Actigraph-Event":      {d.Event},
				"X-Actigraph-Signature":  {"WZi1bGDikj9cDrSPq8pn8p8+Mc4iSFQbseq9NizZ20Y="},
				"X-Actigraph-Webhook-Id": {strconv.FormatInt(d.WebhookID, 10)},
				"X-Client-Cert-Used":     {"False"}}},
			Response: &hookshot.AttemptResponse{Status: 200, Headers: map[string][]string{
				"Content-Length": {"0"}, "Date": {started.Format(time.RFC1123)}}}},
		Status:        hookshot.DeliverySucceeded,
		NextAttemptAt: started,
		MaxAttempts:   d.MaxAttempts,
		WebhookID:     d.WebhookID,
		Event:         d.Event,
	}
}

// writtenBytes is write_bytes of /proc/self/io: what this process has
// sent to storage so far.
func writtenBytes(tb testing.TB) int64 {
	tb.Helper()
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		tb.Skip("no /proc/self/io:", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Skip("no write_bytes in /proc/self/io")
	return 0
}
