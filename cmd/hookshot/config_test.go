package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// parseFor fills a Config from env and args as serve does.
func parseFor(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	fs := newFlagSet("serve", "", "")
	settings := bindSettings(fs, func(k string) string { return env[k] }, settingNames()...)
	if err := fs.parse(args, nil); err != nil {
		return nil, err
	}
	return settings.config()
}

const testKey = "abababababababababababababababababababababababababababababababab"

func TestSettings(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("token-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(*Config) bool
	}{
		{"defaults", nil, nil, func(c *Config) bool {
			return c.Addr == "127.0.0.1:8080" && c.Database == "sqlite:hookshot.db" && c.AdminToken == "" &&
				c.DeliveryTimeout == 15*time.Second && !c.AllowHTTP && len(c.EgressAllow) == 0 && c.SecretKey == nil &&
				c.HeaderPrefix == "X-ActiGraph-" && c.UserAgent == "ActiGraph-Hookshot/1.0" && c.Lease == 0 &&
				c.PollInterval == 500*time.Millisecond && c.Concurrency == 256 && c.WebhookConcurrency == 16 &&
				c.MaxBody == 1<<20 && c.ShutdownTimeout == 20*time.Second && c.LogLevel == "info" && c.LogFormat == "text" &&
				slices.Equal(c.RetrySchedule, []time.Duration{10 * time.Second, 60 * time.Second, 24 * time.Hour, 24 * time.Hour})
		}},
		{"environment of every type", map[string]string{
			"HOOKSHOT_ADDR":             "0.0.0.0:9999",
			"HOOKSHOT_RETRY_SCHEDULE":   "1s, 2s",
			"HOOKSHOT_ALLOW_HTTP":       "true",
			"HOOKSHOT_EGRESS_ALLOW":     "127.0.0.0/8, ::1",
			"HOOKSHOT_SECRET_KEY":       testKey,
			"HOOKSHOT_CONCURRENCY":      "8",
			"HOOKSHOT_MAX_BODY":         "2048",
			"HOOKSHOT_DELIVERY_TIMEOUT": "3s",
		}, nil, func(c *Config) bool {
			return c.Addr == "0.0.0.0:9999" && slices.Equal(c.RetrySchedule, []time.Duration{time.Second, 2 * time.Second}) &&
				c.AllowHTTP && len(c.EgressAllow) == 2 && len(c.SecretKey) == 32 && c.Concurrency == 8 && c.MaxBody == 2048 &&
				c.DeliveryTimeout == 3*time.Second
		}},
		{"a bool flag alone is a switch", nil, []string{"--allow-http"}, func(c *Config) bool { return c.AllowHTTP }},
		{"a bool flag turned off over the environment", map[string]string{"HOOKSHOT_ALLOW_HTTP": "true"}, []string{"--allow-http=false"},
			func(c *Config) bool { return !c.AllowHTTP }},
		{"typed flags", nil, []string{"--concurrency", "4", "--lease", "1m", "--retry-schedule=5s", "--max-body", "10"}, func(c *Config) bool {
			return c.Concurrency == 4 && c.Lease == time.Minute && slices.Equal(c.RetrySchedule, []time.Duration{5 * time.Second}) && c.MaxBody == 10
		}},
		{"flags win over the environment", map[string]string{"HOOKSHOT_ADDR": "0.0.0.0:9999", "HOOKSHOT_RETRY_SCHEDULE": "1s,2s"},
			[]string{"--addr", "127.0.0.1:1234", "--retry-schedule", "3s"}, func(c *Config) bool {
				return c.Addr == "127.0.0.1:1234" && slices.Equal(c.RetrySchedule, []time.Duration{3 * time.Second})
			}},
		{"a flag replaces a bad environment value", map[string]string{"HOOKSHOT_CONCURRENCY": "many"}, []string{"--concurrency", "4"},
			func(c *Config) bool { return c.Concurrency == 4 }},
		{"a secret from a file", map[string]string{"HOOKSHOT_ADMIN_TOKEN_FILE": tokenFile}, nil,
			func(c *Config) bool { return c.AdminToken == "token-from-file" }},
		{"the variable wins over its file", map[string]string{"HOOKSHOT_ADMIN_TOKEN": "direct", "HOOKSHOT_ADMIN_TOKEN_FILE": tokenFile}, nil,
			func(c *Config) bool { return c.AdminToken == "direct" }},
		{"only secrets read files", map[string]string{"HOOKSHOT_ADDR_FILE": tokenFile}, nil,
			func(c *Config) bool { return c.Addr == "127.0.0.1:8080" }},
		{"lease 0 is the default", nil, []string{"--lease", "0"}, func(c *Config) bool { return c.Lease == 0 }},
		{"retention defaults", nil, nil, func(c *Config) bool {
			return c.Retention == 720*time.Hour && c.AuditRetention == 8760*time.Hour && c.PruneInterval == time.Minute
		}},
		{"retention of seconds, for tests", map[string]string{"HOOKSHOT_RETENTION": "1s", "HOOKSHOT_PRUNE_INTERVAL": "200ms"},
			[]string{"--audit-retention", "2s"}, func(c *Config) bool {
				return c.Retention == time.Second && c.AuditRetention == 2*time.Second && c.PruneInterval == 200*time.Millisecond
			}},
		{"an empty schedule never retries", map[string]string{"HOOKSHOT_RETRY_SCHEDULE": " "}, nil,
			func(c *Config) bool { return len(c.RetrySchedule) == 0 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseFor(t, c.env, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(cfg) {
				t.Fatalf("%+v", cfg)
			}
		})
	}
}

// Every bad value is refused with a message naming its flag, and a
// secret is never repeated in it.
func TestSettingsRefused(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		mention []string
		secret  string // must not appear in the error
	}{
		{"bad database", map[string]string{"HOOKSHOT_DATABASE": "mysql://x"}, nil, []string{"--database", "mysql://x"}, ""},
		{"database password", map[string]string{"HOOKSHOT_DATABASE": "mysql://u:hunter2@db/x"}, nil, []string{"--database", "u:xxxxx@db"}, "hunter2"},
		{"connection string", map[string]string{"HOOKSHOT_DATABASE": "host=db password=hunter2"}, nil, []string{"--database", "key=value"}, "hunter2"},
		{"sqlite without a path", nil, []string{"--database", "sqlite:"}, []string{"--database", "file path"}, ""},
		{"bad schedule", map[string]string{"HOOKSHOT_RETRY_SCHEDULE": "10s,soon"}, nil, []string{"--retry-schedule", "HOOKSHOT_RETRY_SCHEDULE", `"soon"`}, ""},
		{"negative schedule", nil, []string{"--retry-schedule", "10s,-1s"}, []string{"-retry-schedule", `"-1s"`}, ""},
		{"zero timeout", map[string]string{"HOOKSHOT_DELIVERY_TIMEOUT": "0s"}, nil, []string{"--delivery-timeout"}, ""},
		{"not a duration", map[string]string{"HOOKSHOT_POLL_INTERVAL": "often"}, nil, []string{"--poll-interval", "duration"}, ""},
		{"bad bool in the environment", map[string]string{"HOOKSHOT_ALLOW_HTTP": "maybe"}, nil, []string{"--allow-http", "true or false"}, ""},
		{"bad bool flag", nil, []string{"--allow-http=maybe"}, []string{"-allow-http", "true or false"}, ""},
		{"a bool flag's value after a space", nil, []string{"--allow-http", "false"}, []string{"--allow-http=false"}, ""},
		{"stray word", nil, []string{"--addr", "127.0.0.1:0", "now"}, []string{`"now"`}, ""},
		{"unknown flag", nil, []string{"--frobnicate"}, []string{"-frobnicate", "hookshot serve --help"}, ""},
		{"bad CIDR", map[string]string{"HOOKSHOT_EGRESS_ALLOW": "10.0.0.0/99"}, nil, []string{"--egress-allow"}, ""},
		{"bad proxy CIDR", map[string]string{"HOOKSHOT_TRUSTED_PROXIES": "10.0.0.0/99"}, nil, []string{"--trusted-proxies"}, ""},
		{"short key", map[string]string{"HOOKSHOT_SECRET_KEY": "abcd0123"}, nil, []string{"--secret-key"}, "abcd0123"},
		{"key that is not hex", nil, []string{"--secret-key", strings.Repeat("zq", 32)}, []string{"--secret-key"}, "zqzq"},
		{"missing secret file", map[string]string{"HOOKSHOT_SECRET_KEY_FILE": "/nonexistent/key"}, nil, []string{"HOOKSHOT_SECRET_KEY_FILE", "--secret-key"}, ""},
		{"lease too short", map[string]string{"HOOKSHOT_LEASE": "1s"}, nil, []string{"--lease"}, ""},
		{"retention under a second", map[string]string{"HOOKSHOT_RETENTION": "500ms"}, nil, []string{"--retention", "1s"}, ""},
		{"zero audit retention", nil, []string{"--audit-retention", "0"}, []string{"--audit-retention"}, ""},
		{"zero prune interval", map[string]string{"HOOKSHOT_PRUNE_INTERVAL": "0s"}, nil, []string{"--prune-interval"}, ""},
		{"bad level", map[string]string{"HOOKSHOT_LOG_LEVEL": "loud"}, nil, []string{"--log-level"}, ""},
		{"bad format", nil, []string{"--log-format", "xml"}, []string{"--log-format"}, ""},
		{"zero workers", map[string]string{"HOOKSHOT_CONCURRENCY": "0"}, nil, []string{"--concurrency", "positive"}, ""},
		{"not a number", nil, []string{"--webhook-concurrency", "many"}, []string{"-webhook-concurrency", "whole number"}, ""},
		{"not a whole number", map[string]string{"HOOKSHOT_MAX_BODY": "1.5"}, nil, []string{"--max-body", "whole number"}, ""},
		{"no user agent", map[string]string{"HOOKSHOT_USER_AGENT": " "}, nil, []string{"--user-agent"}, ""},
		{"every mistake at once", map[string]string{"HOOKSHOT_LOG_LEVEL": "loud", "HOOKSHOT_CONCURRENCY": "x"}, []string{"--log-format", "xml"},
			[]string{"--log-level", "--log-format", "--concurrency"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseFor(t, c.env, c.args...)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, m := range c.mention {
				if !strings.Contains(err.Error(), m) {
					t.Fatalf("error %q does not mention %q", err, m)
				}
			}
			if c.secret != "" && strings.Contains(err.Error(), c.secret) {
				t.Fatalf("error %q shows the secret", err)
			}
		})
	}
}

func TestShowDatabase(t *testing.T) {
	cases := []struct{ in, want, hidden string }{
		{"sqlite:hookshot.db", `"sqlite:hookshot.db"`, ""},
		{"postgres://hookshot@db/hookshot", `"postgres://hookshot@db/hookshot"`, ""},
		{"postgres://hookshot:hunter2@db/hookshot", `"postgres://hookshot:xxxxx@db/hookshot"`, "hunter2"},
		{"postgres://db/hookshot?user=h&password=hunter2", `"postgres://db/hookshot?password=xxxxx&user=h"`, "hunter2"},
		{"postgres://h:hunter2@[::1/x", "(unparsable URL, not shown)", "hunter2"},
		{"host=db password=hunter2", "(a key=value connection string, not shown)", "hunter2"},
	}
	for _, c := range cases {
		got := showDatabase(c.in)
		if got != c.want || (c.hidden != "" && strings.Contains(got, c.hidden)) {
			t.Errorf("showDatabase(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}
