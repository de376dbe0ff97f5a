//go:build unix

package envlock

import (
	"errors"
	"os"
	"syscall"
)

// tryLock opens path and takes an exclusive flock on it without waiting,
// then writes h into it. errLocked means another open file holds it.
func tryLock(path string, h Holder) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	if err := writeHolder(f, h); err != nil {
		f.Close() // closing releases the flock
		return nil, err
	}
	return f, nil
}

// unlock empties the file (it no longer names a holder) and releases it.
func unlock(path string, f *os.File) error {
	terr := f.Truncate(0)
	uerr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	cerr := f.Close()
	return errors.Join(terr, uerr, cerr)
}
