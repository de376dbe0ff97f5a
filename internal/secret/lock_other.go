//go:build !unix

package secret

import "sync"

// fileMu stands in for flock(2) where it does not exist: writers of this
// process are serialised; another process's write may be lost (said in
// docs/secrets.md).
var fileMu sync.Mutex

func lockFile(string) (func(), error) {
	fileMu.Lock()
	return fileMu.Unlock, nil
}
