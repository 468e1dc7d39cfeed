//go:build !unix

package sqlite_test

import "time"

// processCPU is not measured here: the benchmark's CPU figures read 0.
func processCPU() time.Duration { return 0 }
