//go:build unix

package watch

import (
	"io/fs"
	"syscall"
)

// inode is fi's inode number, 0 when unknown: a file replaced by another of
// the same size and time still shows as changed.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino) // not uint64 on every system
	}
	return 0
}
