package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary play the receiver, as the real one does
// when it re-executes itself.
func TestMain(m *testing.M) {
	if os.Getenv(receiverRole) != "" {
		if err := runReceiver(os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestParseStatCPU(t *testing.T) {
	// The command name holds a space and a parenthesis, as comm may.
	line := []byte("4242 (hook shot)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 12 0 100 0 0")
	got, err := parseStatCPU(line)
	if err != nil || got != 3.25 {
		t.Fatalf("parseStatCPU = %v, %v; want 3.25 s (325 ticks)", got, err)
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Fatal("a line without fields parsed")
	}
}

func TestParseVmHWM(t *testing.T) {
	got, err := parseVmHWM([]byte("Name:\thookshot\nVmPeak:\t  900 kB\nVmHWM:\t   45312 kB\nVmRSS:\t 40000 kB\n"))
	if err != nil || got != 45312*1024 {
		t.Fatalf("parseVmHWM = %d, %v", got, err)
	}
}

func TestParseWriteBytes(t *testing.T) {
	got, err := parseWriteBytes([]byte("rchar: 6976\nwchar: 0\nread_bytes: 4096\nwrite_bytes: 1228800\ncancelled_write_bytes: 0\n"))
	if err != nil || got != 1228800 {
		t.Fatalf("parseWriteBytes = %d, %v", got, err)
	}
}

func TestParseMachineCPU(t *testing.T) {
	// guest and guest_nice (the last two) are already in user and nice.
	got, err := parseMachineCPU([]byte("cpu  600 10 150 200 20 0 5 15 40 0\ncpu0 300 5 75 100 10 0 2 8 20 0\n"))
	if err != nil || got != (cpuTimes{total: 1000, steal: 15}) {
		t.Fatalf("parseMachineCPU = %+v, %v; want 1000 ticks, 15 stolen", got, err)
	}
	if _, err := parseMachineCPU([]byte("intr 12 3\n")); err == nil {
		t.Fatal("a line that is not the cpu line parsed")
	}
	if s := stealShare(cpuTimes{1000, 15}, cpuTimes{3000, 515}, nil, nil); s != 0.25 {
		t.Fatalf("stealShare = %v, want 0.25", s)
	}
}

func TestSentAt(t *testing.T) {
	p := payload(7)
	sent := sentAt(p)
	if d := time.Since(time.Unix(0, sent)); d < 0 || d > time.Minute {
		t.Fatalf("sentAt(%s) = %d, not a moment ago", p, sent)
	}
	if sentAt([]byte(`{"status": "completed"}`)) != 0 {
		t.Fatal("a payload without subjectId has a send time")
	}
}

// TestSmallRun runs the whole benchmark at a size that proves it works,
// not how fast: the real binary, the receiver process, the raw run, every
// delivery counted. No figure is asserted but the counts.
func TestSmallRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	databases := []string{""}
	if pg := os.Getenv("HOOKSHOT_TEST_POSTGRES"); pg != "" {
		databases = append(databases, pg)
	}
	for _, db := range databases {
		// 500 deliveries: enough CPU for /proc's clock ticks (10 ms) to
		// count some, which 40 sometimes were not.
		o := options{database: db, webhooks: 2, events: 250, publishers: 4, raw: 200 * time.Millisecond, rawWorkers: 4}
		var progress bytes.Buffer
		r, err := run(context.Background(), o, &progress)
		if err != nil {
			t.Fatalf("database %q: %v\n%s", db, err, progress.String())
		}
		if r.deliveries != 500 || r.lost != 0 || r.duplicates != 0 || len(r.receiptLatency) != 500 {
			t.Fatalf("database %q: %d deliveries, %d lost, %d duplicates, %d latencies; want 500, 0, 0, 500", db, r.deliveries, r.lost, r.duplicates, len(r.receiptLatency))
		}
		if r.rawRequests == 0 || r.cpuPerDelivery <= 0 || r.peakRSS <= 0 {
			t.Fatalf("database %q: figures missing: %+v", db, r)
		}
		var out bytes.Buffer
		r.print(&out)
		for _, want := range []string{"ratio:", "µs of Hookshot CPU per delivery", "peak RSS", "0 lost, 0 duplicates", "steal:"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("the report lacks %q:\n%s", want, out.String())
			}
		}
		if strings.HasPrefix(db, "postgres") && !strings.Contains(out.String(), "PostgreSQL CPU") {
			t.Errorf("a PostgreSQL run does not report PostgreSQL's CPU:\n%s", out.String())
		}
	}
}

// TestSmallBatchRun publishes in batches whose last one is short: every
// event is published once, so every delivery arrives once.
func TestSmallBatchRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	o := options{webhooks: 2, events: 20, publishers: 2, batch: 7, rawWorkers: 1}
	var progress bytes.Buffer
	r, err := run(context.Background(), o, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	if r.deliveries != 40 || r.lost != 0 || r.duplicates != 0 || len(r.receiptLatency) != 40 || len(r.publishLatency) != 3 {
		t.Fatalf("%d deliveries, %d lost, %d duplicates, %d receipt latencies, %d requests; want 40, 0, 0, 40, 3 (batches of 7, 7, 6)",
			r.deliveries, r.lost, r.duplicates, len(r.receiptLatency), len(r.publishLatency))
	}
	var out bytes.Buffer
	r.print(&out)
	if !strings.Contains(out.String(), "in batches of 7") {
		t.Errorf("the report does not say the events went in batches:\n%s", out.String())
	}
}
