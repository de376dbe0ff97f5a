package gitsrc

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitIn runs git with the fixture's environment in dir.
func gitIn(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(0)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestNotesAppendAndPush(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/web/berth.yaml": "1"})
	a := f.commit("a")
	f.write(map[string]string{"environments/web/berth.yaml": "2"})
	b := f.commit("b")
	f.write(map[string]string{"README": "x"})
	c := f.commit("c")
	bare := filepath.Join(t.TempDir(), "remote.git")
	f.git("clone", "-q", "--bare", f.dir, bare)
	f.git("remote", "add", "origin", bare)
	// A note a person wrote with git, and one fanned out (<2>/<38>) the
	// way git stores many notes: both are kept and appended to.
	f.git("notes", "--ref=berth", "add", "-m", "written by hand", a)
	fanned := strings.TrimSpace(string(mustRun(t, f.dir, "sh", "-c", `printf 'fanned out\n' | git hash-object -w --stdin`)))
	notesTree := f.git("rev-parse", "refs/notes/berth^{tree}")
	top := f.git("ls-tree", notesTree)
	sub := strings.TrimSpace(string(mustRun(t, f.dir, "sh", "-c", "printf '100644 blob "+fanned+"\\t"+c[2:]+"\\n' | git mktree")))
	root := strings.TrimSpace(string(mustRun(t, f.dir, "sh", "-c", "printf '%s\\n040000 tree "+sub+"\\t"+c[:2]+"\\n' '"+top+"' | git mktree")))
	parent := f.git("rev-parse", "refs/notes/berth")
	nc := f.git("commit-tree", root, "-p", parent, "-m", "fan out")
	f.git("update-ref", "refs/notes/berth", nc)
	if got := f.git("notes", "--ref=berth", "show", c); got != "fanned out" {
		t.Fatalf("the hand-made fan-out note: %q", got)
	}

	r, err := Open(context.Background(), Source{Path: f.dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sig := Signature{Name: "Ada", Email: "ada@example.com", When: time.Unix(1700000000, 0)}
	for _, n := range []struct{ commit, line string }{
		{a, `{"kind":"deploy","id":1}`}, {b, `{"kind":"deploy","id":2}`}, {a, `{"kind":"rollback","id":3}`}, {c, `{"kind":"up","id":4}`},
	} {
		if err := r.AddNote(n.commit, n.line, sig); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{
		a: "written by hand\n{\"kind\":\"deploy\",\"id\":1}\n{\"kind\":\"rollback\",\"id\":3}",
		b: `{"kind":"deploy","id":2}`,
		c: "fanned out\n{\"kind\":\"up\",\"id\":4}",
	}
	for h, w := range want {
		if got := f.git("notes", "--ref=berth", "show", h); got != w {
			t.Errorf("git notes show %s:\n%s\nwant\n%s", h[:7], got, w)
		}
		if got, err := r.Note(h); err != nil || strings.TrimSpace(got) != w {
			t.Errorf("Note(%s) = %q, %v", h[:7], got, err)
		}
	}
	if log := f.git("log", "-1", "--format=%an %s", "refs/notes/berth"); log != "Ada Notes added by 'berth'" {
		t.Errorf("notes commit: %q", log)
	}
	if fsck, err := gitIn(t, f.dir, "fsck", "--no-progress"); err != nil {
		t.Fatalf("git fsck: %v\n%s", err, fsck)
	}

	// Nothing reaches the remote until asked.
	if out, err := gitIn(t, bare, "rev-parse", "--verify", "-q", "refs/notes/berth"); err == nil {
		t.Fatalf("notes on the remote before a push: %s", out)
	}
	if err := r.PushNotes(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := gitIn(t, bare, "rev-parse", "refs/notes/berth"); got != f.git("rev-parse", "refs/notes/berth") {
		t.Fatalf("remote notes at %q after the push", got)
	}
	if got, _ := gitIn(t, bare, "notes", "--ref=berth", "show", b); got != want[b] {
		t.Fatalf("remote note on b: %q", got)
	}
	if err := r.PushNotes(context.Background(), "nowhere"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("push to a remote that does not exist: %v", err)
	}

	// Someone else's notes on the remote: refused, saying how to merge.
	other := t.TempDir()
	if out, err := gitIn(t, other, "clone", "-q", bare, "."); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	gitIn(t, other, "fetch", "-q", "origin", "refs/notes/berth:refs/notes/berth")
	if out, err := gitIn(t, other, "notes", "--ref=berth", "append", "-m", "theirs", b); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if out, err := gitIn(t, other, "push", "-q", "origin", "refs/notes/berth"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if err := r.AddNote(b, `{"kind":"deploy","id":5}`, sig); err != nil {
		t.Fatal(err)
	}
	if err := r.PushNotes(context.Background(), "origin"); err == nil || !strings.Contains(err.Error(), "git notes --ref=berth merge") {
		t.Fatalf("push over someone else's notes: %v", err)
	}
}

func TestNotesInClone(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/web/berth.yaml": "1"})
	a := f.commit("a")
	bare := filepath.Join(t.TempDir(), "remote.git")
	f.git("clone", "-q", "--bare", f.dir, bare)
	r, err := Open(context.Background(), Source{URL: "file://" + bare}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.NotesWanted() {
		t.Fatal("notes wanted without berth.notes in the config")
	}
	if err := r.AddNote(a, "one", Signature{Name: "Ada"}); err != nil {
		t.Fatal(err)
	}
	// A fetch keeps the notes (it prunes branches and tags only).
	if _, err := r.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.PushNotes(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if got, err := gitIn(t, bare, "notes", "--ref=berth", "show", a); err != nil || got != "one" {
		t.Fatalf("remote note: %q %v", got, err)
	}
	gitIn(t, r.Dir(), "config", "berth.notes", "true")
	r2, err := Open(context.Background(), Source{Path: r.Dir()}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if !r2.NotesWanted() {
		t.Fatal("berth.notes=true not seen")
	}
}

func mustRun(t *testing.T, dir string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(0)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}
