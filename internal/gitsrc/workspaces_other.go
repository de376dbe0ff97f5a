//go:build !unix

package gitsrc

import (
	"os"
	"sync"
)

// Where flock(2) does not exist the workspaces' lock holds within this
// process only: a Prune in one process and a Materialise in another are
// kept apart by the last-use stamps alone (the caller keeps recently used ones).
var (
	wsMu        sync.Mutex
	wsShared    = map[string]int{}
	wsExclusive = map[string]bool{}
)

func tryFlock(f *os.File, exclusive bool) (bool, error) {
	wsMu.Lock()
	defer wsMu.Unlock()
	name := f.Name()
	if wsExclusive[name] || (exclusive && wsShared[name] > 0) {
		return false, nil
	}
	if exclusive {
		wsExclusive[name] = true
	} else {
		wsShared[name]++
	}
	return true, nil
}

func unflock(f *os.File) {
	wsMu.Lock()
	defer wsMu.Unlock()
	name := f.Name()
	if wsExclusive[name] {
		delete(wsExclusive, name)
		return
	}
	if wsShared[name]--; wsShared[name] <= 0 {
		delete(wsShared, name)
	}
}
