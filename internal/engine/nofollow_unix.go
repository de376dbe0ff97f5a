//go:build unix

package engine

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// openNoFollow opens the regular file path for reading, refusing a symlink
// (O_NOFOLLOW): a file swapped for a symlink since fi, its Lstat, is not
// read. gone reports that there is nothing to read any more.
func openNoFollow(path string, _ fs.FileInfo) (f *os.File, gone bool, err error) {
	f, err = os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ELOOP) {
			return nil, true, nil
		}
		return nil, false, err
	}
	return f, false, nil
}
