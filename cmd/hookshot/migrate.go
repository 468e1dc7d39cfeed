package main

import (
	"context"
	"fmt"
	"io"
)

const migrateSummary = `Creates or updates the database schema and exits. "serve" does the same at
start; this is for operators who migrate before rolling out, and for
making the database that "accounts" and "tokens" work on.`

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", migrateSummary, `hookshot migrate --database sqlite:/var/lib/hookshot/hookshot.db
HOOKSHOT_DATABASE='postgres://hookshot@db.internal/hookshot' hookshot migrate`)
	settings := bindSettings(fs, getenv, "database")
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	cfg, err := settings.config()
	if err != nil {
		return err
	}
	store, err := openDatabase(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(stdout, "database %s is up to date\n", showDatabase(cfg.Database))
	return nil
}
