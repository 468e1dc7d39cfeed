package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/pgtest"
)

// Reclaim vacuums the tables a pass pruned when autovacuum is off, and
// leaves vacuuming to autovacuum when it is on: either way the pruned
// tables do not go unvacuumed.
func TestReclaim(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var autovacuum string
	if err := conn.QueryRow(ctx, `SELECT current_setting('autovacuum')`).Scan(&autovacuum); err != nil {
		t.Fatal(err)
	}
	if err := s.Reclaim(ctx, hookshot.PruneCounts{}); err != nil {
		t.Fatalf("Reclaim of nothing: %v", err)
	}
	if err := s.Reclaim(ctx, hookshot.PruneCounts{Deliveries: 3, Attempts: 5}); err != nil {
		t.Fatalf("Reclaim: %v", err)
	}
	vacuumed := func(table string) bool {
		var at *time.Time
		if err := conn.QueryRow(ctx, `SELECT last_vacuum FROM pg_stat_user_tables WHERE relid = $1::regclass`, table).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at != nil
	}
	if autovacuum == "on" {
		if vacuumed("deliveries") {
			t.Error("Reclaim vacuumed deliveries although autovacuum is on")
		}
		return
	}
	if !vacuumed("deliveries") || !vacuumed("attempts") {
		t.Error("with autovacuum off, Reclaim did not vacuum deliveries and attempts")
	}
	if vacuumed("events") {
		t.Error("Reclaim vacuumed events, which the pass did not prune")
	}
}
