// Package pgtest gives tests a PostgreSQL schema of their own, so that
// tests of several packages can share one database server, run in
// parallel and leave nothing behind.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnvURL names the environment variable holding the URL of the test
// server, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvURL = "HOOKSHOT_TEST_POSTGRES"

// URL returns a connection URL for a fresh, empty schema that is dropped
// with everything in it when the test ends. The schema is selected through
// search_path in the URL, so anything that opens the URL (a Store, or the
// hookshot binary started by an end-to-end test) works inside it.
//
// Without HOOKSHOT_TEST_POSTGRES the test is skipped, unless CI=true: in CI a
// skipped PostgreSQL test would pass silently, so it fails instead.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: in CI the PostgreSQL tests must run; .ci/run sets it to the URL of the test database", EnvURL)
		}
		t.Skipf("%s is not set; set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run this test", EnvURL)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", EnvURL, err)
	}

	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("naming a test schema: %v", err)
	}
	// Only lower-case letters, digits and underscores, so the name needs no
	// quoting in SQL or in search_path.
	schema := "test_" + hex.EncodeToString(b[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to %s: %v", EnvURL, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating test schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		// The test's context is gone by now; cleanup gets its own.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connecting to drop test schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if err := dropSchema(ctx, conn, schema); err != nil {
			t.Errorf("dropping test schema %s: %v", schema, err)
		}
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// dropSchema drops schema and everything in it. A session of the test that
// is still ending (a hookshot process's pool closing, a statement cut
// short) may lock the same tables in another order, and PostgreSQL then
// breaks the deadlock by failing one of the two, sometimes the DROP: that
// DROP is tried again rather than fail a test that passed.
func dropSchema(ctx context.Context, conn *pgx.Conn, schema string) error {
	var err error
	for try := 0; try < 5; try++ {
		if _, err = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "40P01" { // deadlock_detected
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try+1) * 100 * time.Millisecond):
		}
	}
	return err
}
