package tracing

import (
	"strings"
	"testing"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestEnabled(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want bool
	}{
		"nothing set":     {nil, false},
		"endpoint":        {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true},
		"traces endpoint": {map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, true},
		"sdk disabled":    {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "TRUE"}, false},
		"exporter none":   {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
		"only headers":    {map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "x=y"}, false},
	}
	for name, c := range cases {
		if got := Enabled(env(c.env)); got != c.want {
			t.Errorf("%s: Enabled = %v, want %v", name, got, c.want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	cases := map[string]struct {
		env       map[string]string
		want, err string
	}{
		"base":             {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://user:pw@collector.internal:4318/otlp"}, "https://collector.internal:4318", ""},
		"traces wins":      {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/v1/traces"}, "http://b:4318", ""},
		"no scheme":        {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "", "OTEL_EXPORTER_OTLP_ENDPOINT"},
		"grpc-like scheme": {map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "grpc://collector:4317"}, "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		"not a URL":        {map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "%%bad"}, "", "http://127.0.0.1:4318"},
	}
	for name, c := range cases {
		got, err := Endpoint(env(c.env))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one naming %s", name, err, c.err)
		case got != c.want:
			t.Errorf("%s: Endpoint = %q, want %q", name, got, c.want)
		}
	}
}
