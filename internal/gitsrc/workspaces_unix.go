//go:build unix

package gitsrc

import (
	"errors"
	"os"
	"syscall"
)

// tryFlock takes f's flock without waiting; false means another open file
// holds it in a conflicting mode. The kernel releases it when the process
// dies, so a killed process never leaves the workspaces locked.
func tryFlock(f *os.File, exclusive bool) (bool, error) {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		}
		return false, &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
}

func unflock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
