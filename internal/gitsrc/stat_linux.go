package gitsrc

import (
	"io/fs"
	"syscall"
	"time"
)

// statKey is what identifies a file's content for hashCache.
func statKey(fi fs.FileInfo) (hashEntry, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return hashEntry{}, false
	}
	return hashEntry{size: fi.Size(), mtime: fi.ModTime().UnixNano(), ctime: time.Unix(st.Ctim.Unix()).UnixNano(), ino: st.Ino}, true
}
