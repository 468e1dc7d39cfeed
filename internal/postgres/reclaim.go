package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/hookshot/hookshot"
)

var _ hookshot.Reclaimer = (*Store)(nil)

// Reclaim vacuums the tables that c names when autovacuum is off: without
// a vacuum the space of deleted rows is never reused and the tables grow
// for ever, however much is pruned. With autovacuum on (the default, and
// the per-table settings of migration 0004 make it keep up with the
// batches) it does nothing. SKIP_LOCKED passes over a table another
// process is vacuuming already, so processes pruning together never queue.
func (s *Store) Reclaim(ctx context.Context, c hookshot.PruneCounts) error {
	var tables []string
	for _, t := range c.Tables() {
		if t.Rows > 0 {
			tables = append(tables, t.Table)
		}
	}
	if len(tables) == 0 {
		return nil
	}
	var autovacuum string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('autovacuum')`).Scan(&autovacuum); err != nil {
		return fmt.Errorf("postgres: reading the autovacuum setting: %w", err)
	}
	if autovacuum == "on" {
		return nil
	}
	// Names from the fixed list of Tables, never from input.
	if _, err := s.pool.Exec(ctx, `VACUUM (SKIP_LOCKED) `+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("postgres: vacuuming %s (autovacuum is off): %w", strings.Join(tables, ", "), err)
	}
	return nil
}
