//go:build !unix

package engine

import (
	"errors"
	"io/fs"
	"os"
)

// openNoFollow opens the regular file path for reading. Without O_NOFOLLOW
// (Windows) it opens, then checks that what it opened is the file fi (its
// Lstat) describes: a file swapped for a symlink since is not read.
// gone reports that there is nothing to read any more.
func openNoFollow(path string, fi fs.FileInfo) (f *os.File, gone bool, err error) {
	f, err = os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, true, nil
		}
		return nil, false, err
	}
	st, err := f.Stat()
	if err != nil || !os.SameFile(fi, st) {
		f.Close()
		return nil, true, nil
	}
	return f, false, nil
}
