package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

const study = 189

// payload is an upload event whose subjectId carries the time it was sent,
// which the receiver turns into the receipt latency.
func payload(upload int64) []byte {
	return fmt.Appendf(nil, `{"status": "completed", "uploadId": "%d", "subjectId": "%d", "studyId": "%d"}`, upload, time.Now().UnixNano(), study)
}

func buildHookshot(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run me inside the hookshot module, or name a binary with --binary")
	}
	bin := filepath.Join(dir, "hookshot")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/hookshot")
	build.Dir = filepath.Dir(gomod)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building hookshot: %w", err)
	}
	return bin, nil
}

// rawRun posts to the receiver with a bare client for o.raw: the rate the
// machine manages with no webhook service in between.
func rawRun(ctx context.Context, rcv *receiverProcess, certs *certFiles, o options, r *result) error {
	client := certs.client(o.rawWorkers)
	if err := rcv.reset(); err != nil {
		return err
	}
	before, _ := rcv.stats()
	self0, _ := processCPU(os.Getpid())
	machine0, err0 := machineCPU()
	var sent atomic.Int64
	var failed atomic.Int64
	deadline := time.Now().Add(o.raw)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < o.rawWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				n := sent.Add(1)
				req, _ := http.NewRequestWithContext(ctx, "POST", rcv.url, strings.NewReader(string(payload(n))))
				req.Header.Set("Content-Type", "application/json; charset=utf-8")
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	self1, _ := processCPU(os.Getpid())
	machine1, err1 := machineCPU()
	r.rawSteal = stealShare(machine0, machine1, err0, err1)
	after, err := rcv.stats()
	if err != nil {
		return err
	}
	if failed.Load() > 0 {
		return fmt.Errorf("%d of %d requests failed", failed.Load(), sent.Load())
	}
	r.rawRequests = after.Received
	r.rawRate = float64(after.Received) / elapsed.Seconds()
	r.rawCPUPerRequest = (self1 - self0 + after.CPU - before.CPU) / float64(after.Received)
	return nil
}

// hookshotRun starts the binary, registers the webhooks, publishes and
// waits until every delivery has arrived and is recorded as succeeded.
func hookshotRun(ctx context.Context, rcv *receiverProcess, certs *certFiles, work string, o options, r *result, logw io.Writer) error {
	db := o.database
	if db == "" {
		db = "sqlite:" + filepath.Join(work, "hookshot.db")
		r.databaseKind = "SQLite"
	} else if strings.HasPrefix(db, "postgres") {
		scoped, drop, err := ownSchema(ctx, db)
		if err != nil {
			return err
		}
		defer drop()
		db = scoped
		r.databaseKind = "PostgreSQL"
	} else {
		r.databaseKind = db
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	token := randomHex(16)
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOOKSHOT_") && !strings.HasPrefix(kv, "OTEL_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"HOOKSHOT_ADDR="+addr,
		"HOOKSHOT_DATABASE="+db,
		"HOOKSHOT_ADMIN_TOKEN="+token,
		"HOOKSHOT_SECRET_KEY="+randomHex(32),
		"HOOKSHOT_EGRESS_ALLOW=127.0.0.0/8",
		"HOOKSHOT_LOG_LEVEL=warn",
		"HOOKSHOT_CONCURRENCY=512",
		"HOOKSHOT_WEBHOOK_CONCURRENCY=32",
		"SSL_CERT_FILE="+certs.ca,
	)
	env = append(env, o.extraEnv...)
	logPath := filepath.Join(work, "hookshot.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(o.binary, "serve")
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, work, logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()
	failure := func(err error) error {
		logs, _ := os.ReadFile(logPath)
		if len(logs) > 4000 {
			logs = logs[len(logs)-4000:]
		}
		return fmt.Errorf("%w; hookshot logged:\n%s", err, logs)
	}
	api := &apiClient{base: "http://" + addr, token: token, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	if err := api.waitReady(30*time.Second, exited); err != nil {
		return failure(err)
	}
	for i := 0; i < o.webhooks; i++ {
		if err := api.createWebhook(rcv.url); err != nil {
			return failure(err)
		}
	}
	if err := api.waitValidated(o.webhooks, 30*time.Second); err != nil {
		return failure(err)
	}
	base, err := api.succeeded()
	if err != nil {
		return failure(err)
	}
	if err := rcv.reset(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	cpu0, _ := processCPU(pid)
	written0, _ := writeBytes(pid)
	pg0 := postgresCPU()
	machine0, machineErr0 := machineCPU()
	total := int64(o.events) * int64(o.webhooks)

	fmt.Fprintf(logw, "publishing %d events to %d webhooks…\n", o.events, o.webhooks)
	start := time.Now()
	pubLatency, err := publishAll(ctx, api, o)
	if err != nil {
		return failure(err)
	}
	published := time.Since(start)
	deadline := time.Now().Add(5*time.Minute + time.Duration(total)*time.Millisecond)
	var st receiverStats
	for {
		st, err = rcv.stats()
		if err != nil {
			return err
		}
		done, err := api.succeeded()
		if err != nil {
			return failure(err)
		}
		if st.Received >= total && done-base >= total {
			break
		}
		if time.Now().After(deadline) {
			r.lost = total - st.Received
			return failure(fmt.Errorf("%w: %d of %d deliveries arrived, %d recorded", errTimeout, st.Received, total, done-base))
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu1, _ := processCPU(pid)
	written1, _ := writeBytes(pid)
	pg1 := postgresCPU()
	machine1, machineErr1 := machineCPU()
	r.runSteal = stealShare(machine0, machine1, machineErr0, machineErr1)
	rss, _ := peakRSS(pid)

	r.deliveries = total
	r.deliveryRate = float64(total) / elapsed.Seconds()
	r.publishRate = float64(o.events) / published.Seconds()
	r.publishLatency = pubLatency
	r.receiptLatency = st.LatencyMS
	r.duplicates = st.Duplicates
	r.lost = total - st.Received + st.Duplicates
	r.cpuPerDelivery = (cpu1 - cpu0) / float64(total)
	if r.databaseKind == "PostgreSQL" {
		r.pgCPUPerDelivery = (pg1 - pg0) / float64(total)
	}
	r.peakRSS = rss
	r.writtenPerDelivery = float64(written1-written0) / float64(total)
	return nil
}

// publishAll publishes o.events upload events, from o.publishers workers as
// fast as they go, or evenly at o.rate deliveries a second, o.batch events
// to a request. It answers the latencies of the requests, sorted, in
// milliseconds.
func publishAll(ctx context.Context, api *apiClient, o options) ([]float64, error) {
	batch := int64(max(o.batch, 1))
	var (
		mu        sync.Mutex
		latencies = make([]float64, 0, int64(o.events)/batch+1)
		firstErr  error
		next      atomic.Int64
		wg        sync.WaitGroup
	)
	// one publishes the events first to last, numbered from 1.
	one := func(first, last int64) {
		t0 := time.Now()
		var err error
		if batch == 1 {
			err = api.publish(payload(first))
		} else {
			err = api.publishBatch(first, last)
		}
		mu.Lock()
		defer mu.Unlock()
		latencies = append(latencies, float64(time.Since(t0).Microseconds())/1000)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	events := int64(o.events)
	if o.rate <= 0 {
		for w := 0; w < o.publishers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for last := next.Add(batch); last-batch < events && ctx.Err() == nil; last = next.Add(batch) {
					one(last-batch+1, min(last, events))
				}
			}()
		}
	} else {
		interval := time.Duration(float64(time.Second) * float64(batch) * float64(o.webhooks) / float64(o.rate))
		sem := make(chan struct{}, 256)
		start := time.Now()
		for n, first := int64(0), int64(1); first <= events; n, first = n+1, first+batch {
			if wait := time.Until(start.Add(time.Duration(n) * interval)); wait > 0 {
				time.Sleep(wait)
			}
			sem <- struct{}{}
			wg.Add(1)
			go func(first, last int64) {
				defer func() { <-sem; wg.Done() }()
				one(first, last)
			}(first, min(first+batch-1, events))
		}
	}
	wg.Wait()
	sortFloats(latencies)
	return latencies, firstErr
}

type apiClient struct {
	base, token string
	http        *http.Client
}

func (a *apiClient) do(method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return a.http.Do(req)
}

func (a *apiClient) waitReady(limit time.Duration, exited <-chan error) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("hookshot exited: %v", err)
		default:
		}
		if resp, err := a.http.Get(a.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("hookshot was not ready within %s", limit)
}

func (a *apiClient) createWebhook(target string) error {
	body := fmt.Appendf(nil, `{"url": %q, "events": ["upload"], "auth": {"type": "hmac", "secret": "bench-secret-%s"}}`, target, randomHex(8))
	resp, err := a.do("POST", fmt.Sprintf("/v1/studies/%d/webhooks", study), body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2000))
		return fmt.Errorf("creating a webhook answered %d: %s", resp.StatusCode, msg)
	}
	return nil
}

func (a *apiClient) waitValidated(n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		// The webhooks list is not paged: it holds every webhook of the
		// study, and refuses a limit it does not take.
		resp, err := a.do("GET", fmt.Sprintf("/v1/studies/%d/webhooks", study), nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			return fmt.Errorf("listing the webhooks: %s: %s", resp.Status, b)
		}
		var list struct {
			Items []struct {
				Validation struct {
					Status string `json:"status"`
				} `json:"validation"`
			} `json:"items"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil {
			return err
		}
		passed := 0
		for _, w := range list.Items {
			if w.Validation.Status == "passed" {
				passed++
			}
		}
		if passed >= n {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("the webhooks did not pass validation within %s", limit)
}

func (a *apiClient) publish(p []byte) error {
	return a.postAccepted(fmt.Sprintf("/v1/studies/%d/events", study), appendEvent(nil, p))
}

// publishBatch publishes the events first to last in one batch.
func (a *apiClient) publishBatch(first, last int64) error {
	body := []byte(`{"events": [`)
	for i := first; i <= last; i++ {
		if i > first {
			body = append(body, ',')
		}
		body = appendEvent(body, payload(i))
	}
	body = append(body, "]}"...)
	return a.postAccepted(fmt.Sprintf("/v1/studies/%d/events/batch", study), body)
}

// appendEvent appends an upload event of payload p, as publishing takes it.
func appendEvent(dst, p []byte) []byte {
	return append(append(append(dst, `{"type": "upload", "payload": `...), p...), '}')
}

// postAccepted POSTs body to path and expects 202 Accepted.
func (a *apiClient) postAccepted(path string, body []byte) error {
	resp, err := a.do("POST", path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST %s answered %d", path, resp.StatusCode)
	}
	return nil
}

// succeeded sums hookshot_deliveries_finished_total over the series with
// status="succeeded": deliveries whose success is durably recorded.
func (a *apiClient) succeeded() (int64, error) {
	resp, err := a.http.Get(a.base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var total float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "hookshot_deliveries_finished_total{") || !strings.Contains(line, `status="succeeded"`) {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			v, _ := strconv.ParseFloat(line[i+1:], 64)
			total += v
		}
	}
	return int64(total), sc.Err()
}

// ownSchema makes a fresh schema for the run and answers the database URL
// scoped to it, and a function that drops it.
func ownSchema(ctx context.Context, db string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return "", nil, err
	}
	schema := "hookshot_bench_" + randomHex(6)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		return "", nil, err
	}
	u, err := url.Parse(db)
	if err != nil {
		conn.Close(ctx)
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	}, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
