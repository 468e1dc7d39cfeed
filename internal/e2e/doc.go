// Package e2e holds the end-to-end tests: they build the real hookshot
// binary, run it on port 0 against a real SQLite file or PostgreSQL schema,
// and deliver to real HTTPS receivers on the loopback address.
package e2e
