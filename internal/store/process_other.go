//go:build !unix

package store

import "os"

// pidAlive reports whether a process with this pid exists.
func pidAlive(pid int) bool {
	p, err := os.FindProcess(pid) // opens a handle on Windows: fails when gone
	if err != nil {
		return false
	}
	p.Release()
	return true
}
