package root

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/settings"
)

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// testRoot builds a Root over repo with its own state folder.
func testRoot(t *testing.T, repo string, saved settings.Settings, env map[string]string) *Root {
	t.Helper()
	state := t.TempDir()
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if k == "BERTH_REPO" || k == "BERTH_DEFINITIONS" || k == "BERTH_STATE_DIR" {
			return ""
		}
		return os.Getenv(k)
	}
	r := newRoot(Config{Repo: repo, StateDir: state, DefinitionsDir: filepath.Join(t.TempDir(), "environments")}, saved, nil,
		func(settings.Settings) error { return nil }, getenv)
	t.Cleanup(r.Close)
	return r
}

// record writes a successful operation of kind on env at rev to r's store.
func record(t *testing.T, r *Root, kind, env, def, rev string) {
	t.Helper()
	ctx := context.Background()
	id, err := r.store.Begin(ctx, core.Deployment{Kind: kind, Env: env, Definition: def, Revision: rev})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.store.Finish(ctx, id, core.Outcome{Status: core.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
}

func deployedOnes(revs []core.RevisionEntry) []string {
	var out []string
	for _, r := range revs {
		if r.Deployed {
			out = append(out, r.Message)
		}
	}
	return out
}

func TestRevisionsMarkDeployedByDefinitionTree(t *testing.T) {
	repo := gitRepo(t,
		map[string]string{"environments/web/berth.yaml": "name: web\n# v1\n", "environments/api/berth.yaml": "name: api\n"},
		map[string]string{"environments/web/berth.yaml": "name: web\n# v2\n"},
		map[string]string{"README.md": "docs only"},
	)
	head := gitOut(t, repo, "rev-parse", "HEAD")
	r := testRoot(t, repo, settings.Settings{}, nil)
	ctx := context.Background()

	// Deployed from the branch head, which only touched the README: the
	// definition commit with the same folder is marked.
	record(t, r, core.KindDeploy, "web", "web", head)
	revs, err := r.Core().Revisions(ctx, "web", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 2 || revs[0].Message != "commit b" || revs[1].Message != "commit a" {
		t.Fatalf("revisions: %+v", revs)
	}
	if got := deployedOnes(revs); len(got) != 1 || got[0] != "commit b" {
		t.Fatalf("marked %v, want [commit b]", got)
	}
	if want := gitOut(t, repo, "rev-parse", "HEAD:environments/web"); revs[0].DefinitionTree != want {
		t.Fatalf("definition tree %s, git says %s", revs[0].DefinitionTree, want)
	}

	// A deploy of the first commit marks it.
	first := gitOut(t, repo, "rev-parse", "HEAD~2")
	record(t, r, core.KindRollback, "web", "web", first)
	revs, err = r.Core().Revisions(ctx, "web", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := deployedOnes(revs); len(got) != 1 || got[0] != "commit a" {
		t.Fatalf("marked %v, want [commit a]", got)
	}

	// A definition with no environment: its commits, none marked.
	revs, err = r.Core().Revisions(ctx, "api", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 1 || revs[0].Message != "commit a" || len(deployedOnes(revs)) != 0 {
		t.Fatalf("revisions of a definition with no environment: %+v", revs)
	}
}
