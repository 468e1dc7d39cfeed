package main

import (
	"context"
	"fmt"
	"io"
	"strings"
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
	if !strings.HasPrefix(cfg.Database, "sqlite:") && cfg.SecretKey == nil {
		// Migrating needs no key; give it a throwaway so openStore passes.
		cfg.SecretKey = make([]byte, 32)
	}
	store, _, err := openStore(ctx, cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(stdout, "database %s is up to date\n", redactURL(cfg.Database))
	return nil
}
