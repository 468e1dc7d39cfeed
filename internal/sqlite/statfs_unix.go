//go:build linux || darwin || freebsd

package sqlite

import "syscall"

// freeSpace returns the bytes that an unprivileged process may still
// write on the file system holding dir, and false when it cannot tell.
func freeSpace(dir string) (uint64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return uint64(st.Bavail) * uint64(st.Bsize), true //nolint:unconvert // the field types differ between systems
}
