package pgtest_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hookshot/hookshot/internal/pgtest"
)

func TestURL(t *testing.T) {
	ctx := context.Background()
	var schema string
	t.Run("InSchema", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, pgtest.URL(t))
		if err != nil {
			t.Fatalf("connecting: %v", err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			t.Fatalf("current_schema: %v", err)
		}
		if schema == "public" {
			t.Fatal("the URL selects the public schema, not a fresh one")
		}
		// Unqualified names land in the test's schema.
		if _, err := conn.Exec(ctx, `CREATE TABLE t (x int)`); err != nil {
			t.Fatalf("creating a table: %v", err)
		}
		var where string
		if err := conn.QueryRow(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = 't' AND table_schema = $1`, schema).Scan(&where); err != nil {
			t.Fatalf("finding the table in %s: %v", schema, err)
		}
	})
	if schema == "" {
		return // skipped
	}

	conn, err := pgx.Connect(ctx, os.Getenv(pgtest.EnvURL))
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		t.Fatalf("looking for schema %s: %v", schema, err)
	}
	if exists {
		t.Errorf("schema %s still exists after its test ended", schema)
	}
}
