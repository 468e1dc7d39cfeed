package main

import (
	"runtime/debug"
	"testing"
)

// serve's collector defaults apply unless the operator set GOGC or
// GOMEMLIMIT, which the runtime has already applied and which win.
func TestTuneGC(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
	for _, c := range []struct {
		name        string
		env         map[string]string
		wantPercent int
		wantLimit   int64
	}{
		{"neither set", nil, defaultGCPercent, defaultMemoryLimit},
		{"GOGC set", map[string]string{"GOGC": "50"}, 50, defaultMemoryLimit},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, defaultGCPercent, 1 << 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			// As the runtime would have set them from the environment.
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(1 << 62)
			if c.env["GOGC"] != "" {
				debug.SetGCPercent(50)
			}
			if c.env["GOMEMLIMIT"] != "" {
				debug.SetMemoryLimit(1 << 30)
			}
			tuneGC(func(name string) string { return c.env[name] })
			if got := debug.SetGCPercent(-1); got != c.wantPercent {
				t.Errorf("GC percent %d, want %d", got, c.wantPercent)
			}
			debug.SetGCPercent(100)
			if got := debug.SetMemoryLimit(-1); got != c.wantLimit {
				t.Errorf("memory limit %d, want %d", got, c.wantLimit)
			}
		})
	}
}
