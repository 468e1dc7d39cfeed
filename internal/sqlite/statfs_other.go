//go:build !(linux || darwin || freebsd)

package sqlite

// freeSpace cannot tell here: the store then relies on SQLITE_FULL.
func freeSpace(string) (uint64, bool) { return 0, false }
