package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookshot/hookshot"
	"github.com/hookshot/hookshot/internal/pgtest"
	"github.com/hookshot/hookshot/internal/postgres"
)

// TestQueuePlans checks that claiming and recording stay with the
// indexes on tables without statistics (a new schema, no ANALYZE), which
// is where PostgreSQL's own choice, by a sort of every due delivery and a
// scan of the whole of deliveries, made a batch cost more the longer the
// backlog and the tables grew.
func TestQueuePlans(t *testing.T) {
	url := pgtest.URL(t)
	s := open(t, url)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	w := &hookshot.Webhook{
		StudyID: 1, URL: "https://example.com/hook", Auth: hookshot.Auth{Type: hookshot.AuthNone},
		Events: []string{hookshot.EventUpload}, Active: true,
		Validation: hookshot.Validation{Status: hookshot.ValidationPassed},
		CreatedAt:  now, UpdatedAt: now,
	}
	if err := s.CreateWebhook(ctx, w, nil, nil); err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer conn.Close(ctx)
	// A backlog of due deliveries, as a run that fell behind has.
	const backlog = 20000
	if _, err := conn.Exec(ctx, `
		INSERT INTO deliveries (id, webhook_id, study_id, event, status, attempts, max_attempts,
			next_attempt_at, trace_parent, created_at, updated_at)
		SELECT 'd' || g, $1, 1, 'upload', 'in_progress', 0, 5, $2::timestamptz - g * interval '1 millisecond', '', $2, $2
		FROM generate_series(1, $3) g`, w.ID, now, backlog); err != nil {
		t.Fatalf("inserting the backlog: %v", err)
	}
	ids := make([]string, 256)
	for i := range ids {
		ids[i] = fmt.Sprintf("d%d", i+1)
	}

	// EXPLAIN EXECUTE takes no parameters, so the arguments are
	// literals, each as PostgreSQL would read the parameter's text.
	plan := func(name, query string, args ...string) string {
		t.Helper()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, postgres.QueuePlans); err != nil {
			t.Fatalf("%s: plan settings: %v", name, err)
		}
		stmt := "q_" + strings.ReplaceAll(uuid.NewString(), "-", "")
		if _, err := tx.Exec(ctx, "PREPARE "+stmt+" AS "+query); err != nil {
			t.Fatalf("%s: PREPARE: %v", name, err)
		}
		literals := make([]string, len(args))
		for i, a := range args {
			literals[i] = "'" + strings.ReplaceAll(a, "'", "''") + "'"
		}
		rows, err := tx.Query(ctx, "EXPLAIN EXECUTE "+stmt+"("+strings.Join(literals, ", ")+")")
		if err != nil {
			t.Fatalf("%s: EXPLAIN: %v", name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: EXPLAIN: %v", name, err)
		}
		return strings.Join(lines, "\n")
	}
	ts := now.Format(time.RFC3339Nano)
	claim := plan("claim", postgres.ClaimSQL, "owner", now.Add(time.Minute).Format(time.RFC3339Nano), ts, "{}", "256")
	for _, bad := range []string{"Seq Scan on deliveries", "Bitmap Heap Scan on deliveries", "Sort"} {
		if strings.Contains(claim, bad) {
			t.Errorf("the claim's plan has a %s, which reads every due delivery:\n%s", bad, claim)
		}
	}

	array := func(v string) string { return "{" + strings.Repeat(v+",", len(ids)-1) + v + "}" }
	text, zero, null, at := array(`""`), array("0"), array("NULL"), array(`"`+ts+`"`)
	record := plan("record", postgres.RecordSQL, "owner", "{"+strings.Join(ids, ",")+"}", zero, at, zero,
		text, text, null, null, null, null, text, text, zero, at, null)
	for _, bad := range []string{"Seq Scan on deliveries", "Seq Scan on events", "Seq Scan on attempts", "Hash"} {
		if strings.Contains(record, bad) {
			t.Errorf("the recording's plan has a %s, which reads whole tables:\n%s", bad, record)
		}
	}
}
