package dbclone

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/berthdev/berth/internal/testenv"
)

func TestInspectSeed(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gz := func(data []byte) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(data)
		w.Close()
		return b.Bytes()
	}
	enc, _ := zstd.NewWriter(nil)
	custom := append([]byte("PGDMP\x01\x0e\x00"), make([]byte, 64)...)
	newer := append([]byte("PGDMP\x01\x0f\x00"), make([]byte, 64)...)
	plain := []byte("--\n-- PostgreSQL database dump\n--\nSELECT 1;\n")
	os.MkdirAll(filepath.Join(dir, "d"), 0o755)
	write("d/toc.dat", custom)
	write("d/3001.dat.gz", gz([]byte("1\tx\n")))
	os.MkdirAll(filepath.Join(dir, "notdump"), 0o755)

	cases := []struct {
		name, path, format, compression, err string
	}{
		{"plain", write("a.sql", plain), FormatPlain, CompressNone, ""},
		{"plain gzip, named oddly", write("a.bin", gz(plain)), FormatPlain, CompressGzip, ""},
		{"custom", write("a.dump", custom), FormatCustom, CompressNone, ""},
		{"custom zstd", write("a.dump.zst", enc.EncodeAll(custom, nil)), FormatCustom, CompressZstd, ""},
		{"directory", filepath.Join(dir, "d"), FormatDirectory, CompressNone, ""},
		{"newer archive", write("new.dump", newer), "", "", "archive version 1.15"},
		{"newer archive gzip", write("new.dump.gz", gz(newer)), "", "", "archive version 1.15"},
		{"empty", write("empty.sql", nil), "", "", "is empty"},
		{"folder without toc.dat", filepath.Join(dir, "notdump"), "", "", "without toc.dat"},
		{"bad gzip", write("bad.gz", []byte{0x1f, 0x8b, 0, 0, 0}), "", "", "gzip"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, err := InspectSeed(c.path, "")
			if c.err != "" {
				if err == nil || !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want ErrSource saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != c.format || info.Compression != c.compression || len(info.SHA256) != 64 {
				t.Errorf("got %+v, want format %q compression %q", info, c.format, c.compression)
			}
		})
	}
}

// TestChecksumSeed: a file's checksum is sha256sum's; a folder's is the
// checksum of what `find . -type f | sort | xargs sha256sum` prints, as
// docs/definitions.md says.
func TestChecksumSeed(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "d", "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "d", "toc.dat"), []byte("toc"), 0o644)
	os.WriteFile(filepath.Join(dir, "d", "3001.dat"), []byte("rows"), 0o644)
	os.WriteFile(filepath.Join(dir, "d", "sub", "x"), []byte("x"), 0o644)
	testenv.Tool(t, "sha256sum")
	cmd := exec.Command("sh", "-c", "(find . -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1")
	cmd.Dir = filepath.Join(dir, "d")
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := ChecksumSeed(filepath.Join(dir, "d"))
	if err != nil || got != strings.TrimSpace(string(want)) {
		t.Errorf("folder checksum %s (%v), sha256sum says %s", got, err, want)
	}
	out, _ := exec.Command("sha256sum", filepath.Join(dir, "d", "toc.dat")).Output()
	if got, _, _ := ChecksumSeed(filepath.Join(dir, "d", "toc.dat")); got != strings.Fields(string(out))[0] {
		t.Errorf("file checksum %s, sha256sum says %s", got, out)
	}
	if _, err := InspectSeed(filepath.Join(dir, "d"), strings.Repeat("0", 64)); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("a wrong checksum: %v", err)
	}
}

func TestRelDataAndEnv(t *testing.T) {
	cases := []struct {
		mount, pgdata, want string
	}{
		{"/var/lib/postgresql/data", "", ""},
		{"/var/lib/postgresql/data", "/var/lib/postgresql/data", ""},
		{"/var/lib/postgresql/data", "/var/lib/postgresql/data/pgdata", "pgdata"},
		{"/var/lib/postgresql", "/var/lib/postgresql/data", "data"},
		{"/srv", "/elsewhere", ""},
	}
	for _, c := range cases {
		if got := relData(Target{MountDir: c.mount, PGData: c.pgdata}); got != c.want {
			t.Errorf("relData(%s, %s) = %q, want %q", c.mount, c.pgdata, got, c.want)
		}
	}
	env := strings.Join(pgEnv(Target{User: "app", Password: "secret"}), " ")
	if strings.Contains(env, "secret") || !strings.Contains(env, "PG_DB=app") || !strings.Contains(env, "PG_AUTH=scram-sha-256") {
		t.Errorf("pgEnv: %s", env)
	}
	if got := scrub("connect postgres://u:pw-123@h/db failed", "postgres://u:pw-123@h/db", "pw-123"); strings.Contains(got, "pw-123") {
		t.Errorf("scrub left the secret: %s", got)
	}
}
