package gitsrc

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/testenv"
)

// rawEntry is one entry of a tree object written by hand.
type rawEntry struct {
	mode string // "100644", "100755", "120000", "40000"
	name string
	hash string // hex
}

// rawTree writes a tree object holding exactly ents, in the order given,
// as a server that checks nothing could send it: `git mktree` and `git
// add` refuse such names, `git hash-object --literally` does not.
func (f *fixture) rawTree(ents ...rawEntry) string {
	f.t.Helper()
	var b strings.Builder
	for _, e := range ents {
		raw, err := hex.DecodeString(e.hash)
		if err != nil {
			f.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s\x00%s", e.mode, e.name, raw)
	}
	return f.gitIn(b.String(), "hash-object", "-t", "tree", "--literally", "-w", "--stdin")
}

func (f *fixture) blob(content string) string {
	f.t.Helper()
	return f.gitIn(content, "hash-object", "-w", "--stdin")
}

// gitIn runs git with stdin.
func (f *fixture) gitIn(stdin string, args ...string) string {
	f.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = f.dir
	cmd.Env = gitEnv(f.tick)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// hostileCommit commits a tree whose environments/x holds berth.yaml and
// the hostile entry, on branch, and returns the commit.
func (f *fixture) hostileCommit(branch string, bad rawEntry) string {
	f.t.Helper()
	manifest := f.blob("name: x\n")
	def := f.rawTree(rawEntry{"100644", "berth.yaml", manifest}, bad)
	envs := f.rawTree(rawEntry{"40000", "x", def})
	root := f.rawTree(rawEntry{"40000", "environments", envs})
	f.tick++
	c := f.git("commit-tree", root, "-m", "hostile "+branch)
	f.git("update-ref", "refs/heads/"+branch, c)
	return c
}

// hostileCases are tree entries no workspace may hold, each with the
// words its refusal must use.
func hostileCases(f *fixture) []struct {
	name  string
	entry rawEntry
	want  string
} {
	payload := f.blob("#!/bin/sh\necho pwned\n")
	inner := f.rawTree(rawEntry{"100755", "run.sh", payload})
	hooks := f.rawTree(rawEntry{"100755", "post-checkout", payload})
	dotdot := f.rawTree(rawEntry{"100644", "..", payload})
	return []struct {
		name  string
		entry rawEntry
		want  string
	}{
		{"file up three folders", rawEntry{"100755", "../../../PWNED.sh", payload}, `"../../../PWNED.sh": a path separator`},
		{"folder up three folders", rawEntry{"40000", "../../../evildir", inner}, `"../../../evildir": a path separator`},
		{"dot dot", rawEntry{"40000", "..", inner}, `"..": a name that means`},
		{"dot", rawEntry{"100644", ".", payload}, `".": a name that means`},
		{"dot dot below a folder", rawEntry{"40000", "sub", dotdot}, `"sub/..": a name that means`},
		{"empty name", rawEntry{"100644", "", payload}, `malformed tree: empty filename`},
		{"slash", rawEntry{"100644", "a/b", payload}, `"a/b": a path separator`},
		{"backslash", rawEntry{"100644", `..\..\x`, payload}, `a path separator`},
		{".git", rawEntry{"40000", ".git", hooks}, `".git": a name that is, or some file system reads as, .git`},
		{".GIT", rawEntry{"40000", ".GIT", hooks}, `".GIT": a name that is`},
		{".git with a trailing dot", rawEntry{"40000", ".git.", hooks}, `a name that is`},
		{".git with trailing spaces", rawEntry{"40000", ".git  ", hooks}, `a name that is`},
		{"8.3 short name", rawEntry{"40000", "GIT~1", hooks}, `a name that is`},
		{"NTFS stream", rawEntry{"40000", ".git::$INDEX_ALLOCATION", hooks}, `a name that is`},
		{"HFS+ ignorable", rawEntry{"40000", ".g\u200cit", hooks}, `a name that is`},
		{"not UTF-8", rawEntry{"100644", "bad\xff", payload}, `not UTF-8`},
		{"two of one name", rawEntry{"100644", "berth.yaml", payload}, `two entries of the same name`},
	}
}

// pathsUnder lists every path under dir.
func pathsUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkRefused materialises every hostile branch of r into
// base/a/b/workspaces (so that "../../../" from its temporary folder
// lands in base/a) and checks each is refused with its words, writing
// nothing anywhere under base.
func checkRefused(t *testing.T, r *Repo, cases []struct {
	name  string
	entry rawEntry
	want  string
}) {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "a", "b", "workspaces")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Remove(base) })
	before := pathsUnder(t, base)
	for i, tc := range cases {
		c, err := r.Resolve(fmt.Sprintf("hostile%d", i))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		_, err = r.Materialise(context.Background(), c, "environments/x", root)
		if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "environments/x at "+c.Short) {
			t.Errorf("%s: materialise: %v (want ErrUnsafe and %q)", tc.name, err, tc.want)
		}
		// The other readers of a subtree refuse it too.
		if _, err := r.Blobs(context.Background(), c, "environments/x"); !errors.Is(err, ErrUnsafe) {
			t.Errorf("%s: blobs: %v", tc.name, err)
		}
		if _, err := r.Changes(context.Background(), c, "environments/x", t.TempDir()); !errors.Is(err, ErrUnsafe) {
			t.Errorf("%s: changes: %v", tc.name, err)
		}
	}
	after := pathsUnder(t, base)
	// The lock file and the stamps folder may appear; nothing else.
	var extra []string
	for _, p := range after {
		if !slices.Contains(before, p) && p != filepath.Join("a", "b", "workspaces", ".lock") {
			extra = append(extra, p)
		}
	}
	if len(extra) > 0 {
		t.Errorf("refused trees wrote %v", extra)
	}
}

func TestMaterialiseRefusesHostileTreeEntries(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/x/berth.yaml": "name: x\n"})
	f.commit("fine")
	cases := hostileCases(f)
	for i, tc := range cases {
		f.hostileCommit(fmt.Sprintf("hostile%d", i), tc.entry)
	}
	checkRefused(t, open(t, f.dir), cases)
}

// TestCloneRefusesHostileTreeEntries serves the same trees from a real
// Git server (git http-backend): the clone and fetch succeed (the objects
// are valid Git), and no revision of them is ever written to disk.
func TestCloneRefusesHostileTreeEntries(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/x/berth.yaml": "name: x\n"})
	f.commit("fine")
	var cases []struct {
		name  string
		entry rawEntry
		want  string
	}
	for _, tc := range hostileCases(f) {
		// git's own pack-objects refuses to send a tree with an empty
		// name, so no server could serve that one.
		if tc.entry.name != "" {
			f.hostileCommit(fmt.Sprintf("hostile%d", len(cases)), tc.entry)
			cases = append(cases, tc)
		}
	}
	served := t.TempDir()
	bare := filepath.Join(served, "defs.git")
	if out, err := exec.Command("git", "clone", "-q", "--bare", "--no-local", f.dir, bare).CombinedOutput(); err != nil {
		t.Fatalf("git clone --bare: %v\n%s", err, out)
	}
	srv := testenv.GitHTTPServer(t, served, "s3cret")
	ctx := context.Background()
	r, err := Open(ctx, Source{URL: srv.URL + "/defs.git", Auth: Auth{Username: "u", Token: "s3cret"}}, t.TempDir())
	if err != nil {
		t.Fatalf("clone over HTTP: %v", err)
	}
	defer r.Close()
	checkRefused(t, r, cases)
}

func TestRestoreRefusesToLeaveTheWorkspace(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/x/berth.yaml": "name: x\n", "environments/x/conf/app.conf": "a=1\n"})
	f.commit("one")
	r := open(t, f.dir)
	c, _ := r.Resolve("HEAD")
	root := t.TempDir()
	t.Cleanup(func() { Remove(root) })
	ws, err := r.Materialise(context.Background(), c, "environments/x", root)
	if err != nil {
		t.Fatal(err)
	}
	// A container with a read-write bind mount of the workspace swaps a
	// folder for a symlink to a folder of the user's.
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "app.conf"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(ws.Dir, 0o755)
	conf := filepath.Join(ws.Dir, "conf")
	os.Chmod(conf, 0o755)
	if err := os.RemoveAll(conf); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, conf); err != nil {
		t.Fatal(err)
	}
	os.Chmod(ws.Dir, 0o555)
	if _, err := r.Restore(context.Background(), c, "environments/x", ws.Dir); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "app.conf")); string(b) != "mine\n" {
		t.Errorf("restore wrote through the symlink: the user's file holds %q", b)
	}
	if fi, err := os.Lstat(conf); err != nil || !fi.IsDir() {
		t.Fatalf("conf is not a folder again: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(filepath.Join(conf, "app.conf")); string(b) != "a=1\n" {
		t.Errorf("restored app.conf holds %q", b)
	}
}

func TestCheckEntryName(t *testing.T) {
	for _, ok := range []string{"a", "berth.yaml", ".github", ".gitignore", ".gitkeep", "git", "git~", "git~x", "..a", "a..", "...", "é", "x.git", ".gitx"} {
		if why := checkEntryName(ok); why != "" {
			t.Errorf("%q refused: %s", ok, why)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "a\x00b", ".git", ".Git", ".GIT", ".git.", ".git...", ".git ", ".git. .", "git~1", "GIT~12", ".git:x", ".git::$DATA",
		".g\u200cit", "\u200d.git", ".git\ufeff", ".gi\u202et", "\xff"} {
		if why := checkEntryName(bad); why == "" {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPackCacheIsBounded(t *testing.T) {
	c := &packCache{limit: 100}
	c.put("a.pack", make([]byte, 40))
	c.put("b.pack", make([]byte, 40))
	if _, ok := c.get("a.pack"); !ok { // a is now the newer use
		t.Fatal("a.pack not cached")
	}
	c.put("c.pack", make([]byte, 40)) // 120 > 100: b goes
	if _, ok := c.get("b.pack"); ok {
		t.Error("b.pack, the least recently used, was kept")
	}
	for _, n := range []string{"a.pack", "c.pack"} {
		if _, ok := c.get(n); !ok {
			t.Errorf("%s evicted", n)
		}
	}
	if c.bytes != 80 {
		t.Errorf("cached bytes %d, want 80", c.bytes)
	}
	c.put("huge.pack", make([]byte, 101)) // larger than the limit: not cached, nothing evicted
	if _, ok := c.get("huge.pack"); ok || c.bytes != 80 {
		t.Errorf("a file over the limit was cached (bytes %d)", c.bytes)
	}
}
