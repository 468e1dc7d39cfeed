package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
)

// result holds the figures of one benchmark invocation.
type result struct {
	options

	rawRequests      int64
	rawRate          float64
	rawCPUPerRequest float64 // seconds, the bare client and the receiver together

	databaseKind     string
	deliveries       int64
	deliveryRate     float64
	publishRate      float64
	publishLatency   []float64 // ms, sorted
	receiptLatency   []float64 // ms, sorted
	cpuPerDelivery   float64   // seconds, Hookshot's own
	pgCPUPerDelivery float64   // seconds, every postgres process
	peakRSS          int64
	// bytes Hookshot's process wrote to storage (not PostgreSQL's)
	writtenPerDelivery float64
	lost, duplicates   int64
	// the share of the machine's CPU time taken by other guests of the
	// hypervisor during the raw and the Hookshot run; -1 when unknown
	rawSteal, runSteal float64
}

func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "machine:   %d CPUs, %s\n", runtime.NumCPU(), cpuModel())
	if r.rawRequests > 0 {
		fmt.Fprintf(w, "raw:       %.0f requests/s (bare Go HTTPS client, %d concurrent, %s), %.0f µs CPU per request (client and receiver)\n",
			r.rawRate, r.rawWorkers, r.raw, r.rawCPUPerRequest*1e6)
	}
	load := fmt.Sprintf("%d publishers as fast as they go", r.publishers)
	if r.rate > 0 {
		load = fmt.Sprintf("paced at %d deliveries/s", r.rate)
	}
	fmt.Fprintf(w, "hookshot:  %.0f deliveries/s on %s (%d events × %d webhooks, %s)\n", r.deliveryRate, r.databaseKind, r.events, r.webhooks, load)
	if r.rawRate > 0 {
		fmt.Fprintf(w, "ratio:     %.2f of the raw rate\n", r.deliveryRate/r.rawRate)
	}
	fmt.Fprintf(w, "cpu:       %.0f µs of Hookshot CPU per delivery", r.cpuPerDelivery*1e6)
	if r.databaseKind == "PostgreSQL" {
		fmt.Fprintf(w, ", %.0f µs of PostgreSQL CPU, %.0f µs together", r.pgCPUPerDelivery*1e6, (r.cpuPerDelivery+r.pgCPUPerDelivery)*1e6)
	}
	fmt.Fprintln(w)
	if r.batch > 1 {
		fmt.Fprintf(w, "publish:   %.0f events/s in batches of %d; a batch answered in p50 %s, p99 %s\n", r.publishRate, r.batch, ms(r.publishLatency, 0.50), ms(r.publishLatency, 0.99))
	} else {
		fmt.Fprintf(w, "publish:   %.0f events/s; answered in p50 %s, p99 %s\n", r.publishRate, ms(r.publishLatency, 0.50), ms(r.publishLatency, 0.99))
	}
	fmt.Fprintf(w, "receipt:   publish sent → receiver got it: p50 %s, p99 %s, max %s\n", ms(r.receiptLatency, 0.50), ms(r.receiptLatency, 0.99), ms(r.receiptLatency, 1))
	fmt.Fprintf(w, "disk:      %.0f bytes written by Hookshot per delivery\n", r.writtenPerDelivery)
	fmt.Fprintf(w, "memory:    peak RSS %.1f MB\n", float64(r.peakRSS)/(1<<20))
	fmt.Fprintf(w, "integrity: %d deliveries, %d lost, %d duplicates\n", r.deliveries, r.lost, r.duplicates)
	if r.runSteal >= 0 {
		fmt.Fprintf(w, "steal:     %s of the machine's CPU time went to other guests of its host during the Hookshot run", percent(r.runSteal))
		if r.rawRequests > 0 && r.rawSteal >= 0 {
			fmt.Fprintf(w, ", %s during the raw run", percent(r.rawSteal))
		}
		fmt.Fprintln(w, "; above a few per cent the figures are the host's more than Hookshot's")
	}
}

func percent(share float64) string { return fmt.Sprintf("%.1f %%", share*100) }

func ms(sorted []float64, q float64) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := int(q * float64(len(sorted)-1))
	return fmt.Sprintf("%.2f ms", sorted[i])
}

func sortFloats(v []float64) { sort.Float64s(v) }

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}
