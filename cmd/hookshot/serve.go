package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/api"
	"github.com/hookshot/hookshot/internal/catalog"
	"github.com/hookshot/hookshot/internal/clock"
	"github.com/hookshot/hookshot/internal/credential"
	"github.com/hookshot/hookshot/internal/delivery"
	"github.com/hookshot/hookshot/internal/portal"
	"github.com/hookshot/hookshot/internal/postgres"
	"github.com/hookshot/hookshot/internal/retention"
	"github.com/hookshot/hookshot/internal/service"
	"github.com/hookshot/hookshot/internal/sqlite"
	"github.com/hookshot/hookshot/internal/tracing"
)

const serveSummary = `Runs the JSON API, the web portal and the delivery workers in one process.
It creates and migrates the database if needed. Several serve processes may
share one PostgreSQL database; SQLite is for one process: a second serve on
the same file refuses to start. In the background it deletes what the
retention settings no longer keep.`

const serveExample = `HOOKSHOT_ADMIN_TOKEN=change-me hookshot serve
HOOKSHOT_ADMIN_TOKEN=change-me hookshot serve --allow-http --egress-allow 127.0.0.0/8 --retry-schedule 5s,30s`

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", serveSummary, serveExample)
	settings := bindSettings(fs, getenv, settingNames()...)
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	cfg, err := settings.config()
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	tuneGC(getenv)

	// SQLite is for one serve (SPEC §13): the lock is taken before the
	// database opens, so a second serve changes nothing before it stops.
	var soleServer bool
	if path, ok := strings.CutPrefix(cfg.Database, "sqlite:"); ok {
		lock, err := sqlite.Lock(path)
		if err != nil {
			return err
		}
		defer lock.Release()
		soleServer = true
	}

	store, key, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	box, err := credential.New(key)
	if err != nil {
		return err
	}
	cat, err := catalog.New()
	if err != nil {
		return err
	}

	// One clock for everything that stamps or compares stored times.
	clk := clock.System{}

	if soleServer {
		// Holding the lock, this is the only serve: any lease in the file
		// is one of a process that died, and waiting for it to run out
		// would hold its deliveries back for nothing.
		n, err := store.ReleaseAllLeases(ctx, clk.Now())
		if err != nil {
			return fmt.Errorf("releasing the leases of the previous process: %w", err)
		}
		if n > 0 {
			log.Info("released deliveries leased by a process that stopped without handing them back", "deliveries", n)
		}
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registry.MustRegister(delivery.NewBacklogCollector(store, clk, log.With("component", "metrics")))
	if m, ok := store.(interface{ Metrics() []prometheus.Collector }); ok {
		registry.MustRegister(m.Metrics()...) // SQLite's commit groups
	}
	owner := ownerName()

	// Without an OTLP endpoint the tracer stays nil, and neither the API
	// nor the engine starts a span.
	var tracer trace.Tracer
	if tracing.Enabled(getenv) {
		endpoint, err := tracing.Endpoint(getenv)
		if err != nil {
			return err
		}
		provider, err := tracing.Start(ctx, owner, log.With("component", "tracing"))
		if err != nil {
			return err
		}
		defer func() {
			flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := provider.Shutdown(flushCtx); err != nil {
				log.Warn("stopping tracing", "err", err)
			}
		}()
		tracer = provider.Tracer()
		log.Info("exporting traces over OTLP/HTTP", "endpoint", endpoint)
	}

	engineCfg := delivery.Config{
		Registerer:    registry,
		Tracer:        tracer,
		Owner:         owner,
		Schedule:      cfg.RetrySchedule,
		Timeout:       cfg.DeliveryTimeout,
		Lease:         cfg.Lease,
		Concurrency:   cfg.Concurrency,
		PerWebhook:    cfg.WebhookConcurrency,
		DisableAfter:  cfg.DisableAfter,
		DisableOnGone: cfg.DisableOnGone,
		Wire:          delivery.Wire{HeaderPrefix: cfg.HeaderPrefix, UserAgent: cfg.UserAgent},
		Client: delivery.NewClient(delivery.ClientOptions{
			EgressAllow: cfg.EgressAllow,
			// Many webhooks may share one receiver host: keep a warm
			// connection for every attempt that may be in flight, or each
			// attempt past the pool pays a new TLS handshake.
			MaxIdleConnsPerHost: cfg.Concurrency,
		}),
		Credentials: box,
		SigningKeys: store,
		KeyOpener:   box,
		Clock:       clk,
		Logger:      log.With("component", "delivery"),
	}
	wakeCtx, stopWakeups := context.WithCancel(context.Background())
	defer stopWakeups()
	if waker, ok := store.(hookshot.Waker); ok {
		ch, err := waker.Wakeups(wakeCtx)
		if err != nil {
			return fmt.Errorf("listening for wake-ups: %w", err)
		}
		engineCfg.Wakeups = ch
	}
	engine := delivery.New(store, engineCfg)
	// Deliveries that fall due wake the engine and the claims of
	// hookshot listen alike; the relays service is made once webhooks is.
	// Validations and manual resends share one limit per webhook, so that
	// neither can be used to flood the receiver (a third party's server).
	wake := &notifiers{engine}
	limit := service.NewManualLimit(clk)
	webhooks := service.NewWebhooks(store, cat, box, wake, clk, service.WebhooksConfig{AllowHTTP: cfg.AllowHTTP, Limit: limit})
	// A publish hands what the engine can start at once straight to it,
	// leased in the publish's transaction: no claim before the first
	// attempt.
	events := service.NewEvents(store, cat, wake, clk, service.EventsConfig{Schedule: cfg.RetrySchedule, Registerer: registry, Limit: limit, HandOff: engine})
	relays := service.NewRelays(webhooks, store, store, delivery.NewRelay(engineCfg), log.With("component", "listen"),
		service.RelaysConfig{Expiry: cfg.ListenExpiry, Lease: engineCfg.Lease, Poll: cfg.PollInterval})
	*wake = append(*wake, relays)
	accounts := service.NewAccounts(store, clk)

	// The operator's admin token, checked in memory, then account tokens.
	auth := api.Authenticators{api.AdminToken(cfg.AdminToken), accounts}
	if cfg.AdminToken == "" {
		log.Info("HOOKSHOT_ADMIN_TOKEN is not set: only account tokens are accepted (see \"hookshot tokens create --help\")")
	}
	apiServices := api.Services{Webhooks: webhooks, Events: events, Accounts: accounts, Relays: relays, Ready: store.Ready}
	handler := api.New(apiServices, auth, log.With("component", "api"), api.Options{
		MaxBody:    cfg.MaxBody,
		Metrics:    promhttp.HandlerFor(registry, promhttp.HandlerOpts{}),
		Registerer: registry,
		Tracer:     tracer,
	})

	portalServices := portal.Services{Webhooks: webhooks, Events: events, Sessions: service.NewSessions(store, clk), Accounts: accounts}
	site, err := portal.New(portalServices, log.With("component", "portal"), portal.Options{TrustedProxies: cfg.TrustedProxies})
	if err != nil {
		return fmt.Errorf("loading the portal's templates: %w", err)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           routes(handler, site),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	pruner := retention.New(store, retention.Config{
		Retention:      cfg.Retention,
		AuditRetention: cfg.AuditRetention,
		Interval:       cfg.PruneInterval,
		Clock:          clk,
		Logger:         log.With("component", "retention"),
		Registerer:     registry,
	})
	engine.Start()
	pruner.Start()
	relays.Start()
	defer relays.Stop()
	// Shutdown waits for requests in flight, and a listen poll waits up
	// to 25s for a delivery: end the polls first.
	srv.RegisterOnShutdown(relays.Stop)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "portal", portalURL(ln.Addr()), "database", databaseKind(cfg.Database), "owner", engineCfg.Owner)

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Error("server stopped", "err", err)
		}
	}
	log.Info("shutting down")
	// Stop taking requests first, so nothing is accepted that the engine
	// would not see; then let attempts in flight finish or hand them back.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("closing connections", "err", err)
	}
	if err := pruner.Stop(shutdownCtx); err != nil {
		log.Warn("stopping the pruner", "err", err)
	}
	if err := engine.Stop(shutdownCtx); err != nil {
		log.Warn("stopping the delivery engine", "err", err)
	}
	log.Info("stopped")
	return nil
}

// routes serves the JSON API under /v1/ beside its health and metrics
// endpoints, and the web portal everywhere else.
func routes(apiHandler, portalHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/", apiHandler)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		mux.Handle(path, apiHandler)
	}
	mux.Handle("/", portalHandler)
	return mux
}

// notifiers tells each of its members that deliveries are due.
type notifiers []service.Notifier

func (ns *notifiers) Notify() {
	for _, n := range *ns {
		n.Notify()
	}
}

// fullStore is what both stores are: the webhooks and deliveries half and
// the accounts half, over one database.
type fullStore interface {
	hookshot.Store
	hookshot.AccountStore
	hookshot.Pruner
	hookshot.RelayStore
	hookshot.BacklogReader
	// Ready probes reads and writes, for /readyz (sqlstore.Store.Ready).
	Ready(ctx context.Context) error
}

// openStore opens the configured database, creating and migrating it,
// and returns the key for credentials at rest: the configured one, or
// with SQLite the one in the file beside the database, made if missing.
func openStore(ctx context.Context, cfg *Config) (fullStore, []byte, error) {
	key := cfg.SecretKey
	if path, ok := strings.CutPrefix(cfg.Database, "sqlite:"); ok && key == nil {
		var err error
		if key, err = credential.LoadOrCreateKeyFile(path + ".key"); err != nil {
			return nil, nil, fmt.Errorf("secret key beside the database: %w", err)
		}
	}
	if key == nil {
		return nil, nil, errors.New("HOOKSHOT_SECRET_KEY is required with PostgreSQL (64 hex characters, the same on every process; e.g. openssl rand -hex 32)")
	}
	store, err := openDatabase(ctx, cfg.Database)
	if err != nil {
		return nil, nil, err
	}
	return store, key, nil
}

// openDatabase opens a database setting (already validated), creating
// and migrating it, for work that never opens webhook credentials.
func openDatabase(ctx context.Context, database string) (fullStore, error) {
	if path, ok := strings.CutPrefix(database, "sqlite:"); ok {
		store, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("opening SQLite database %s: %w", path, err)
		}
		return store, nil
	}
	store, err := postgres.Open(ctx, database)
	if err != nil {
		return nil, fmt.Errorf("opening PostgreSQL database %s: %w", showDatabase(database), err)
	}
	return store, nil
}

// portalURL is where a browser on this machine finds the portal: an
// address that listens on every interface is reached on the loopback one.
func portalURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String() + "/"
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)) + "/"
}

func databaseKind(db string) string {
	if strings.HasPrefix(db, "sqlite:") {
		return db
	}
	return "postgres"
}

func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// ownerName names this process on the leases it takes.
func ownerName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}
