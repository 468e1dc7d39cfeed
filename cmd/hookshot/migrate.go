package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/hookshot/hookshot"
)

const migrateSummary = `Creates or updates the database schema and exits. "serve" does the same at
start; this is for operators who migrate before rolling out.`

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", migrateSummary, stderr)
	raw, err := bindSettings(fs, settingsByName("database", "secret-key", "log-level", "log-format"), getenv)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := parseConfig(raw)
	if err != nil {
		return err
	}
	store, err := openStoreWithoutKey(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(stdout, "database %s is up to date\n", redactURL(cfg.Database))
	return nil
}

// openStoreWithoutKey opens the database for work that never opens webhook
// credentials (migrations, accounts), so PostgreSQL needs no
// HOOKSHOT_SECRET_KEY for it; openStore insists on one otherwise.
func openStoreWithoutKey(ctx context.Context, cfg *Config, stderr io.Writer) (hookshot.Store, error) {
	if !strings.HasPrefix(cfg.Database, "sqlite:") && cfg.SecretKey == nil {
		cfg.SecretKey = make([]byte, 32) // never used to seal or open anything
	}
	store, _, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	return store, err
}
