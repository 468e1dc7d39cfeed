package e2e

import (
	"bufio"
	"fmt"
	"github.com/hookshot/hookshot/internal/pgtest"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkDeliveryThroughput publishes events fanned out to many webhooks
// on one local HTTPS receiver and reports deliveries per second, counted
// from the first publish until every attempt is recorded as succeeded.
//
//	go test ./internal/e2e -run '^$' -bench Throughput -benchtime 20000x
//
// HOOKSHOT_BENCH_DATABASE picks the database (default: a fresh SQLite file)
// and HOOKSHOT_BENCH_PROCESSES how many serve processes share it (PostgreSQL
// only; publishes are spread over them). HOOKSHOT_BENCH_OTEL=1 exports
// traces to a local OTLP/HTTP endpoint, to measure what tracing costs.
func BenchmarkDeliveryThroughput(b *testing.B) {
	const webhooks = 20
	db := os.Getenv("HOOKSHOT_BENCH_DATABASE")
	processes := 1
	if n, err := strconv.Atoi(os.Getenv("HOOKSHOT_BENCH_PROCESSES")); err == nil && n > 1 {
		if db == "" {
			b.Fatal("several processes need HOOKSHOT_BENCH_DATABASE=postgres://...")
		}
		processes = n
	}
	if strings.HasPrefix(db, "postgres") {
		// A schema of its own, dropped afterwards.
		db = benchSchema(b, db)
	}
	var hs []*Hookshot
	for i := 0; i < processes; i++ {
		h, cleanup := startBench(b, db, append(benchTracing(b), "HOOKSHOT_LOG_LEVEL=info", "HOOKSHOT_CONCURRENCY=512", "HOOKSHOT_WEBHOOK_CONCURRENCY=32")...)
		defer cleanup()
		hs = append(hs, h)
	}
	h := hs[0]
	var got atomic.Int64
	rcv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-ActiGraph-Event") == "validation" {
			w.Header().Set("X-ActiGraph-Hook-Secret", r.Header.Get("X-ActiGraph-Hook-Secret"))
			return
		}
		got.Add(1)
	}))
	defer rcv.Close()
	for i := 0; i < webhooks; i++ {
		benchWebhook(b, h, rcv.URL)
	}
	events := (b.N + webhooks - 1) / webhooks
	total := int64(events * webhooks)
	succeeded := func() int64 {
		var n int64
		for _, h := range hs {
			n += recordedSucceeded(b, h)
		}
		return n
	}
	base := succeeded()

	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(events) {
					return
				}
				benchPublish(b, hs[int(i)%len(hs)], int(i))
			}
		}()
	}
	wg.Wait()
	published := time.Since(start)
	for succeeded()-base < total {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(total)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(events)/published.Seconds(), "publishes/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkIdleLatency publishes one event at a time to an idle service
// and reports the median and 99th percentile time from sending the publish
// request to the receiver getting the delivery.
//
//	go test ./internal/e2e -run '^$' -bench IdleLatency -benchtime 300x
func BenchmarkIdleLatency(b *testing.B) {
	h, cleanup := startBench(b, os.Getenv("HOOKSHOT_BENCH_DATABASE"), append(benchTracing(b), "HOOKSHOT_LOG_LEVEL=info")...)
	defer cleanup()
	arrived := make(chan time.Time, 1)
	rcv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-ActiGraph-Event") == "validation" {
			w.Header().Set("X-ActiGraph-Hook-Secret", r.Header.Get("X-ActiGraph-Hook-Secret"))
			return
		}
		arrived <- time.Now()
	}))
	defer rcv.Close()
	benchWebhook(b, h, rcv.URL)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sent := time.Now()
		benchPublish(b, h, i)
		lat = append(lat, (<-arrived).Sub(sent))
		time.Sleep(2 * time.Millisecond) // idle between events
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "ms-p99")
	b.ReportMetric(0, "ns/op")
}

// benchTracing is the environment that turns tracing on when
// HOOKSHOT_BENCH_OTEL asks for it: a local OTLP/HTTP endpoint that decodes
// and counts the spans, as a collector would.
func benchTracing(b *testing.B) []string {
	if os.Getenv("HOOKSHOT_BENCH_OTEL") == "" {
		return nil
	}
	sink := newOTLPSink(b)
	sink.countOnly = true
	b.Cleanup(func() { b.Logf("the OTLP endpoint got %d spans in %d exports", sink.count, sink.exports) })
	return []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + sink.URL}
}

// benchSchema makes a fresh schema on the PostgreSQL database at url and
// returns url with its search_path set to it.
func benchSchema(b *testing.B, url string) string {
	b.Helper()
	b.Setenv("HOOKSHOT_TEST_POSTGRES", url)
	return pgtest.URL(b)
}

// startBench runs hookshot for a benchmark, on db or a fresh SQLite file.
func startBench(b *testing.B, db string, extra ...string) (*Hookshot, func()) {
	b.Helper()
	dir, err := os.MkdirTemp("", "hookshot-bench-")
	if err != nil {
		b.Fatal(err)
	}
	if db == "" {
		db = "sqlite:" + dir + "/hookshot.db"
	}
	h := &Hookshot{t: b, Database: db, dir: dir}
	h.env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOOKSHOT_ADDR=127.0.0.1:0",
		"HOOKSHOT_DATABASE=" + db,
		"HOOKSHOT_ADMIN_TOKEN=" + adminToken,
		"HOOKSHOT_SECRET_KEY=" + secretKey,
		"HOOKSHOT_EGRESS_ALLOW=127.0.0.0/8",
		"SSL_CERT_FILE=" + caFile,
	}, extra...)
	h.launchIn(dir)
	return h, func() {
		_ = h.cmd.Process.Kill()
		<-h.exited
		os.RemoveAll(dir)
	}
}

func benchWebhook(b *testing.B, h *Hookshot, url string) {
	b.Helper()
	body := fmt.Sprintf(`{"url": %q, "events": ["upload"], "auth": {"type": "hmac", "secret": "bench-secret"}}`, url)
	req, _ := http.NewRequest("POST", h.URL+"/v1/studies/189/webhooks", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := apiClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("creating a webhook: %v %v", err, resp)
	}
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for pendingValidation(b, h) {
		if time.Now().After(deadline) {
			b.Fatal("webhooks did not validate")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func pendingValidation(b *testing.B, h *Hookshot) bool {
	req, _ := http.NewRequest("GET", h.URL+"/v1/studies/189/webhooks", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := apiClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		buf.WriteString(sc.Text())
	}
	return strings.Contains(buf.String(), `"status":"pending"`)
}

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func benchPublish(b *testing.B, h *Hookshot, i int) {
	body := publishBody("upload", uploadPayload(189, "completed", i))
	req, _ := http.NewRequest("POST", h.URL+"/v1/studies/189/events", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := benchClient.Do(req)
	if err != nil {
		logs := h.Logs()
		b.Fatalf("%v; the service logged:\n%s", err, logs[max(0, len(logs)-4000):])
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b.Errorf("publish answered %d", resp.StatusCode)
	}
}

// recordedSucceeded reads hookshot_deliveries_finished_total{status="succeeded"}.
func recordedSucceeded(b *testing.B, h *Hookshot) int64 {
	return metricOf(b, h, `hookshot_deliveries_finished_total{status="succeeded"}`)
}

// metricOf reads one series from a process's /metrics.
func metricOf(tb testing.TB, h *Hookshot, series string) int64 {
	resp, err := benchClient.Get(h.URL + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int64(f)
		}
	}
	return 0
}
