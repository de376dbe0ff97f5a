//go:build !unix

package watch

import "io/fs"

// inode is 0 where a FileInfo carries no inode number (Windows): a
// polled file replaced by another of the same size and time is missed.
func inode(fs.FileInfo) uint64 { return 0 }
