package postgres_test

import (
	"slices"
	"testing"

	"github.com/hookshot/hookshot/internal/postgres"
	"github.com/hookshot/hookshot/internal/sqlite"
)

// The two stores' migrations are numbered alike, so a change to one schema
// without its twin shows up here.
func TestMigrationsMatchSQLite(t *testing.T) {
	pg, lite := postgres.Migrations(), sqlite.Migrations()
	if !slices.Equal(pg, lite) {
		t.Fatalf("PostgreSQL migrations %v, SQLite migrations %v: keep them numbered alike", pg, lite)
	}
}
