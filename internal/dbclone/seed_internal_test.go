package dbclone

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
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

// zeros reads n zero bytes without holding them.
type zeros int64

func (z *zeros) Read(p []byte) (int, error) {
	if *z == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), int64(*z))]
	clear(p)
	*z -= zeros(len(p))
	return len(p), nil
}

// zstdFile writes n zero bytes zstd-compressed to p (1 GiB makes a few
// dozen KiB: a compression bomb).
func zstdFile(t *testing.T, p string, n int64, opts ...zstd.EOption) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := zstd.NewWriter(f, append([]zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	z := zeros(n)
	if _, err := io.Copy(w, &z); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestZstdSeedLimit: a zstd seed is unpacked (on this machine, before the
// upload) to at most the limit; a bomb past it fails naming the seed and
// the limit, and leaves no temporary file; a seed needing a window over
// 128 MiB is refused before anything is allocated for it.
func TestZstdSeedLimit(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir := t.TempDir()
	bomb := filepath.Join(dir, "bomb.sql.zst")
	zstdFile(t, bomb, 1<<30)
	if fi, _ := os.Stat(bomb); fi.Size() > 1<<20 {
		t.Fatalf("the bomb is %d bytes", fi.Size())
	}
	_, err := unzstd(bomb, 8<<20, "seed bomb.sql.zst")
	if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "seed bomb.sql.zst unpacks to more than 8 MiB") || !strings.Contains(err.Error(), "BERTH_SEED_LIMIT_GIB") {
		t.Errorf("unpacking the bomb: %v", err)
	}
	// Through the upload: the tar stream fails with the same error.
	upload, errc := tarStream(map[string]fileSource{"seed": {path: bomb, zstd: true, limit: 8 << 20, what: "seed bomb.sql.zst"}})
	if _, err := io.Copy(io.Discard, upload); err == nil {
		t.Error("the upload of the bomb ended without an error")
	}
	if err := <-errc; !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "unpacks to more than 8 MiB") {
		t.Errorf("the upload's error: %v", err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in the temporary folder: %v", left)
	}

	// Exactly the limit is fine, and unpacked whole.
	exact := filepath.Join(dir, "exact.sql.zst")
	zstdFile(t, exact, 8<<20)
	out, err := unzstd(exact, 8<<20, "seed exact.sql.zst")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() != 8<<20 {
		t.Errorf("unpacked %v (%v), want 8 MiB", fi, err)
	}
	os.Remove(out)

	wide := filepath.Join(dir, "wide.sql.zst")
	zstdFile(t, wide, 1<<20, zstd.WithWindowSize(256<<20))
	if _, err := unzstd(wide, 0, "seed wide.sql.zst"); !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "needs a zstd window larger than 128 MiB") {
		t.Errorf("a 256 MiB window: %v", err)
	}
	if _, err := InspectSeed(wide, ""); !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), "needs a zstd window larger than 128 MiB") {
		t.Errorf("inspecting a 256 MiB window seed: %v", err)
	}
}

func TestSizeText(t *testing.T) {
	for n, want := range map[int64]string{16 << 30: "16 GiB", 8 << 20: "8 MiB", 3 << 10: "3 KiB", 1000: "1000 bytes", 1<<30 + 1: "1073741825 bytes"} {
		if got := sizeText(n); got != want {
			t.Errorf("sizeText(%d) = %q, want %q", n, got, want)
		}
	}
}
