package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookshot/hookshot/internal/credential"
	"github.com/hookshot/hookshot/internal/delivery"
	"github.com/hookshot/hookshot/internal/retention"
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
	DisableAfter       time.Duration
	DisableOnGone      bool
	PollInterval       time.Duration
	Concurrency        int
	WebhookConcurrency int
	MaxBody            int64
	ShutdownTimeout    time.Duration
	Retention          time.Duration
	AuditRetention     time.Duration
	PruneInterval      time.Duration
	ListenExpiry       time.Duration
	LogLevel           string
	LogFormat          string

	// secretKeyHex is the key as given; validate turns it into SecretKey.
	// It is checked only then, so that no parse error echoes a secret.
	secretKeyHex string
}

func defaultConfig() *Config {
	return &Config{
		Addr:               "127.0.0.1:8080",
		Database:           "sqlite:hookshot.db",
		RetrySchedule:      []time.Duration{10 * time.Second, 60 * time.Second, 24 * time.Hour, 24 * time.Hour},
		DeliveryTimeout:    15 * time.Second,
		HeaderPrefix:       "X-ActiGraph-",
		UserAgent:          "ActiGraph-Hookshot/1.0",
		PollInterval:       500 * time.Millisecond,
		Concurrency:        256,
		WebhookConcurrency: 16,
		DisableAfter:       120 * time.Hour,
		DisableOnGone:      true,
		MaxBody:            1 << 20,
		ShutdownTimeout:    20 * time.Second,
		Retention:          retention.DefaultRetention,
		AuditRetention:     retention.DefaultAuditRetention,
		PruneInterval:      retention.DefaultInterval,
		ListenExpiry:       60 * time.Second,
		LogLevel:           "info",
		LogFormat:          "text",
	}
}

// The groups of settings in --help.
const (
	groupServer    = "Server"
	groupDatabase  = "Database"
	groupDelivery  = "Delivery"
	groupPortal    = "Portal"
	groupRetention = "Retention"
	groupLogging   = "Logging"
)

// setting is one operator setting: its flag, its variable, where --help
// shows it, and the field of Config it fills.
type setting struct {
	flag, env, group, usage string
	secret                  bool // may come from ${env}_FILE, and is never shown
	bind                    func(*Config) flag.Value
}

// settings are in the order --help shows them.
var settings = []setting{
	{"addr", "HOOKSHOT_ADDR", groupServer, "listen address of the API and the portal", false,
		func(c *Config) flag.Value { return (*stringValue)(&c.Addr) }},
	{"admin-token", "HOOKSHOT_ADMIN_TOKEN", groupServer, "accept this value as an admin API token (compared in constant time, never stored)", true,
		func(c *Config) flag.Value { return (*stringValue)(&c.AdminToken) }},
	{"max-body", "HOOKSHOT_MAX_BODY", groupServer, "largest API request body in bytes", false,
		func(c *Config) flag.Value { return intValue[int64]{&c.MaxBody} }},
	{"shutdown-timeout", "HOOKSHOT_SHUTDOWN_TIMEOUT", groupServer, "how long SIGTERM waits for attempts in flight", false,
		func(c *Config) flag.Value { return (*durationValue)(&c.ShutdownTimeout) }},

	{"database", "HOOKSHOT_DATABASE", groupDatabase, "sqlite:PATH or a postgres:// URL", false,
		func(c *Config) flag.Value { return (*stringValue)(&c.Database) }},
	{"secret-key", "HOOKSHOT_SECRET_KEY", groupDatabase, "64 hex characters: the key for credentials at rest (generated in <database>.key beside a SQLite file; required with PostgreSQL, the same on every process)", true,
		func(c *Config) flag.Value { return (*stringValue)(&c.secretKeyHex) }},

	{"retry-schedule", "HOOKSHOT_RETRY_SCHEDULE", groupDelivery, "waits between attempts, comma-separated; the delivery fails after the last", false,
		func(c *Config) flag.Value { return (*durationsValue)(&c.RetrySchedule) }},
	{"delivery-timeout", "HOOKSHOT_DELIVERY_TIMEOUT", groupDelivery, "time limit of one attempt, from connecting to reading the capped response body", false,
		func(c *Config) flag.Value { return (*durationValue)(&c.DeliveryTimeout) }},
	{"allow-http", "HOOKSHOT_ALLOW_HTTP", groupDelivery, "accept http:// target URLs", false,
		func(c *Config) flag.Value { return (*boolValue)(&c.AllowHTTP) }},
	{"egress-allow", "HOOKSHOT_EGRESS_ALLOW", groupDelivery, "CIDRs exempt from the private-address guard, comma-separated, e.g. 127.0.0.0/8", false,
		func(c *Config) flag.Value { return (*prefixesValue)(&c.EgressAllow) }},
	{"header-prefix", "HOOKSHOT_HEADER_PREFIX", groupDelivery, "prefix of the webhook headers", false,
		func(c *Config) flag.Value { return (*stringValue)(&c.HeaderPrefix) }},
	{"user-agent", "HOOKSHOT_USER_AGENT", groupDelivery, "User-Agent of webhook requests", false,
		func(c *Config) flag.Value { return (*stringValue)(&c.UserAgent) }},
	{"concurrency", "HOOKSHOT_CONCURRENCY", groupDelivery, "attempts in flight in this process", false,
		func(c *Config) flag.Value { return intValue[int]{&c.Concurrency} }},
	{"webhook-concurrency", "HOOKSHOT_WEBHOOK_CONCURRENCY", groupDelivery, "attempts in flight to one webhook in this process", false,
		func(c *Config) flag.Value { return intValue[int]{&c.WebhookConcurrency} }},
	{"poll-interval", "HOOKSHOT_POLL_INTERVAL", groupDelivery, "how often to look for due retries when nothing else wakes the workers", false,
		func(c *Config) flag.Value { return (*durationValue)(&c.PollInterval) }},
	{"listen-expiry", "HOOKSHOT_LISTEN_EXPIRY", groupDelivery, "how long a webhook of \"hookshot listen\" outlives its CLI's last poll before it is deleted", false,
		func(c *Config) flag.Value { return (*durationValue)(&c.ListenExpiry) }},
	{"lease", "HOOKSHOT_LEASE", groupDelivery, "how long a process holds a claimed delivery before others may take it over; 0 means twice the delivery timeout plus 30s", false,
		func(c *Config) flag.Value { return (*durationValue)(&c.Lease) }},

	{"disable-after", "HOOKSHOT_DISABLE_AFTER", groupDelivery, "disable a webhook whose attempts have all failed for this long, with at least 5 failed; 0 never", false,
		func(c *Config) flag.Value { return (*durationValue)(&c.DisableAfter) }},
	{"disable-on-gone", "HOOKSHOT_DISABLE_ON_GONE", groupDelivery, "disable a webhook at once when its receiver answers 410 Gone", false,
		func(c *Config) flag.Value { return (*boolValue)(&c.DisableOnGone) }},

	{"trusted-proxies", "HOOKSHOT_TRUSTED_PROXIES", groupPortal, "CIDRs of reverse proxies whose X-Forwarded-For names the portal's client (for its sign-in limit), comma-separated", false,
		func(c *Config) flag.Value { return (*prefixesValue)(&c.TrustedProxies) }},

	{"retention", "HOOKSHOT_RETENTION", groupRetention, "how long finished deliveries (with their attempts) and events are kept; deliveries in progress are kept until they finish; at least 1s", false,
		func(c *Config) flag.Value { return (*durationValue)(&c.Retention) }},
	{"audit-retention", "HOOKSHOT_AUDIT_RETENTION", groupRetention, "how long audit entries are kept; at least 1s", false,
		func(c *Config) flag.Value { return (*durationValue)(&c.AuditRetention) }},
	{"prune-interval", "HOOKSHOT_PRUNE_INTERVAL", groupRetention, "how often serve deletes, in small batches, what the retentions no longer keep", false,
		func(c *Config) flag.Value { return (*durationValue)(&c.PruneInterval) }},

	{"log-level", "HOOKSHOT_LOG_LEVEL", groupLogging, "debug, info, warn or error", false,
		func(c *Config) flag.Value { return (*stringValue)(&c.LogLevel) }},
	{"log-format", "HOOKSHOT_LOG_FORMAT", groupLogging, "text or json", false,
		func(c *Config) flag.Value { return (*stringValue)(&c.LogFormat) }},
}

// settingNames lists every setting, for serve, which uses them all.
func settingNames() []string {
	names := make([]string, len(settings))
	for i, s := range settings {
		names[i] = s.flag
	}
	return names
}

// boundSettings are settings declared on a flag set, with the Config
// they fill.
type boundSettings struct {
	cfg *Config
	fs  *flagSet
	// envErrs holds, by flag name, a bad value in the environment: it is
	// reported only if the flag does not replace it.
	envErrs map[string]error
}

// bindSettings declares the named settings on fs and fills a Config with
// their defaults, then with the environment (and ${env}_FILE for
// secrets). Flags parsed afterwards win. It panics on a name that is not a
// setting, which is a mistake in this program, not in its input.
func bindSettings(fs *flagSet, getenv func(string) string, names ...string) *boundSettings {
	b := &boundSettings{cfg: defaultConfig(), fs: fs, envErrs: map[string]error{}}
	for _, n := range names {
		if !slices.ContainsFunc(settings, func(s setting) bool { return s.flag == n }) {
			panic("hookshot: no setting named " + n)
		}
	}
	for _, s := range settings {
		if !slices.Contains(names, s.flag) {
			continue
		}
		fs.group(s.group)
		v := s.bind(b.cfg)
		// Declared before the environment is read, so that --help shows the
		// built-in default and never a value from the environment.
		fs.Var(v, s.flag, s.usage)
		from := "env " + s.env
		if s.secret {
			from += " or " + s.env + "_FILE"
		}
		fs.note(s.flag, from)
		raw, err := fromEnvironment(s, getenv)
		if err != nil {
			b.envErrs[s.flag] = err
			continue
		}
		if raw == "" {
			continue
		}
		if err := v.Set(raw); err != nil {
			b.envErrs[s.flag] = fmt.Errorf("%s: invalid value %q for --%s: %w", s.env, raw, s.flag, err)
		}
	}
	return b
}

// fromEnvironment reads a setting's variable, or for a secret the file
// that ${env}_FILE names; "" when neither is set.
func fromEnvironment(s setting, getenv func(string) string) (string, error) {
	if v := getenv(s.env); v != "" || !s.secret {
		return v, nil
	}
	path := getenv(s.env + "_FILE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s_FILE (for --%s): %w", s.env, s.flag, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// config returns the Config once the command line has been parsed,
// or every mistake in it, each naming its flag.
func (b *boundSettings) config() (*Config, error) {
	given := map[string]bool{}
	b.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	for _, s := range settings {
		if err := b.envErrs[s.flag]; err != nil && !given[s.flag] {
			errs = append(errs, err)
		}
	}
	errs = append(errs, b.cfg.validate()...)
	return b.cfg, errors.Join(errs...)
}

// validate checks what a value's type alone does not, and turns the
// secret key into bytes.
func (c *Config) validate() []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: "+format, append([]any{name}, args...)...))
	}
	if path, ok := strings.CutPrefix(c.Database, "sqlite:"); ok {
		if path == "" {
			bad("database", "sqlite: needs a file path, e.g. sqlite:hookshot.db")
		}
	} else if !isPostgresURL(c.Database) {
		bad("database", "%s is neither sqlite:PATH nor a postgres:// URL", showDatabase(c.Database))
	}
	if c.DeliveryTimeout <= 0 {
		bad("delivery-timeout", "%s is not a positive duration such as 15s", c.DeliveryTimeout)
	}
	if c.Lease != 0 && c.Lease <= c.DeliveryTimeout {
		bad("lease", "%s is not longer than the delivery timeout (%s); give a longer one, or 0 for the default", c.Lease, c.DeliveryTimeout)
	}
	if c.DisableAfter < 0 {
		bad("disable-after", "%s is negative; give a duration such as 120h, or 0 never to disable a failing webhook", c.DisableAfter)
	}
	if c.PollInterval <= 0 {
		bad("poll-interval", "%s is not a positive duration such as 500ms", c.PollInterval)
	}
	for name, d := range map[string]time.Duration{"retention": c.Retention, "audit-retention": c.AuditRetention} {
		if d < retention.MinRetention {
			bad(name, "%s is shorter than %s; give a duration such as 720h", d, retention.MinRetention)
		}
	}
	if c.PruneInterval <= 0 {
		bad("prune-interval", "%s is not a positive duration such as 1m", c.PruneInterval)
	}
	if c.ShutdownTimeout < 0 {
		bad("shutdown-timeout", "%s is negative", c.ShutdownTimeout)
	}
	if c.ListenExpiry < time.Second {
		bad("listen-expiry", "%s is shorter than 1s; hookshot listen polls a few times within it", c.ListenExpiry)
	}
	for name, n := range map[string]int64{"concurrency": int64(c.Concurrency), "webhook-concurrency": int64(c.WebhookConcurrency), "max-body": c.MaxBody} {
		if n <= 0 {
			bad(name, "%d is not a positive whole number", n)
		}
	}
	if c.UserAgent == "" {
		bad("user-agent", "must not be empty")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log-format", "%q is not text or json", c.LogFormat)
	}
	if c.secretKeyHex != "" {
		key, err := credential.ParseKey(c.secretKeyHex)
		if err != nil {
			bad("secret-key", "%v", err)
		}
		c.SecretKey = key
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// showDatabase returns a database setting fit to be printed: a URL
// without its password (in the user part or in the query), quoted.
func showDatabase(s string) string {
	if strings.HasPrefix(s, "sqlite:") {
		return fmt.Sprintf("%q", s)
	}
	if !strings.Contains(s, "://") && strings.Contains(s, "=") {
		// A "host=… password=…" connection string: any part may be secret.
		return "(a key=value connection string, not shown)"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL, not shown)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return fmt.Sprintf("%q", u.Redacted())
}

// The types of setting values. Set replaces the value (a list too, so
// that a flag replaces what the environment gave) and trims spaces.

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(strings.TrimSpace(s)); return nil }
func (v *stringValue) typeName() string   { return "string" }

type boolValue bool

func (v *boolValue) String() string   { return fmt.Sprint(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }
func (v *boolValue) typeName() string { return "bool" }
func (v *boolValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		*v = true
	case "false", "0", "no", "off":
		*v = false
	default:
		return errors.New("want true or false")
	}
	return nil
}

type intValue[T int | int64] struct{ p *T }

func (v intValue[T]) String() string {
	if v.p == nil { // the flag package calls String on a zero value
		return "0"
	}
	return strconv.FormatInt(int64(*v.p), 10)
}
func (v intValue[T]) typeName() string { return "int" }
func (v intValue[T]) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || int64(T(n)) != n {
		return errors.New("want a whole number")
	}
	*v.p = T(n)
	return nil
}

type durationValue time.Duration

func (v *durationValue) String() string   { return shortDuration(time.Duration(*v)) }
func (v *durationValue) typeName() string { return "duration" }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return errors.New("want a duration such as 500ms, 15s or 24h")
	}
	*v = durationValue(d)
	return nil
}

type durationsValue []time.Duration

func (v *durationsValue) typeName() string { return "durations" }
func (v *durationsValue) String() string {
	parts := make([]string, len(*v))
	for i, d := range *v {
		parts[i] = shortDuration(d)
	}
	return strings.Join(parts, ",")
}

func (v *durationsValue) Set(s string) error {
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration such as 10s, 60s or 24h", part)
		}
		out = append(out, d)
	}
	*v = out
	return nil
}

type prefixesValue []netip.Prefix

func (v *prefixesValue) typeName() string { return "CIDRs" }
func (v *prefixesValue) String() string {
	parts := make([]string, len(*v))
	for i, p := range *v {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func (v *prefixesValue) Set(s string) error {
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	out, err := delivery.ParsePrefixes(parts)
	if err != nil {
		return err
	}
	*v = out
	return nil
}

// shortDuration writes d as people do: 1m, 24h, 1h30m, not 24h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
