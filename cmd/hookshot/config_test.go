package main

import (
	"bytes"
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func parseFor(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	raw, err := bindSettings(fs, settings, func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return parseConfig(raw)
}

func TestConfigDefaults(t *testing.T) {
	c, err := parseFor(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.Database != "sqlite:hookshot.db" || c.AdminToken != "" ||
		c.DeliveryTimeout != 15*time.Second || c.AllowHTTP || len(c.EgressAllow) != 0 || c.SecretKey != nil ||
		c.HeaderPrefix != "X-ActiGraph-" || c.UserAgent != "ActiGraph-Hookshot/1.0" {
		t.Fatalf("defaults: %+v", c)
	}
	want := []time.Duration{10 * time.Second, 60 * time.Second, 24 * time.Hour, 24 * time.Hour}
	if len(c.RetrySchedule) != len(want) {
		t.Fatalf("schedule %v", c.RetrySchedule)
	}
	for i := range want {
		if c.RetrySchedule[i] != want[i] {
			t.Fatalf("schedule %v, want %v", c.RetrySchedule, want)
		}
	}
}

func TestConfigEnvironmentThenFlags(t *testing.T) {
	env := map[string]string{
		"HOOKSHOT_ADDR":           "0.0.0.0:9999",
		"HOOKSHOT_RETRY_SCHEDULE": "1s, 2s",
		"HOOKSHOT_ALLOW_HTTP":     "true",
		"HOOKSHOT_EGRESS_ALLOW":   "127.0.0.0/8,::1",
		"HOOKSHOT_SECRET_KEY":     strings.Repeat("ab", 32),
	}
	c, err := parseFor(t, env, "--addr", "127.0.0.1:1234")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:1234" {
		t.Fatalf("flag did not win over the environment: %s", c.Addr)
	}
	if len(c.RetrySchedule) != 2 || !c.AllowHTTP || len(c.EgressAllow) != 2 || len(c.SecretKey) != 32 {
		t.Fatalf("environment not applied: %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := map[string]struct {
		env     map[string]string
		mention string
	}{
		"bad database":   {map[string]string{"HOOKSHOT_DATABASE": "mysql://x"}, "--database"},
		"bad schedule":   {map[string]string{"HOOKSHOT_RETRY_SCHEDULE": "10s,soon"}, "soon"},
		"bad timeout":    {map[string]string{"HOOKSHOT_DELIVERY_TIMEOUT": "0s"}, "--delivery-timeout"},
		"bad bool":       {map[string]string{"HOOKSHOT_ALLOW_HTTP": "maybe"}, "--allow-http"},
		"bad CIDR":       {map[string]string{"HOOKSHOT_EGRESS_ALLOW": "10.0.0.0/99"}, "--egress-allow"},
		"bad proxy CIDR": {map[string]string{"HOOKSHOT_TRUSTED_PROXIES": "10.0.0.0/99"}, "--trusted-proxies"},
		"short key":      {map[string]string{"HOOKSHOT_SECRET_KEY": "abcd"}, "--secret-key"},
		"bad lease":      {map[string]string{"HOOKSHOT_LEASE": "1s"}, "--lease"},
		"bad level":      {map[string]string{"HOOKSHOT_LOG_LEVEL": "loud"}, "--log-level"},
		"zero workers":   {map[string]string{"HOOKSHOT_CONCURRENCY": "0"}, "--concurrency"},
		"no user agent":  {map[string]string{"HOOKSHOT_USER_AGENT": " "}, "--user-agent"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parseFor(t, c.env)
			if err == nil || !strings.Contains(err.Error(), c.mention) {
				t.Fatalf("error %v, want one mentioning %q", err, c.mention)
			}
		})
	}
}

// --help explains every subcommand and never prints a secret.
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if err := Run(t.Context(), []string{"--help"}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !strings.Contains(out.String(), c.name) {
			t.Fatalf("--help does not list %s:\n%s", c.name, out.String())
		}
		var sub bytes.Buffer
		env := func(k string) string {
			if k == "HOOKSHOT_ADMIN_TOKEN" {
				return "very-secret-token"
			}
			return ""
		}
		err := Run(t.Context(), []string{c.name, "--help"}, env, &sub, &sub)
		if err != flag.ErrHelp {
			t.Fatalf("%s --help: %v", c.name, err)
		}
		if !strings.Contains(sub.String(), "Usage: hookshot "+c.name) {
			t.Fatalf("%s --help:\n%s", c.name, sub.String())
		}
		if strings.Contains(sub.String(), "very-secret-token") {
			t.Fatalf("%s --help prints the admin token", c.name)
		}
	}
}
