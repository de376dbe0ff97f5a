//go:build !unix

package envlock

import (
	"errors"
	"os"
	"time"
)

// tryLock is the fallback where flock(2) does not exist: the lock is the
// file's existence (O_EXCL). A file left by a dead process on this host, or
// one that never got a holder written, is stale and removed.
func tryLock(path string, h Holder) (*os.File, error) {
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			if err := writeHolder(f, h); err != nil {
				f.Close()
				os.Remove(path)
				return nil, err
			}
			return f, nil
		}
		if !errors.Is(err, os.ErrExist) || attempt > 0 || !stale(path, h.Host) {
			if errors.Is(err, os.ErrExist) {
				return nil, errLocked
			}
			return nil, err
		}
		os.Remove(path)
	}
}

func stale(path, host string) bool {
	held := readHolder(path)
	if held == nil {
		fi, err := os.Stat(path)
		return err == nil && time.Since(fi.ModTime()) > time.Minute
	}
	if held.Host != host {
		return false
	}
	p, err := os.FindProcess(held.PID) // fails on Windows when the process is gone
	if err != nil {
		return true
	}
	p.Release()
	return false
}

func unlock(path string, f *os.File) error {
	cerr := f.Close()
	return errors.Join(cerr, os.Remove(path))
}
