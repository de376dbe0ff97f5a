package dbclone

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRememberedSeedSums: a look-up reads a seed file once per version
// (size and modification time) and again when it changes; the check
// before a load reads every byte whatever was remembered.
func TestRememberedSeedSums(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "seed.sql")
	write := func(content string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	write("SELECT 1;\n", t0)
	full := func() string {
		t.Helper()
		info, err := InspectSeed(p, "")
		if err != nil {
			t.Fatal(err)
		}
		return info.SHA256
	}
	look := func() string {
		t.Helper()
		info, err := inspectSeed(p, "", true)
		if err != nil {
			t.Fatal(err)
		}
		return info.SHA256
	}
	first := full()
	if got := look(); got != first {
		t.Fatalf("look-up %s, full read %s", got, first)
	}
	// An edit (a new modification time): read again.
	write("SELECT 2;\n", t0.Add(time.Second))
	second := full()
	if second == first || look() != second {
		t.Fatalf("after an edit: look-up %s, full read %s (before %s)", look(), second, first)
	}
	// The same size and modification time forged back: a look-up keeps what
	// it read for that version; the check before a load does not.
	write("SELECT 3;\n", t0.Add(time.Second))
	if look() != second {
		t.Error("a look-up read a file whose size and modification time did not change")
	}
	if full() == second {
		t.Error("the full read used a remembered checksum")
	}
	// A directory-format seed: per file.
	d := filepath.Join(dir, "d")
	os.Mkdir(d, 0o755)
	os.WriteFile(filepath.Join(d, "toc.dat"), []byte("toc"), 0o644)
	a, _, err := checksumSeed(d, true)
	b, _, err2 := ChecksumSeed(d)
	if err != nil || err2 != nil || a != b {
		t.Errorf("folder: look-up %s (%v), full %s (%v)", a, err, b, err2)
	}
}
