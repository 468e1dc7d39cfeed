package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hookshot/hookshot/internal/credential"
	"github.com/hookshot/hookshot/internal/delivery"
)

// Config is every operator setting (SPEC §8): filled from defaults, then
// the environment, then flags, and validated once.
type Config struct {
	Addr               string
	Database           string
	AdminToken         string
	RetrySchedule      []time.Duration
	DeliveryTimeout    time.Duration
	AllowHTTP          bool
	EgressAllow        []netip.Prefix
	TrustedProxies     []netip.Prefix
	SecretKey          []byte
	HeaderPrefix       string
	UserAgent          string
	Lease              time.Duration
	PollInterval       time.Duration
	Concurrency        int
	WebhookConcurrency int
	MaxBody            int64
	ShutdownTimeout    time.Duration
	LogLevel           string
	LogFormat          string
}

// setting is one operator setting: its flag, its variable and its default.
type setting struct {
	flag, env, def, usage string
	secret                bool // may come from ${env}_FILE
}

var settings = []setting{
	{"addr", "HOOKSHOT_ADDR", "127.0.0.1:8080", "listen address of the API and the portal", false},
	{"database", "HOOKSHOT_DATABASE", "sqlite:hookshot.db", "sqlite:PATH or a postgres:// URL", false},
	{"admin-token", "HOOKSHOT_ADMIN_TOKEN", "", "accept this value as an admin API token (not stored)", true},
	{"retry-schedule", "HOOKSHOT_RETRY_SCHEDULE", "10s,60s,24h,24h", "waits between attempts, comma-separated", false},
	{"delivery-timeout", "HOOKSHOT_DELIVERY_TIMEOUT", "15s", "time limit of one attempt, connect to capped response body", false},
	{"allow-http", "HOOKSHOT_ALLOW_HTTP", "false", "accept http:// target URLs", false},
	{"egress-allow", "HOOKSHOT_EGRESS_ALLOW", "", "CIDRs exempt from the private-address guard, comma-separated, e.g. 127.0.0.0/8", false},
	{"trusted-proxies", "HOOKSHOT_TRUSTED_PROXIES", "", "CIDRs of reverse proxies whose X-Forwarded-For names the portal's client (for its sign-in limit), comma-separated", false},
	{"secret-key", "HOOKSHOT_SECRET_KEY", "", "64 hex characters: the key for credentials at rest (generated beside a SQLite database; required with PostgreSQL)", true},
	{"header-prefix", "HOOKSHOT_HEADER_PREFIX", "X-ActiGraph-", "prefix of the webhook headers", false},
	{"user-agent", "HOOKSHOT_USER_AGENT", "ActiGraph-Hookshot/1.0", "User-Agent of webhook requests", false},
	{"lease", "HOOKSHOT_LEASE", "", "how long a process holds a claimed delivery before others may take it over; default twice the delivery timeout plus 30s", false},
	{"poll-interval", "HOOKSHOT_POLL_INTERVAL", "500ms", "how often to look for due retries when nothing else wakes the workers", false},
	{"concurrency", "HOOKSHOT_CONCURRENCY", "256", "attempts in flight in this process", false},
	{"webhook-concurrency", "HOOKSHOT_WEBHOOK_CONCURRENCY", "16", "attempts in flight to one webhook in this process", false},
	{"max-body", "HOOKSHOT_MAX_BODY", "1048576", "largest API request body in bytes", false},
	{"shutdown-timeout", "HOOKSHOT_SHUTDOWN_TIMEOUT", "20s", "how long SIGTERM waits for attempts in flight", false},
	{"log-level", "HOOKSHOT_LOG_LEVEL", "info", "debug, info, warn or error", false},
	{"log-format", "HOOKSHOT_LOG_FORMAT", "text", "text or json", false},
}

// settingsByName lets a subcommand pick the settings it uses.
func settingsByName(names ...string) []setting {
	var out []setting
	for _, n := range names {
		for _, s := range settings {
			if s.flag == n {
				out = append(out, s)
			}
		}
	}
	return out
}

// bindSettings declares the given settings on fs, with defaults taken from
// the environment, and returns the raw values after parsing.
func bindSettings(fs *flag.FlagSet, which []setting, getenv func(string) string) (map[string]*string, error) {
	values := map[string]*string{}
	for _, s := range which {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		} else if s.secret && getenv(s.env+"_FILE") != "" {
			b, err := os.ReadFile(getenv(s.env + "_FILE"))
			if err != nil {
				return nil, fmt.Errorf("%s_FILE: %w", s.env, err)
			}
			def = strings.TrimSpace(string(b))
		}
		usage := s.usage + " (" + s.env
		if s.secret {
			usage += " or " + s.env + "_FILE"
		}
		usage += ")"
		shown := def
		if s.secret {
			shown = "" // never print a secret in --help
		}
		values[s.flag] = fs.String(s.flag, shown, usage)
		if s.secret && def != "" {
			*values[s.flag] = def
		}
	}
	return values, nil
}

// parseConfig turns raw values into a Config, collecting every mistake.
func parseConfig(v map[string]*string) (*Config, error) {
	c := &Config{}
	var errs []error
	get := func(name string) string {
		if p := v[name]; p != nil {
			return strings.TrimSpace(*p)
		}
		for _, s := range settings {
			if s.flag == name {
				return s.def
			}
		}
		return ""
	}
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: "+format, append([]any{name}, args...)...))
	}
	c.Addr = get("addr")
	c.Database = get("database")
	if !strings.HasPrefix(c.Database, "sqlite:") && !isPostgresURL(c.Database) {
		bad("database", "%q is neither sqlite:PATH nor a postgres:// URL", redactURL(c.Database))
	}
	c.AdminToken = get("admin-token")
	for _, part := range strings.Split(get("retry-schedule"), ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil || d < 0 {
			bad("retry-schedule", "%q is not a duration such as 10s, 60s or 24h", part)
			continue
		}
		c.RetrySchedule = append(c.RetrySchedule, d)
	}
	var err error
	if c.DeliveryTimeout, err = time.ParseDuration(get("delivery-timeout")); err != nil || c.DeliveryTimeout <= 0 {
		bad("delivery-timeout", "%q is not a positive duration such as 15s", get("delivery-timeout"))
	}
	if l := get("lease"); l != "" {
		if c.Lease, err = time.ParseDuration(l); err != nil || c.Lease <= c.DeliveryTimeout {
			bad("lease", "%q is not a duration longer than the delivery timeout", l)
		}
	}
	if c.PollInterval, err = time.ParseDuration(get("poll-interval")); err != nil || c.PollInterval <= 0 {
		bad("poll-interval", "%q is not a positive duration such as 500ms", get("poll-interval"))
	}
	if c.AllowHTTP, err = strconv.ParseBool(get("allow-http")); err != nil {
		bad("allow-http", "%q is not true or false", get("allow-http"))
	}
	if c.EgressAllow, err = delivery.ParsePrefixes(strings.Split(get("egress-allow"), ",")); err != nil {
		bad("egress-allow", "%v", err)
	}
	if c.TrustedProxies, err = delivery.ParsePrefixes(strings.Split(get("trusted-proxies"), ",")); err != nil {
		bad("trusted-proxies", "%v", err)
	}
	if k := get("secret-key"); k != "" {
		if c.SecretKey, err = credential.ParseKey(k); err != nil {
			bad("secret-key", "%v", err)
		}
	}
	c.HeaderPrefix = get("header-prefix")
	c.UserAgent = get("user-agent")
	if c.UserAgent == "" {
		bad("user-agent", "must not be empty")
	}
	positive := func(name string) int {
		n, err := strconv.Atoi(get(name))
		if err != nil || n <= 0 {
			bad(name, "%q is not a positive whole number", get(name))
		}
		return n
	}
	c.Concurrency = positive("concurrency")
	c.WebhookConcurrency = positive("webhook-concurrency")
	c.MaxBody = int64(positive("max-body"))
	if c.ShutdownTimeout, err = time.ParseDuration(get("shutdown-timeout")); err != nil || c.ShutdownTimeout < 0 {
		bad("shutdown-timeout", "%q is not a duration such as 20s", get("shutdown-timeout"))
	}
	c.LogLevel = get("log-level")
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	c.LogFormat = get("log-format")
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log-format", "%q is not text or json", c.LogFormat)
	}
	return c, errors.Join(errs...)
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// redactURL hides a password in a database URL before it is shown.
func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		if at := strings.Index(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				return s[:i+3] + rest[:colon] + ":xxxxx" + rest[at:]
			}
		}
	}
	return s
}
