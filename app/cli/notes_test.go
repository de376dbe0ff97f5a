package cli

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/testenv"
)

// TestNotesOfDeploysArePushedOnlyWhenAsked: with notes off nothing is
// written; with berth.notes=true in the repo's config each deploy and
// rollback appends a JSON line to the note on its revision (read back with
// the git CLI), and the notes reach the remote only with berth notes push.
func TestNotesOfDeploysArePushedOnlyWhenAsked(t *testing.T) {
	testenv.Image(t, probe)
	env := uniqueName("notes")
	t.Cleanup(func() { removeLabelled(env) })
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	t.Setenv("BERTH_NOTES", "")
	t.Setenv("GIT_AUTHOR_NAME", "Ada")
	t.Setenv("GIT_AUTHOR_EMAIL", "ada@example.com")

	repo := newDefRepo(t)
	manifest := "name: probe\ncompose: [compose.yaml]\nhealth:\n  timeout: 30s\n"
	c1 := repo.commit("web v1", map[string]string{"berth.yaml": manifest, "compose.yaml": probeCompose("1", healthy)})
	bare := filepath.Join(t.TempDir(), "remote.git")
	repo.git("clone", "-q", "--bare", repo.dir, bare)
	repo.git("remote", "add", "origin", bare)
	base := []string{"--repo", repo.dir}
	hasNotes := func(dir string) bool {
		return exec.Command("git", "-C", dir, "rev-parse", "--verify", "-q", "refs/notes/berth").Run() == nil
	}

	if code, _, _ := berth(t, append(base, "deploy", "probe", c1, "--as", env, "--yes")...); code != ExitOK {
		t.Fatalf("deploy c1: exit %d", code)
	}
	if hasNotes(repo.dir) {
		t.Fatal("a note was written with notes off")
	}

	repo.git("config", "berth.notes", "true")
	c2 := repo.commit("web v2", map[string]string{"compose.yaml": probeCompose("2", healthy)})
	if code, _, _ := berth(t, append(base, "deploy", "probe", c2, "--as", env, "--yes")...); code != ExitOK {
		t.Fatalf("deploy c2: exit %d", code)
	}
	if code, _, _ := berth(t, append(base, "rollback", env, "--yes")...); code != ExitOK {
		t.Fatalf("rollback: exit %d", code)
	}
	ds := history(t, env)
	if len(ds) != 3 {
		t.Fatalf("history: %+v", ds)
	}
	check := func(rev string, want ...string) {
		t.Helper()
		lines := strings.Split(repo.git("notes", "--ref=berth", "show", rev), "\n")
		if len(lines) != len(want) {
			t.Fatalf("note on %s: %q, want %d lines", rev[:7], lines, len(want))
		}
		for i, l := range lines {
			var n struct {
				ID     int64  `json:"id"`
				Kind   string `json:"kind"`
				Env    string `json:"env"`
				Result string `json:"result"`
				Who    string `json:"who"`
				When   string `json:"when"`
			}
			if err := json.Unmarshal([]byte(l), &n); err != nil {
				t.Fatalf("note line %q: %v", l, err)
			}
			if got := fmt.Sprintf("%s %s %s %s", n.Kind, n.Env, n.Result, n.Who); got != want[i] || n.ID == 0 || n.When == "" {
				t.Fatalf("note line %q: got %q, want %q", l, got, want[i])
			}
		}
	}
	check(c2, fmt.Sprintf("deploy %s succeeded Ada <ada@example.com>", env))
	check(c1, fmt.Sprintf("rollback %s succeeded Ada <ada@example.com>", env))

	if hasNotes(bare) {
		t.Fatal("notes reached the remote without berth notes push")
	}
	if code, out, _ := berth(t, append(base, "notes", "push")...); code != ExitOK || !strings.Contains(out, "origin") {
		t.Fatalf("notes push: exit %d %q", code, out)
	}
	if got := strings.TrimSpace(gitOut(t, bare, "rev-parse", "refs/notes/berth")); got != repo.git("rev-parse", "refs/notes/berth") {
		t.Fatalf("remote notes at %s", got)
	}
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}
