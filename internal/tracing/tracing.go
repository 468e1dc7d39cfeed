// Package tracing turns on OpenTelemetry tracing when the operator names
// an OTLP endpoint with the standard variables (SPEC §18). The exporter
// speaks OTLP/HTTP (protobuf) and reads the rest of the standard OTEL_
// variables itself: OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION,
// _CERTIFICATE, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_TRACES_SAMPLER and OTEL_BSP_*.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Name is the instrumentation scope of Hookshot's spans and, unless
// OTEL_SERVICE_NAME says otherwise, the service name.
const Name = "hookshot"

// Enabled reports whether the environment asks for traces: an OTLP
// endpoint is named, and neither OTEL_SDK_DISABLED=true nor
// OTEL_TRACES_EXPORTER=none turns them off.
func Enabled(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Provider exports the spans of one process.
type Provider struct {
	tp *sdktrace.TracerProvider
}

// Endpoint checks the endpoint variables and returns where spans go, as
// scheme and host only (the rest may hold a credential), for the log. The
// exporter itself would only log a bad URL and send elsewhere.
func Endpoint(getenv func(string) string) (string, error) {
	where := ""
	for _, name := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		v := getenv(name)
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("%s=%q is not an OTLP/HTTP endpoint: give a URL such as http://127.0.0.1:4318", name, v)
		}
		where = u.Scheme + "://" + u.Host // the traces variable, checked last, wins
	}
	return where, nil
}

// Start returns a Provider exporting to the endpoint the environment
// names, in batches, with instance naming this process. It fails when the
// OTLP settings cannot be used; nothing is sent until the first span ends.
// The SDK's own complaints go to log.
func Start(ctx context.Context, instance string, log *slog.Logger) (*Provider, error) {
	otel.SetLogger(logr.FromSlogHandler(log.Handler()))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("exporting traces", "err", err)
	}))
	exporter, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("setting up the OTLP trace exporter: %w", err)
	}
	// Later detectors win: the environment may rename the service.
	res, err := resource.New(ctx,
		resource.WithAttributes(
			attribute.String("service.name", Name),
			attribute.String("service.instance.id", instance),
		),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return nil, fmt.Errorf("describing the service for traces (OTEL_RESOURCE_ATTRIBUTES): %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	return &Provider{tp: tp}, nil
}

// Tracer returns the tracer for Hookshot's spans.
func (p *Provider) Tracer() trace.Tracer { return p.tp.Tracer(Name) }

// Shutdown exports the spans still queued, by ctx's deadline, and stops.
func (p *Provider) Shutdown(ctx context.Context) error {
	if err := p.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("exporting the last spans: %w", err)
	}
	return nil
}
