package dbclone_test

import (
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/testenv"
)

// bombSQL writes "-- bomb" and 1 GiB of "SELECT 1;" lines into w.
func bombSQL(t *testing.T, w io.Writer) {
	t.Helper()
	chunk := strings.Repeat("SELECT 1;\n", 6554)
	if _, err := io.WriteString(w, "-- bomb\n"); err != nil {
		t.Fatal(err)
	}
	for range (1 << 30) / len(chunk) {
		if _, err := io.WriteString(w, chunk); err != nil {
			t.Fatal(err)
		}
	}
}

// writeCompressed writes p through the compressor wrap makes.
func writeCompressed(t *testing.T, p string, wrap func(io.Writer) (io.WriteCloser, error), fill func(io.Writer)) {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := wrap(f)
	if err != nil {
		t.Fatal(err)
	}
	fill(w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func gzipWriter(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriter(w), nil }

func zstdWriter(w io.Writer) (io.WriteCloser, error) {
	return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
}

// TestSeedBombs: compressed seeds that unpack past the limit (8 MiB here)
// fail with ErrSource naming the seed and the limit, and leave no golden
// copy and no helper behind: a 2 MB gzip of 1 GiB of SQL, which the
// helper unpacks and stops at the limit (PostgreSQL and MariaDB share the
// step), and a zstd one, unpacked on this machine before the upload. A
// gzip seed under the limit still loads.
func TestSeedBombs(t *testing.T) {
	f := newFixture(t)
	testenv.Image(t, myImage)
	dir := t.TempDir()
	gzBomb := filepath.Join(dir, "bomb.sql.gz")
	writeCompressed(t, gzBomb, gzipWriter, func(w io.Writer) { bombSQL(t, w) })
	zstBomb := filepath.Join(dir, "bomb.sql.zst")
	writeCompressed(t, zstBomb, zstdWriter, func(w io.Writer) { bombSQL(t, w) })
	for _, p := range []string{gzBomb, zstBomb} {
		if fi, err := os.Stat(p); err != nil || fi.Size() > 4<<20 {
			t.Fatalf("%s: %v, %d bytes: not a bomb", p, err, fi.Size())
		}
	}
	c := dbclone.New(f.port)
	c.SeedLimit = 8 << 20

	helpers := func() string {
		return f.docker("ps", "-aq", "--filter", "label=dev.berth.helper=true", "--filter", "label="+dbclone.LabelEnv+"="+f.prefix)
	}
	for _, tc := range []struct {
		name, seed string
		target     dbclone.Target
	}{
		{"gzip-postgres", gzBomb, f.target("", "")},
		{"gzip-mariadb", gzBomb, f.myTarget("", "")},
		{"zstd-postgres", zstBomb, f.target("", "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := f.port.Volumes(f.ctx, map[string]string{dbclone.LabelRole: ""})
			name := "seed db/" + filepath.Base(tc.seed)
			v, _, err := c.Golden(f.ctx, dbclone.Source{Kind: "seed", Seed: tc.seed, Name: name}, tc.target, nil)
			if err == nil {
				f.sub(t).goldenCleanup(v.Name)
				t.Fatal("the bomb loaded")
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, dbclone.ErrSource) || !strings.Contains(err.Error(), name+" unpacks to more than 8 MiB") {
				t.Errorf("error %q: want ErrSource naming the seed and the limit", err)
			}
			after, _ := f.port.Volumes(f.ctx, map[string]string{dbclone.LabelRole: ""})
			if left := f.leftBehind(before, after, tc.seed); len(left) > 0 {
				t.Errorf("volumes left behind: %v", left)
			}
			if h := helpers(); h != "" {
				t.Errorf("helpers left: %s", h)
			}
		})
	}

	small := filepath.Join(dir, "small.sql.gz")
	writeCompressed(t, small, gzipWriter, func(w io.Writer) {
		io.WriteString(w, "CREATE TABLE t (v int);\nINSERT INTO t SELECT generate_series(1, 1000);\n")
	})
	v, loaded, err := c.Golden(f.ctx, dbclone.Source{Kind: "seed", Seed: small, Name: "seed db/small.sql.gz"}, f.target("", ""), nil)
	if err != nil {
		t.Fatalf("a small gzip seed under the limit: %v", err)
	}
	f.goldenCleanup(v.Name)
	if !loaded {
		t.Error("the small seed's golden copy was not loaded now")
	}
}
