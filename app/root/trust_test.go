package root

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDigestKey: the key of the state folder is made once (mode 0600) and
// read back by every later process.
func TestDigestKey(t *testing.T) {
	dir := t.TempDir()
	a := digestKey(dir)
	b := digestKey(dir)
	if len(a) != 32 || string(a) != string(b) {
		t.Fatalf("keys %x and %x: want one 32-byte key", a, b)
	}
	fi, err := os.Stat(filepath.Join(dir, "digest.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("digest.key: %v %v, want mode 0600", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("state folder holds %v, want digest.key alone", entries)
	}
}
