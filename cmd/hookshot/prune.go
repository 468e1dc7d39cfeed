package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/retention"
)

const pruneSummary = `Runs one prune pass now: deletes finished deliveries (with their attempts)
and events older than --retention, idempotency keys past their 24h window
and audit entries older than --audit-retention, in small batches, and prints
how many rows of each table went. Deliveries in progress are never deleted.
"serve" does the same every --prune-interval; this works beside a running
serve, on SQLite too. --dry-run only counts.`

func runPrune(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("prune", pruneSummary, `hookshot prune --dry-run
hookshot prune --retention 168h --database sqlite:/var/lib/hookshot/hookshot.db`)
	settings := bindSettings(fs, getenv, "database", "retention", "audit-retention")
	fs.group("Flags")
	dryRun := fs.Bool("dry-run", false, "count what would be deleted, and delete nothing")
	if err := fs.parse(args, stdout); err != nil {
		return err
	}
	cfg, err := settings.config()
	if err != nil {
		return err
	}
	// Like accounts and tokens: a mistyped path must not leave an empty
	// database behind.
	store, err := openExistingDatabase(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer store.Close()
	p := retention.New(store, retention.Config{Retention: cfg.Retention, AuditRetention: cfg.AuditRetention})
	if *dryRun {
		c, err := p.Count(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "would delete (dry run: nothing was deleted; retention %s, audit retention %s):\n",
			shortDuration(cfg.Retention), shortDuration(cfg.AuditRetention))
		printCounts(stdout, c)
		return nil
	}
	c, err := p.Prune(ctx)
	fmt.Fprintf(stdout, "deleted (retention %s, audit retention %s):\n", shortDuration(cfg.Retention), shortDuration(cfg.AuditRetention))
	printCounts(stdout, c)
	if err != nil {
		return fmt.Errorf("pruning stopped part way (what is listed above is deleted): %w", err)
	}
	return nil
}

func printCounts(w io.Writer, c hookshot.PruneCounts) {
	for _, t := range c.Tables() {
		fmt.Fprintf(w, "  %-17s %d\n", t.Table, t.Rows)
	}
}
