// Command hookshot-bench measures Hookshot's delivery rate against what the
// machine can do at all. It runs an HTTPS receiver in a process of its own,
// posts to it with a bare Go client for a while (the raw rate), then starts
// the real hookshot binary, registers webhooks that point at the same
// receiver, publishes events and waits until every delivery has arrived and
// is recorded as succeeded. It prints both rates, their ratio, CPU per
// delivery (Hookshot's own from /proc, and PostgreSQL's when it is used),
// latency percentiles and Hookshot's peak RSS.
//
//	go run ./cmd/hookshot-bench                      # SQLite, as fast as it goes
//	go run ./cmd/hookshot-bench --rate 1000           # a light, steady load
//	go run ./cmd/hookshot-bench --database 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//
// It is a benchmark to run by hand, on a quiet machine; no test asserts its
// figures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

type options struct {
	binary     string
	database   string
	webhooks   int
	events     int
	publishers int
	batch      int // events per publish request: 1 is POST .../events, more is POST .../events/batch
	rate       int
	raw        time.Duration
	rawWorkers int
	extraEnv   []string
}

func main() {
	if os.Getenv(receiverRole) != "" {
		if err := runReceiver(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "hookshot-bench receiver:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.binary, "binary", "", "the hookshot binary to measure (default: built from ./cmd/hookshot of this module)")
	flag.StringVar(&o.database, "database", "", "sqlite:PATH or a postgres:// URL (default: a fresh SQLite file); on PostgreSQL the run gets a schema of its own")
	flag.IntVar(&o.webhooks, "webhooks", 10, "webhooks subscribed to every event, all on the one receiver")
	flag.IntVar(&o.events, "events", 5000, "events to publish")
	flag.IntVar(&o.publishers, "publishers", 16, "concurrent publishers (ignored with --rate)")
	flag.IntVar(&o.batch, "batch", 1, "events per publish request: 1 publishes each alone (POST .../events), more in batches (POST .../events/batch, at most 500)")
	flag.IntVar(&o.rate, "rate", 0, "deliveries per second to aim for, publishing evenly; 0 publishes as fast as the publishers can")
	flag.DurationVar(&o.raw, "raw", 5*time.Second, "how long the bare client posts to the receiver; 0 skips the raw run")
	flag.IntVar(&o.rawWorkers, "raw-workers", 64, "concurrent requests of the bare client")
	flag.Func("env", "an extra NAME=VALUE for hookshot serve (repeatable), e.g. --env HOOKSHOT_LOG_LEVEL=debug", func(s string) error {
		o.extraEnv = append(o.extraEnv, s)
		return nil
	})
	flag.Parse()
	if o.webhooks < 1 || o.events < 1 || o.publishers < 1 || o.rawWorkers < 1 || o.batch < 1 {
		fmt.Fprintln(os.Stderr, "hookshot-bench: --webhooks, --events, --publishers, --batch and --raw-workers must be at least 1")
		os.Exit(2)
	}
	if o.batch > 500 {
		fmt.Fprintln(os.Stderr, "hookshot-bench: --batch is at most 500, the most events one batch may carry")
		os.Exit(2)
	}
	ctx := context.Background()
	r, err := run(ctx, o, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookshot-bench:", err)
		os.Exit(1)
	}
	r.print(os.Stdout)
	if r.lost > 0 || r.duplicates > 0 {
		os.Exit(1)
	}
}

// run performs the raw run and the Hookshot run and returns their figures.
// Progress goes to logw.
func run(ctx context.Context, o options, logw io.Writer) (*result, error) {
	work, err := os.MkdirTemp("", "hookshot-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	if o.binary == "" {
		fmt.Fprintln(logw, "building hookshot…")
		if o.binary, err = buildHookshot(ctx, work); err != nil {
			return nil, err
		}
	}
	certs, err := makeCerts(work)
	if err != nil {
		return nil, err
	}
	rcv, err := startReceiver(certs)
	if err != nil {
		return nil, err
	}
	defer rcv.stop()

	r := &result{options: o}
	if o.raw > 0 {
		fmt.Fprintf(logw, "raw run: a bare client posts to the receiver for %s…\n", o.raw)
		if err := rawRun(ctx, rcv, certs, o, r); err != nil {
			return nil, fmt.Errorf("raw run: %w", err)
		}
	}
	fmt.Fprintln(logw, "hookshot run…")
	if err := hookshotRun(ctx, rcv, certs, work, o, r, logw); err != nil {
		return nil, fmt.Errorf("hookshot run: %w", err)
	}
	return r, nil
}

var errTimeout = errors.New("timed out")
