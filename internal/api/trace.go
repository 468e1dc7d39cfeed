package api

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookshot/hookshot"
)

// serverSpan runs h inside a server span named after route, a child of
// the caller's traceparent (SPEC §18). Without a tracer it is h itself.
func (s *Server) serverSpan(route string, h handlerFunc) handlerFunc {
	if s.opts.Tracer == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, p *hookshot.Principal) {
		ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := s.opts.Tracer.Start(ctx, route,
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				attribute.String("http.request.method", r.Method),
				attribute.String("http.route", route[len(r.Method)+1:]),
				attribute.String("url.path", r.URL.Path),
			))
		defer span.End()
		h(w, r.WithContext(ctx), p)
		if rec, ok := w.(*statusRecorder); ok {
			span.SetAttributes(attribute.Int("http.response.status_code", rec.status))
			if rec.status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(rec.status))
			}
		}
	}
}

// traceParent is the trace context that a publish stores for its
// deliveries: the publish span's when there is one, so the attempts are
// its children, else the producer's as it came.
func traceParent(r *http.Request) string {
	if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() {
		carrier := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(r.Context(), carrier)
		return carrier["traceparent"]
	}
	return r.Header.Get("traceparent")
}

// annotate adds attributes to the request's span, when it has one that
// records.
func annotate(r *http.Request, attrs ...attribute.KeyValue) {
	if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
		span.SetAttributes(attrs...)
	}
}
