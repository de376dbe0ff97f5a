package gitsrc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

func TestBlobsMatchGit(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/shop/berth.yaml": "name: shop\n", "environments/shop/conf/a.conf": "a=1\n"})
	c := f.commit("shop")
	r, err := Open(context.Background(), Source{Path: f.dir}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Blobs(context.Background(), mustResolve(t, r, c), "environments/shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"berth.yaml", "conf/a.conf"} {
		want := f.git("rev-parse", c+":environments/shop/"+p)
		if got[p] != want {
			t.Errorf("%s: %s, git says %s", p, got[p], want)
		}
		data, _ := os.ReadFile(filepath.Join(f.dir, "environments/shop", p))
		if BlobHash(data) != want {
			t.Errorf("%s: the file's blob hash %s, git says %s", p, BlobHash(data), want)
		}
	}
}

func TestRestoreInPlace(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/shop/berth.yaml": "name: shop\n", "environments/shop/conf/a.conf": "a=1\n", "environments/shop/seed.sql": "select 1;\n"})
	c := f.commit("shop")
	ctx := context.Background()
	r, err := Open(ctx, Source{Path: f.dir}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rev := mustResolve(t, r, c)
	ws, err := r.Materialise(ctx, rev, "environments/shop", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(ws.Dir, "conf", "a.conf")
	before, _ := os.Stat(conf)
	os.Chmod(conf, 0o644)
	os.WriteFile(conf, []byte("a=2\n"), 0o644)
	os.Chmod(filepath.Join(ws.Dir), 0o755)
	os.Remove(filepath.Join(ws.Dir, "seed.sql"))
	os.WriteFile(filepath.Join(ws.Dir, "extra.txt"), []byte("x"), 0o644)
	os.Chmod(filepath.Join(ws.Dir), 0o555)
	changes, err := r.Restore(ctx, rev, "environments/shop", ws.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(changes); got != "[{conf/a.conf modified} {extra.txt added} {seed.sql deleted}]" {
		t.Fatalf("restored %s", got)
	}
	if left, err := r.Changes(ctx, rev, "environments/shop", ws.Dir); err != nil || len(left) != 0 {
		t.Fatalf("after restore: %v %v", left, err)
	}
	after, _ := os.Stat(conf)
	if !os.SameFile(before, after) {
		t.Fatal("the edited file was replaced, not rewritten in place")
	}
	if after.Mode().Perm() != 0o444 {
		t.Fatalf("restored file mode %v", after.Mode())
	}
}

func TestBehindAndCommitFiles(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/shop/compose.yaml": "v1\n", "environments/other/x": "1\n"})
	c1 := f.commit("shop v1")
	f.write(map[string]string{"environments/other/x": "2\n"})
	f.commit("other only")
	f.write(map[string]string{"environments/shop/compose.yaml": "v2\n"})
	f.commit("shop v2")
	f.write(map[string]string{"environments/shop/compose.yaml": "v3\n"})
	c4 := f.commit("shop v3")
	ctx := context.Background()
	r, err := Open(ctx, Source{Path: f.dir}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n, head, err := r.Behind(ctx, mustResolve(t, r, c1), "", "environments/shop")
	if err != nil || n != 2 || head.Hash != c4 {
		t.Fatalf("behind %d head %s: %v", n, head.Short, err)
	}
	if n, _, _ := r.Behind(ctx, mustResolve(t, r, c4), "", "environments/shop"); n != 0 {
		t.Fatalf("at head: behind %d", n)
	}

	when := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	made, err := r.CommitFiles(ctx, mustResolve(t, r, c1), "berth/adopt-shop", map[string][]byte{
		"environments/shop/compose.yaml":  []byte("adopted\n"),
		"environments/shop/conf/new.conf": []byte("n=1\n"),
		"environments/other/x":            nil,
	}, Signature{Name: "Grace", Email: "grace@example.com", When: when}, "adopt drift of shop")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.git("log", "-1", "--format=%an <%ae> %s %P", "berth/adopt-shop"); got != "Grace <grace@example.com> adopt drift of shop "+c1 {
		t.Fatalf("commit: %s", got)
	}
	if got := f.git("show", made.Hash+":environments/shop/compose.yaml"); got != "adopted" {
		t.Fatalf("compose.yaml: %q", got)
	}
	if got := f.git("show", made.Hash+":environments/shop/conf/new.conf"); got != "n=1" {
		t.Fatalf("new.conf: %q", got)
	}
	if got := f.git("ls-tree", "-r", "--name-only", made.Hash); strings.Contains(got, "environments/other") {
		t.Fatalf("environments/other was not deleted: %s", got)
	}
	f.git("fsck", "--strict")
	if got := f.git("rev-parse", "HEAD"); got != c4 {
		t.Fatalf("HEAD moved to %s", got)
	}
	if _, err := r.CommitFiles(ctx, mustResolve(t, r, c1), "berth/adopt-shop", map[string][]byte{"a": []byte("b")}, Signature{Name: "G"}, "again"); err == nil {
		t.Fatal("an existing branch was overwritten")
	}
}

func mustResolve(t *testing.T, r *Repo, rev string) Commit {
	t.Helper()
	c, err := r.Resolve(rev)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestChangesKeepsHashes: an unchanged workspace is not read again; a file
// rewritten with the same size and its modification time put back is
// still found (its change time moved); a file written in the instant it
// was hashed is read again (racily clean).
func TestChangesKeepsHashes(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/shop/berth.yaml": "name: shop\n", "environments/shop/conf/a.conf": "a=1\n"})
	c := f.commit("shop")
	ctx := context.Background()
	r, err := Open(ctx, Source{Path: f.dir}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rev := mustResolve(t, r, c)
	// Just written files are racily clean, read every time. The window is
	// made wide, before anything hashes them, so that a slow machine
	// cannot age the files out of it between materialising and reading.
	oldRead, oldWindow := readHash, racyWindow
	t.Cleanup(func() { readHash, racyWindow = oldRead, oldWindow })
	racyWindow = time.Hour
	ws, err := r.Materialise(ctx, rev, "environments/shop", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Changes hashes files on two goroutines: the list of reads is
	// guarded, or two reads at once could lose one.
	var mu sync.Mutex
	var reads []string
	readHash = func(name string, size int64) (plumbing.Hash, error) {
		rel, _ := filepath.Rel(ws.Dir, name)
		mu.Lock()
		reads = append(reads, filepath.ToSlash(rel))
		mu.Unlock()
		return fileHash(name, size)
	}
	changes := func() string {
		t.Helper()
		reads = nil
		cs, err := r.Changes(ctx, rev, "environments/shop", ws.Dir)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(cs)
	}

	if got := changes(); got != "[]" || len(reads) != 2 {
		t.Fatalf("first: %s, read %v", got, reads)
	}
	if got := changes(); got != "[]" || len(reads) != 2 {
		t.Fatalf("racily clean files were not read again: %s, read %v", got, reads)
	}

	racyWindow = 0 // as if the files were written long before
	changes()
	if got := changes(); got != "[]" || len(reads) != 0 {
		t.Fatalf("unchanged: %s, read %v; want nothing read", got, reads)
	}
	conf := filepath.Join(ws.Dir, "conf", "a.conf")
	before, err := os.Stat(conf)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(conf), 0o755)
	os.Chmod(conf, 0o644)
	if err := os.WriteFile(conf, []byte("a=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(conf, before.Mode().Perm())
	if err := os.Chtimes(conf, before.ModTime(), before.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := changes(); got != "[{conf/a.conf modified}]" || strings.Join(reads, ",") != "conf/a.conf" {
		t.Fatalf("same size, same mtime, new content: %s, read %v", got, reads)
	}
}
