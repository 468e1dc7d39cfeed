package delivery

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/hookshot/hookshot"
)

// BenchmarkAttemptSpan is the CPU an attempt's span costs with the real
// SDK and batching (the export itself discarded).
func BenchmarkAttemptSpan(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer tp.Shutdown(context.Background())
	tracer := tp.Tracer("bench")
	job := &hookshot.Job{
		Delivery: &hookshot.Delivery{ID: "0193b6a0-0000-7000-8000-000000000000", WebhookID: 7, StudyID: 189, Event: "upload",
			TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
		Webhook: &hookshot.Webhook{URL: "https://receiver.example:8443/hooks"},
	}
	att := &hookshot.Attempt{Response: &hookshot.AttemptResponse{Status: 200}}
	v := verdict{next: succeeded, class: class2xx}
	b.ReportAllocs()
	for b.Loop() {
		_, span := startAttemptSpan(context.Background(), tracer, job, 1)
		endAttemptSpan(span, att, v, hookshot.DeliverySucceeded)
	}
}
