package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the backlog goes into the SQLite file directly
)

// The soak benchmarks show that storage stays flat under retention and
// that pruning a large backlog does not hold delivery up (SPEC §12):
//
//	go test ./internal/e2e -run '^$' -bench SoakStorage -benchtime 1x -timeout 30m
//	go test ./internal/e2e -run '^$' -bench PruneBacklog -benchtime 1x -timeout 30m
//
// HOOKSHOT_BENCH_DATABASE=postgres://... runs them on PostgreSQL (in a
// schema of their own) instead of a fresh SQLite file. HOOKSHOT_SOAK_DURATION
// (default 3m), HOOKSHOT_SOAK_RATE (events a second, default 100),
// HOOKSHOT_SOAK_RETENTION (default 20s) and HOOKSHOT_SOAK_BACKLOG (default
// 1000000 deliveries) change the load.

func soakSetting[T any](b *testing.B, name string, def T, parse func(string) (T, error)) T {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	out, err := parse(v)
	if err != nil {
		b.Fatalf("%s=%q: %v", name, v, err)
	}
	return out
}

func soakDatabase(b *testing.B) string {
	db := os.Getenv("HOOKSHOT_BENCH_DATABASE")
	if strings.HasPrefix(db, "postgres") {
		return benchSchema(b, db)
	}
	return db
}

// latencyReceiver records when each delivery arrived, by delivery id.
type latencyReceiver struct {
	*httptest.Server
	arrived chan time.Time
	count   atomic.Int64
}

func newLatencyReceiver() *latencyReceiver {
	rc := &latencyReceiver{arrived: make(chan time.Time, 1)}
	rc.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-ActiGraph-Event") == "validation" {
			w.Header().Set("X-ActiGraph-Hook-Secret", r.Header.Get("X-ActiGraph-Hook-Secret"))
			return
		}
		rc.count.Add(1)
		select {
		case rc.arrived <- time.Now():
		default:
		}
	}))
	return rc
}

// probe publishes one event to the probe webhook (study 190) and returns
// how long it took to reach the receiver.
func probe(b *testing.B, h *Hookshot, rc *latencyReceiver, i int) time.Duration {
	b.Helper()
	select {
	case <-rc.arrived: // a late one from before
	default:
	}
	sent := time.Now()
	benchPublishTo(b, h, 190, i)
	select {
	case at := <-rc.arrived:
		return at.Sub(sent)
	case <-time.After(30 * time.Second):
		b.Fatal("a probe delivery did not arrive within 30s")
		return 0
	}
}

func benchPublishTo(b *testing.B, h *Hookshot, study int64, i int) {
	b.Helper()
	if err := publishOnce(h, study, i); err != nil {
		b.Fatal(err)
	}
}

// publishOnce publishes an upload event, safe in any goroutine.
func publishOnce(h *Hookshot, study int64, i int) error {
	body := publishBody("upload", uploadPayload(study, "completed", i))
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/studies/%d/events", h.URL, study), strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := benchClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("publish answered %d", resp.StatusCode)
	}
	return nil
}

func benchWebhookOf(b *testing.B, h *Hookshot, study int64, url string) int64 {
	b.Helper()
	body := fmt.Sprintf(`{"url": %q, "events": ["upload"]}`, url)
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/studies/%d/webhooks", h.URL, study), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := apiClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("creating a webhook: %v %v", err, resp)
	}
	defer resp.Body.Close()
	var w webhookJSON
	if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for w.Validation.Status != "passed" {
		if time.Now().After(deadline) {
			b.Fatalf("webhook %d did not pass validation: %+v", w.ID, w)
		}
		time.Sleep(5 * time.Millisecond)
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/studies/%d/webhooks/%d", h.URL, study, w.ID), nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := apiClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&w)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	return w.ID
}

// storageSizes is the database's size on disk: the SQLite file and its
// WAL, or the PostgreSQL tables with their indexes and TOAST.
func storageSizes(b *testing.B, db string) map[string]int64 {
	b.Helper()
	out := map[string]int64{}
	if path, ok := strings.CutPrefix(db, "sqlite:"); ok {
		for _, suffix := range []string{"", "-wal"} {
			if st, err := os.Stat(path + suffix); err == nil {
				out["file"+suffix] = st.Size()
			}
		}
		return out
	}
	conn, err := pgx.Connect(b.Context(), db)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, table := range []string{"deliveries", "attempts", "events", "idempotency_keys", "audit_log"} {
		var n int64
		if err := conn.QueryRow(b.Context(), `SELECT pg_total_relation_size($1::regclass)`, table).Scan(&n); err != nil {
			b.Fatal(err)
		}
		out[table] = n
	}
	return out
}

func total(sizes map[string]int64) int64 {
	var n int64
	for _, v := range sizes {
		n += v
	}
	return n
}

func showSizes(sizes map[string]int64) string {
	keys := make([]string, 0, len(sizes))
	for k := range sizes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.1f MiB", k, float64(sizes[k])/(1<<20))
	}
	return strings.Join(parts, ", ")
}

// BenchmarkSoakStorage publishes and delivers at a steady rate with a
// short retention and reports the database's size over time: once
// retention starts deleting as fast as publishing adds, it levels off.
// It reports the growth over the second half of the run, which stays near
// zero when storage is flat.
func BenchmarkSoakStorage(b *testing.B) {
	duration := soakSetting(b, "HOOKSHOT_SOAK_DURATION", 3*time.Minute, time.ParseDuration)
	rate := soakSetting(b, "HOOKSHOT_SOAK_RATE", 100, strconv.Atoi)
	retention := soakSetting(b, "HOOKSHOT_SOAK_RETENTION", 20*time.Second, time.ParseDuration)
	h, cleanup := startBench(b, soakDatabase(b), "HOOKSHOT_LOG_LEVEL=info",
		"HOOKSHOT_RETENTION="+retention.String(), "HOOKSHOT_PRUNE_INTERVAL=1s")
	defer cleanup()
	rc := newLatencyReceiver()
	defer rc.Close()
	benchWebhookOf(b, h, 189, rc.URL)

	b.ResetTimer()
	start := time.Now()
	stop := make(chan struct{})
	published := make(chan int)
	var failed atomic.Int64
	go func() {
		// Steady: one publish per tick, each in its own goroutine so a
		// slow answer does not slow the rate.
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		n := 0
		for {
			select {
			case <-stop:
				published <- n
				return
			case <-tick.C:
				n++
				go func(n int) {
					if publishOnce(h, 189, n) != nil {
						failed.Add(1)
					}
				}(n)
			}
		}
	}()
	var samples []int64
	sample := 10 * time.Second
	for elapsed := sample; elapsed <= duration; elapsed += sample {
		time.Sleep(time.Until(start.Add(elapsed)))
		sizes := storageSizes(b, h.Database)
		samples = append(samples, total(sizes))
		b.Logf("t=%3.0fs delivered %7d  %s  (total %.1f MiB)", elapsed.Seconds(), rc.count.Load(), showSizes(sizes), float64(total(sizes))/(1<<20))
	}
	close(stop)
	n := <-published
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Errorf("%d of %d publishes failed", f, n)
	}
	half := samples[len(samples)/2]
	last := samples[len(samples)-1]
	b.Logf("published %d events in %s; pruned %d deliveries; retention %s", n, duration, metricOf(b, h, `hookshot_pruned_rows_total{table="deliveries"}`), retention)
	b.ReportMetric(float64(last)/(1<<20), "MiB-at-end")
	b.ReportMetric(100*float64(last-half)/float64(half), "%-growth-2nd-half")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkPruneBacklogLatency puts a backlog of old finished deliveries
// (one attempt each) straight into the database, measures delivery
// latency with it in place, then restarts the service with a retention
// that makes the backlog prunable and measures latency again while the
// service's pruner works through it. It reports both medians and 99th
// percentiles and how long the pass took.
func BenchmarkPruneBacklogLatency(b *testing.B) {
	backlog := soakSetting(b, "HOOKSHOT_SOAK_BACKLOG", 1_000_000, strconv.Atoi)
	db := soakDatabase(b)
	h, cleanup := startBench(b, db, "HOOKSHOT_LOG_LEVEL=info", "HOOKSHOT_PRUNE_INTERVAL=1h")
	defer cleanup()
	rc := newLatencyReceiver()
	defer rc.Close()
	webhook := benchWebhookOf(b, h, 190, rc.URL)

	began := time.Now()
	insertBacklog(b, h.Database, webhook, backlog, time.Now().Add(-48*time.Hour))
	b.Logf("inserted %d old deliveries with an attempt each in %s; %s", backlog, time.Since(began).Round(time.Millisecond), showSizes(storageSizes(b, h.Database)))

	// A process's first deliveries open its connections (to the database,
	// a TLS handshake with the receiver); those costs are not pruning's,
	// so a few probes warm each process up before any is counted.
	const warmUp = 3
	b.ResetTimer()
	const probes = 300
	var before []time.Duration
	for i := range probes + warmUp {
		if lat := probe(b, h, rc, i); i >= warmUp {
			before = append(before, lat)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The same database, and now everything older than a day goes: the
	// restarted service's first pass starts at once.
	_ = h.cmd.Process.Kill()
	<-h.exited
	h.env = append(h.env, "HOOKSHOT_RETENTION=24h")
	h.launchIn(h.dir)
	passStart := time.Now()
	var during []time.Duration
	for i := 0; metricOf(b, h, `hookshot_pruned_rows_total{table="deliveries"}`) < int64(backlog); i++ {
		if lat := probe(b, h, rc, probes+warmUp+i); i >= warmUp {
			during = append(during, lat)
		}
		time.Sleep(20 * time.Millisecond)
		if time.Since(passStart) > 20*time.Minute {
			b.Fatal("the prune pass took more than 20 minutes")
		}
	}
	pass := time.Since(passStart)
	b.StopTimer()
	b.Logf("pruned %d deliveries and %d attempts in %s (%.0f rows/s) while %d probes went out; %s",
		metricOf(b, h, `hookshot_pruned_rows_total{table="deliveries"}`), metricOf(b, h, `hookshot_pruned_rows_total{table="attempts"}`),
		pass.Round(time.Millisecond), float64(backlog)/pass.Seconds(), len(during), showSizes(storageSizes(b, h.Database)))
	p := func(lat []time.Duration, q int) float64 {
		s := slices.Clone(lat)
		slices.Sort(s)
		return float64(s[min(len(s)-1, len(s)*q/100)].Microseconds()) / 1000
	}
	b.Logf("latency without pruning: median %.1f ms, p99 %.1f ms; during the pass: median %.1f ms, p99 %.1f ms",
		p(before, 50), p(before, 99), p(during, 50), p(during, 99))
	b.ReportMetric(p(before, 50), "ms-median-idle")
	b.ReportMetric(p(during, 50), "ms-median-pruning")
	b.ReportMetric(p(before, 99), "ms-p99-idle")
	b.ReportMetric(p(during, 99), "ms-p99-pruning")
	b.ReportMetric(pass.Seconds(), "s-pass")
	b.ReportMetric(0, "ns/op")
}

// insertBacklog inserts n deliveries to webhook that succeeded at at, one
// per event (a webhook has at most one delivery of an event), each with one
// attempt, in a few statements of SQL written for each database: what a
// long-running service would hold.
func insertBacklog(b *testing.B, db string, webhook int64, n int, at time.Time) {
	b.Helper()
	events := n
	if path, ok := strings.CutPrefix(db, "sqlite:"); ok {
		conn, err := sql.Open("sqlite", path+"?_busy_timeout=60000&_foreign_keys=1")
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		us := at.UnixMicro()
		for _, q := range []string{
			`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < ?1 - 1)
			INSERT INTO events (id, study_id, type, payload, trace_parent, created_at)
			SELECT 'backlog-e-' || i, 190, 'upload', CAST('{"studyId":"190","status":"completed"}' AS BLOB), '', ?2 FROM n`,
			`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM n WHERE i < ?3 - 1)
			INSERT INTO deliveries (id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
				next_attempt_at, trace_parent, created_at, updated_at)
			SELECT printf('backlog-d-%08d', i), ?4, 190, 'backlog-e-' || i, 'upload', 'succeeded', 1, 1, ?2, '', ?2, ?2 FROM n`,
			`INSERT INTO attempts (delivery_id, number, started_at, duration_us, request_url, request_headers,
				response_status, response_headers, response_body, error)
			SELECT id, 1, updated_at, 1200, 'https://receiver.example/hooks',
				'{"Content-Type":["application/json; charset=utf-8"],"User-Agent":["ActiGraph-Hookshot/1.0"]}',
				200, '{"Content-Type":["text/plain"]}', CAST('ok' AS BLOB), ''
			FROM deliveries WHERE id LIKE 'backlog-d-%'`,
		} {
			if _, err := conn.Exec(q, events, us, n, webhook); err != nil {
				b.Fatalf("inserting the backlog: %v", err)
			}
		}
		return
	}
	conn, err := pgx.Connect(b.Context(), db)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, st := range []struct {
		query string
		args  []any
	}{
		{`INSERT INTO events (id, study_id, type, payload, trace_parent, created_at)
		SELECT 'backlog-e-' || i, 190, 'upload', convert_to('{"studyId":"190","status":"completed"}', 'UTF8'), '', $2
		FROM generate_series(0, $1::int - 1) i`, []any{events, at}},
		{`INSERT INTO deliveries (id, webhook_id, study_id, event_id, event, status, attempts, max_attempts,
			next_attempt_at, trace_parent, created_at, updated_at)
		SELECT 'backlog-d-' || lpad(i::text, 8, '0'), $3, 190, 'backlog-e-' || i, 'upload', 'succeeded', 1, 1, $2, '', $2, $2
		FROM generate_series(0, $1::int - 1) i`, []any{n, at, webhook}},
		{`INSERT INTO attempts (delivery_id, number, started_at, duration_us, request_url, request_headers,
			response_status, response_headers, response_body, error)
		SELECT id, 1, updated_at, 1200, 'https://receiver.example/hooks',
			'{"Content-Type":["application/json; charset=utf-8"],"User-Agent":["ActiGraph-Hookshot/1.0"]}'::jsonb,
			200, '{"Content-Type":["text/plain"]}'::jsonb, convert_to('ok', 'UTF8'), ''
		FROM deliveries WHERE id LIKE 'backlog-d-%'`, nil},
		// As autovacuum would soon: the service's plans see the rows.
		{`ANALYZE`, nil},
	} {
		if _, err := conn.Exec(b.Context(), st.query, st.args...); err != nil {
			b.Fatalf("inserting the backlog: %v", err)
		}
	}
}
