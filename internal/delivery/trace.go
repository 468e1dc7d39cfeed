package delivery

import (
	"context"
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookshot/hookshot"
)

// Attributes of an attempt's span (SPEC §18). The URL is left out: its
// path or query may hold a receiver's token; the host and port say where
// the attempt went.
const (
	attrDeliveryID     = attribute.Key("hookshot.delivery.id")
	attrWebhookID      = attribute.Key("hookshot.webhook.id")
	attrStudyID        = attribute.Key("hookshot.study.id")
	attrEventType      = attribute.Key("hookshot.event.type")
	attrAttemptNumber  = attribute.Key("hookshot.attempt.number")
	attrAttemptOutcome = attribute.Key("hookshot.attempt.outcome")
	attrAttemptClass   = attribute.Key("hookshot.attempt.class")
	attrDeliveryStatus = attribute.Key("hookshot.delivery.status")
	attrStatusCode     = attribute.Key("http.response.status_code")
	attrMethod         = attribute.Key("http.request.method")
	attrServerAddress  = attribute.Key("server.address")
	attrServerPort     = attribute.Key("server.port")
	attrErrorType      = attribute.Key("error.type")
)

// startAttemptSpan starts the client span of attempt number of j as a
// child of the context stored with the delivery (the publish call's span),
// so that an attempt made by any process, however much later, joins the
// trace of its event.
func startAttemptSpan(ctx context.Context, tracer trace.Tracer, j *hookshot.Job, number int) (context.Context, trace.Span) {
	d := j.Delivery
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	if d.Event == hookshot.EventValidation {
		// No span made the stored context (the service starts a trace of
		// its own for each handshake): a child would name a parent that
		// was never exported.
		opts = append(opts, trace.WithNewRoot())
	} else {
		ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": d.TraceParent})
	}
	attrs := []attribute.KeyValue{
		attrDeliveryID.String(d.ID),
		attrWebhookID.Int64(d.WebhookID),
		attrStudyID.Int64(d.StudyID),
		attrEventType.String(d.Event),
		attrAttemptNumber.Int(number),
		attrMethod.String("POST"),
	}
	if u, err := url.Parse(j.Webhook.URL); err == nil {
		attrs = append(attrs, attrServerAddress.String(u.Hostname()))
		if p, err := strconv.Atoi(u.Port()); err == nil {
			attrs = append(attrs, attrServerPort.Int(p))
		}
	}
	return tracer.Start(ctx, "webhook attempt", append(opts, trace.WithAttributes(attrs...))...)
}

// endAttemptSpan records the attempt's result on its span and ends it.
func endAttemptSpan(span trace.Span, att *hookshot.Attempt, v verdict, status hookshot.DeliveryStatus) {
	outcome := "failed"
	if v.next == succeeded {
		outcome = "succeeded"
	}
	span.SetAttributes(attrAttemptOutcome.String(outcome), attrAttemptClass.String(string(v.class)))
	if status != "" {
		span.SetAttributes(attrDeliveryStatus.String(string(status)))
	}
	if att.Response != nil {
		span.SetAttributes(attrStatusCode.Int(att.Response.Status))
	}
	if v.next != succeeded {
		span.SetAttributes(attrErrorType.String(string(v.class)))
		span.SetStatus(codes.Error, att.Error)
	}
	span.End()
}
