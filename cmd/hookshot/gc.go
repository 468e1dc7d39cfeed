package main

import (
	"runtime/debug"
)

// Hookshot's live heap is small (a few MB: the attempts in flight and the
// caches), and with Go's default GOGC of 100 the collector ran several
// times a second under load, 6–8 % of serve's CPU. Letting the heap grow
// to five times what is live before collecting cuts that by two thirds;
// the soft limit keeps the growth from running away should the live heap
// ever be large: near the limit the collector works harder instead.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 256 << 20
)

// tuneGC applies serve's collector defaults, each unless the operator set
// its variable: the runtime read GOGC and GOMEMLIMIT when the process
// started, and an operator's choice wins.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
