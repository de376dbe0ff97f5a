package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T, path string) *Repo {
	t.Helper()
	r, err := Open(context.Background(), Source{Path: path}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func hashes(cs []Commit) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Hash)
	}
	return out
}

func TestLogListsTheCommitsTouchingADefinition(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"README.md": "hi\n"})
	f.commit("readme")
	f.write(map[string]string{"environments/shop/berth.yaml": "name: shop\n", "environments/shop/compose.yaml": "services: {}\n"})
	c1 := f.commit("add shop\n\nwith a body")
	f.write(map[string]string{"README.md": "hello\n"})
	f.commit("touch readme")
	f.write(map[string]string{"environments/shop/compose.yaml": "services: {web: {image: nginx}}\n"})
	c3 := f.commit("shop: web")
	f.write(map[string]string{"environments/blog/berth.yaml": "name: blog\n"})
	f.commit("add blog")
	f.git("checkout", "-q", "-b", "feature")
	f.write(map[string]string{"environments/shop/nested/deep/x.env": "A=1\n"})
	c5 := f.commit("shop: nested env")
	f.git("checkout", "-q", "main")
	f.write(map[string]string{"other.txt": "x\n"})
	f.commit("other on main")
	f.git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	merge := f.git("rev-parse", "HEAD")
	f.tick++
	f.git("rm", "-q", "environments/shop/compose.yaml")
	c7 := f.commit("shop: drop compose")

	r := open(t, f.dir)
	got, err := r.Log(context.Background(), "main", "environments/shop", 0)
	if err != nil {
		t.Fatal(err)
	}
	// The merge touches shop against its first parent (main), and so does
	// the feature commit itself.
	want := []string{c7, merge, c5, c3, c1}
	if !reflect.DeepEqual(hashes(got), want) {
		t.Fatalf("log:\n got %v\nwant %v", hashes(got), want)
	}
	if got[4].Message != "add shop" || got[4].Author != "Ada" || got[4].Email != "ada@example.com" || got[4].Short != c1[:7] {
		t.Errorf("commit fields: %+v", got[4])
	}
	if wantTree := f.git("rev-parse", c1+"^{tree}"); got[4].Tree != wantTree {
		t.Errorf("tree %s, want %s", got[4].Tree, wantTree)
	}
	logParallel = false
	serial, err := r.Log(context.Background(), "main", "environments/shop", 0)
	logParallel = true
	if err != nil || !reflect.DeepEqual(serial, got) {
		t.Fatalf("log without the second goroutine: %v %v", hashes(serial), err)
	}
	got, err = r.Log(context.Background(), "", "environments/shop", 2)
	if err != nil || !reflect.DeepEqual(hashes(got), []string{c7, merge}) {
		t.Fatalf("limit 2: %v %v", hashes(got), err)
	}
	got, err = r.Log(context.Background(), "feature", "environments/blog", 0)
	if err != nil || len(got) != 1 || got[0].Message != "add blog" {
		t.Fatalf("blog on feature: %+v %v", got, err)
	}
	if got, err := r.Log(context.Background(), "main", "environments/none", 0); err != nil || len(got) != 0 {
		t.Fatalf("missing definition: %v %v", got, err)
	}
	if _, err := r.Log(context.Background(), "nope", "environments/shop", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing branch: %v", err)
	}
}

func TestResolve(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/a/berth.yaml": "1"})
	first := f.commit("one")
	f.git("tag", "v1")
	f.git("tag", "-a", "-m", "annotated", "v1a")
	f.write(map[string]string{"environments/a/berth.yaml": "2"})
	second := f.commit("two")
	r := open(t, f.dir)
	for _, tc := range []struct{ rev, want string }{
		{first, first}, {first[:8], first}, {"main", second}, {"HEAD", second},
		{"v1", first}, {"v1a", first}, {"HEAD~1", first}, {"main^", first}, {"refs/heads/main", second},
	} {
		c, err := r.Resolve(tc.rev)
		if err != nil || c.Hash != tc.want {
			t.Errorf("Resolve(%q) = %s, %v; want %s", tc.rev, c.Hash, err, tc.want)
		}
	}
	for _, rev := range []string{"nope", "HEAD~5", "0123456789abcdef0123456789abcdef01234567", ""} {
		_, err := r.Resolve(rev)
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), fmt.Sprintf("%q", rev)) {
			t.Errorf("Resolve(%q): %v", rev, err)
		}
	}
	if b, err := r.DefaultBranch(); err != nil || b != "main" {
		t.Errorf("default branch %q %v", b, err)
	}
	if h, err := r.Head(""); err != nil || h.Hash != second {
		t.Errorf("head %v %v", h, err)
	}
}

func TestFindRepo(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/a/berth.yaml": "1", "sub/dir/x": "x"})
	f.commit("one")
	got, err := FindRepo(filepath.Join(f.dir, "sub", "dir"))
	if err != nil || got != f.dir {
		t.Fatalf("FindRepo = %q, %v; want %q", got, err, f.dir)
	}
	g := newFixture(t)
	if _, err := FindRepo(g.dir); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no environments/: %v", err)
	}
	if _, err := FindRepo(t.TempDir()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no repo: %v", err)
	}
}

// archive extracts `git archive rev path` into a new folder and returns
// the folder holding path.
func archive(t *testing.T, f *fixture, rev, path string) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", fmt.Sprintf("git archive %s %s | tar -x -C %s", rev, path, dir))
	cmd.Dir = f.dir
	cmd.Env = gitEnv(0)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git archive: %v\n%s", err, out)
	}
	return filepath.Join(dir, filepath.FromSlash(path))
}

func TestMaterialiseMatchesGitArchive(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{"environments/shop/README": "readme\n"}
	for i := range 40 {
		files[fmt.Sprintf("environments/shop/d%d/sub%d/f%d.txt", i%4, i%3, i)] = strings.Repeat("x", i*37)
	}
	files["environments/shop/empty"] = ""
	files["environments/other/x"] = "not me"
	f.write(files)
	if err := os.Chmod(filepath.Join(f.dir, "environments/shop/d1/sub1/f1.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.symlink("d1/sub1/f1.txt", "environments/shop/run")
	f.symlink("../README", "environments/shop/d2/readme")
	rev := f.commit("shop")

	r := open(t, f.dir)
	c, err := r.Resolve("main")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	t.Cleanup(func() { Remove(root) })
	ws, err := r.Materialise(context.Background(), c, "environments/shop", root)
	if err != nil {
		t.Fatal(err)
	}
	wantTree := f.git("rev-parse", rev+":environments/shop")
	if ws.Tree != wantTree || ws.Dir != filepath.Join(root, wantTree) || ws.Commit != rev {
		t.Fatalf("workspace %+v, tree want %s", ws, wantTree)
	}
	want := snapshot(t, archive(t, f, rev, "environments/shop"))
	got := snapshot(t, ws.Dir)
	if !reflect.DeepEqual(got, want) {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: got %.40q want %.40q", k, got[k], v)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s: extra", k)
			}
		}
	}
	// Read-only, with the executable bit kept.
	for _, tc := range []struct {
		name string
		perm os.FileMode
	}{{"", 0o555}, {"d1", 0o555}, {"README", 0o444}, {"d1/sub1/f1.txt", 0o555}} {
		fi, err := os.Stat(filepath.Join(ws.Dir, tc.name))
		if err != nil || fi.Mode().Perm() != tc.perm {
			t.Errorf("%s: mode %v, want %v (%v)", tc.name, fi.Mode().Perm(), tc.perm, err)
		}
	}
	// Idempotent: the same folder, untouched; nothing left behind.
	before, _ := os.Stat(filepath.Join(ws.Dir, "README"))
	ws2, err := r.Materialise(context.Background(), c, "environments/shop/", root)
	if err != nil || ws2 != ws {
		t.Fatalf("second materialise: %+v %v", ws2, err)
	}
	after, _ := os.Stat(filepath.Join(ws.Dir, "README"))
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Error("second materialise rewrote the workspace")
	}
	if ents := rootEntries(root); len(ents) != 1 {
		t.Errorf("root holds %v, want one workspace", ents)
	}
	// A fresh workspace has no changes.
	if ch, err := r.Changes(context.Background(), c, "environments/shop", ws.Dir); err != nil || len(ch) != 0 {
		t.Errorf("changes on a fresh workspace: %v %v", ch, err)
	}
	// A missing definition and a file in place of one are refused.
	for _, p := range []string{"environments/nope", "environments/other/x", "../x"} {
		if _, err := r.Materialise(context.Background(), c, p, root); err == nil {
			t.Errorf("materialise %s: no error", p)
		}
	}
	if _, err := r.Materialise(context.Background(), c, "environments/nope", root); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "environments/nope") {
		t.Errorf("missing definition: %v", err)
	}
}

func TestMaterialiseRefusesUnsafeSymlinks(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/ok/a/file": "x", "environments/ok/berth.yaml": "x"})
	f.symlink("a/file", "environments/ok/link")
	f.symlink("../berth.yaml", "environments/ok/a/up")
	f.symlink("missing", "environments/ok/dangling")
	f.symlink("../../../etc/passwd", "environments/escape/x")
	f.symlink("../shared", "environments/escape2/x") // inside the repo, outside the workspace
	f.symlink("/etc/passwd", "environments/abs/x")
	f.symlink("..", "environments/chain/sub/d")
	f.symlink("d/..", "environments/chain/sub/x") // lexically inside, really the parent
	f.write(map[string]string{"environments/sub/s/m/.gitkeep": ""})
	f.commit("links")
	r := open(t, f.dir)
	c, _ := r.Resolve("HEAD")
	root := t.TempDir()
	t.Cleanup(func() { Remove(root) })
	if _, err := r.Materialise(context.Background(), c, "environments/ok", root); err != nil {
		t.Fatalf("links inside: %v", err)
	}
	for _, tc := range []struct{ path, file string }{
		{"environments/escape", "x"}, {"environments/escape2", "x"}, {"environments/abs", "x"}, {"environments/chain", "sub/x"},
	} {
		_, err := r.Materialise(context.Background(), c, tc.path, root)
		if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "symlink "+tc.file) {
			t.Errorf("%s: %v", tc.path, err)
		}
	}
	if ents := rootEntries(root); len(ents) != 1 {
		t.Errorf("refused materialisations left %v", ents[1:])
	}
}

func TestMaterialiseRefusesSubmodules(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/s/berth.yaml": "x"})
	f.commit("one")
	head := f.git("rev-parse", "HEAD")
	f.git("update-index", "--add", "--cacheinfo", "160000,"+head+",environments/s/vendor")
	f.git("commit", "-q", "-m", "submodule")
	r := open(t, f.dir)
	c, _ := r.Resolve("HEAD")
	_, err := r.Materialise(context.Background(), c, "environments/s", t.TempDir())
	if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), "vendor is a submodule") {
		t.Fatalf("submodule: %v", err)
	}
}

func TestChangesInACheckout(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{
		"environments/shop/berth.yaml":   "name: shop\n",
		"environments/shop/compose.yaml": "services: {}\n",
		"environments/shop/same.txt":     "same\n",
		"environments/shop/run.sh":       "#!/bin/sh\n",
		"environments/shop/gone.txt":     "bye\n",
	})
	f.symlink("same.txt", "environments/shop/link")
	f.commit("shop")
	r := open(t, f.dir)
	c, _ := r.Resolve("HEAD")
	dir := filepath.Join(f.dir, "environments/shop")
	if ch, err := r.Changes(context.Background(), c, "environments/shop", dir); err != nil || len(ch) != 0 {
		t.Fatalf("clean checkout: %v %v", ch, err)
	}
	f.write(map[string]string{
		"environments/shop/berth.yaml":   "name: shoP\n",          // same size, new content
		"environments/shop/compose.yaml": "services: {web: {}}\n", // new size
		"environments/shop/new/x.env":    "A=1\n",                 // added
	})
	os.Remove(filepath.Join(dir, "gone.txt"))
	os.Chmod(filepath.Join(dir, "run.sh"), 0o755)
	os.Remove(filepath.Join(dir, "link"))
	os.Symlink("berth.yaml", filepath.Join(dir, "link"))
	ch, err := r.Changes(context.Background(), c, "environments/shop", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []FileChange{
		{"berth.yaml", Modified}, {"compose.yaml", Modified}, {"gone.txt", Deleted},
		{"link", Modified}, {"new/x.env", Added}, {"run.sh", ModeChanged},
	}
	if !reflect.DeepEqual(ch, want) {
		t.Fatalf("changes:\n got %v\nwant %v", ch, want)
	}
}

func TestCloneAndFetchFileURL(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/a/berth.yaml": "1"})
	first := f.commit("one")
	f.git("tag", "v1")
	url := "file://" + f.dir
	data := t.TempDir()
	ctx := context.Background()
	r, err := Open(ctx, Source{URL: url}, data)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Dir() != CloneDir(data, url) || r.Local() {
		t.Errorf("clone dir %s", r.Dir())
	}
	if b, err := r.DefaultBranch(); err != nil || b != "main" {
		t.Errorf("default branch %q %v", b, err)
	}
	if h, err := r.Head(""); err != nil || h.Hash != first {
		t.Fatalf("head %v %v", h, err)
	}
	if c, err := r.Resolve("v1"); err != nil || c.Hash != first {
		t.Fatalf("tag %v %v", c, err)
	}
	if changed, err := r.Fetch(ctx); err != nil || changed {
		t.Fatalf("fetch with nothing new: %v %v", changed, err)
	}
	f.write(map[string]string{"environments/a/berth.yaml": "2"})
	second := f.commit("two")
	f.git("branch", "other")
	changed, err := r.Fetch(ctx)
	if err != nil || !changed {
		t.Fatalf("fetch: %v %v", changed, err)
	}
	if h, err := r.Head("main"); err != nil || h.Hash != second {
		t.Fatalf("head after fetch %v %v", h, err)
	}
	if log, err := r.Log(ctx, "other", "environments/a", 0); err != nil || len(log) != 2 {
		t.Fatalf("log of the clone: %v %v", log, err)
	}
	// A rewritten branch and a deleted one are followed.
	f.git("reset", "-q", "--hard", first)
	f.write(map[string]string{"environments/a/berth.yaml": "3"})
	third := f.commit("three, rewritten")
	f.git("branch", "-D", "other")
	if changed, err := r.Fetch(ctx); err != nil || !changed {
		t.Fatalf("fetch after a force push: %v %v", changed, err)
	}
	if h, err := r.Head("main"); err != nil || h.Hash != third {
		t.Fatalf("head after a force push %v %v", h, err)
	}
	if _, err := r.Resolve("other"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted branch still resolves: %v", err)
	}
	second = third
	// A second Open reuses the clone.
	r2, err := Open(ctx, Source{URL: url}, data)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if h, err := r2.Head(""); err != nil || h.Hash != second {
		t.Fatalf("reopened head %v %v", h, err)
	}
	// A branch that does not exist is refused and leaves nothing.
	data2 := t.TempDir()
	if _, err := Open(ctx, Source{URL: url, Branch: "nope"}, data2); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("missing branch: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(data2, "repos")); len(ents) != 0 {
		t.Errorf("failed clone left %d entries", len(ents))
	}
	// A tracked branch other than the default.
	f.git("branch", "side", first)
	r3, err := Open(ctx, Source{URL: url, Branch: "side"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r3.Close()
	if b, err := r3.DefaultBranch(); err != nil || b != "main" {
		t.Errorf("default branch with a tracked branch: %q %v", b, err)
	}
	if h, err := r3.Head(""); err != nil || h.Hash != first {
		t.Errorf("head of the tracked branch: %v %v", h, err)
	}
}

func TestUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	data := t.TempDir()
	_, err := Open(ctx, Source{URL: "file:///nonexistent/repo"}, data)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "/nonexistent/repo") {
		t.Errorf("file URL: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	short, cancel2 := context.WithTimeout(ctx, 3*time.Second)
	defer cancel2()
	start := time.Now()
	_, err = Open(short, Source{URL: fmt.Sprintf("ssh://git@127.0.0.1:%d/defs.git", port)}, data)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("ssh to a closed port: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if ents, _ := os.ReadDir(filepath.Join(data, "repos")); len(ents) != 0 {
		t.Errorf("failed clones left %d entries", len(ents))
	}
	// A token in the URL never shows in an error.
	_, err = Open(ctx, Source{URL: fmt.Sprintf("https://user:s3cret@127.0.0.1:%d/defs.git", port)}, data)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !errors.Is(err, ErrUnreachable) {
		t.Errorf("https with a token: %v", err)
	}
	_, err = Open(ctx, Source{URL: "https://example.invalid/defs.git", Auth: Auth{TokenEnv: "BERTH_TEST_NO_SUCH_VAR"}}, data)
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "BERTH_TEST_NO_SUCH_VAR") {
		t.Errorf("unset token variable: %v", err)
	}
}

func TestCheckLink(t *testing.T) {
	links := map[string]string{"a/up": "..", "a/loop1": "loop2", "a/loop2": "loop1"}
	for _, tc := range []struct {
		name, target string
		ok           bool
	}{
		{"x", "y", true}, {"a/b", "../x", true}, {"a/b", "../../x", false}, {"a/b", "up/x", true},
		{"a/b", "up/../x", false}, {"x", "/etc", false}, {"a/loop1", "loop2", false}, {"x", "a/./../a/up", true},
	} {
		l := map[string]string{tc.name: tc.target}
		for k, v := range links {
			l[k] = v
		}
		err := checkLink(l, tc.name, tc.target)
		if (err == nil) != tc.ok {
			t.Errorf("%s -> %s: %v", tc.name, tc.target, err)
		}
	}
}
