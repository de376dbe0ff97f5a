package root

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/settings"
)

// TestPruneWorkspacesWithTheStore materialises several revisions the way
// deploys do and lets the real store decide what stays.
func TestPruneWorkspacesWithTheStore(t *testing.T) {
	var commits []map[string]string
	for _, v := range []string{"v1", "v2", "v3", "v4", "v5"} {
		commits = append(commits, map[string]string{"environments/web/berth.yaml": "name: web\n# " + v + "\n", "environments/web/data.txt": strings.Repeat(v, 500)})
	}
	repo := gitRepo(t, commits...)
	r := testRoot(t, repo, settings.Settings{}, nil)
	ctx := context.Background()
	root := filepath.Join(r.store.dataDir, "workspaces")
	t.Cleanup(func() { os.Chmod(root, 0o755); r.Close(); removeAll(root) })

	revs := map[string]core.Revision{}
	dirs := map[string]string{}
	for i, v := range []string{"v5", "v4", "v3", "v2", "v1"} {
		rev, err := r.repo.Resolve(ctx, "HEAD~"+string(rune('0'+i)))
		if err != nil {
			t.Fatal(err)
		}
		revs[v] = rev
		if dirs[v], err = r.repo.Materialise(ctx, rev, "web"); err != nil {
			t.Fatal(err)
		}
	}
	// web ran v1, v2, then v3; v4 failed and was rolled back to v3, so
	// v3 is last good, v4 current (its containers may still use it), v2
	// the rollback target. v1 and v5 are no environment's.
	for _, v := range []string{"v1", "v2", "v3"} {
		record(t, r, core.KindDeploy, "web", "web", revs[v].Hash)
	}
	id, err := r.store.Begin(ctx, core.Deployment{Kind: core.KindDeploy, Env: "web", Definition: "web", Revision: revs["v4"].Hash})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.store.Finish(ctx, id, core.Outcome{Status: core.StatusRolledBack, Error: "unhealthy"}); err != nil {
		t.Fatal(err)
	}
	// All last used a month ago but v5, used yesterday.
	for v, dir := range dirs {
		when := time.Now().Add(-30 * 24 * time.Hour)
		if v == "v5" {
			when = time.Now().Add(-24 * time.Hour)
		}
		if err := os.Chtimes(filepath.Join(root, ".used", filepath.Base(dir)), when, when); err != nil {
			t.Fatal(err)
		}
	}
	names := func(es []core.WorkspaceEntry) []string {
		var out []string
		for _, e := range es {
			for v, d := range dirs {
				if d == e.Dir {
					out = append(out, v+"="+e.Kept)
				}
			}
		}
		slices.Sort(out)
		return out
	}

	dry, err := r.Core().PruneWorkspaces(ctx, core.PruneRequest{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(dry.Removed); !slices.Equal(got, []string{"v1="}) {
		t.Fatalf("dry run would remove %v", got)
	}
	if _, err := os.Stat(dirs["v1"]); err != nil {
		t.Fatalf("dry run removed v1: %v", err)
	}

	res, err := r.Core().PruneWorkspaces(ctx, core.PruneRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Removed); !slices.Equal(got, []string{"v1="}) {
		t.Fatalf("removed %v", got)
	}
	kept := names(res.Kept)
	want := []string{"v2=web: rollback target", "v3=web: last good", "v4=web: current", "v5=used "}
	if len(kept) != 4 || !slices.Equal(kept[:3], want[:3]) || !strings.HasPrefix(kept[3], want[3]) {
		t.Fatalf("kept %q", kept)
	}
	if res.KeepDays != core.DefaultWorkspaceKeepDays || res.BytesFreed < 1000 || res.BytesFreed != dry.BytesFreed {
		t.Fatalf("result %+v (dry run freed %d)", res, dry.BytesFreed)
	}
	if _, err := os.Stat(dirs["v1"]); !os.IsNotExist(err) {
		t.Fatalf("v1 still there: %v", err)
	}
	for _, v := range []string{"v2", "v3", "v4", "v5"} {
		if _, err := os.Stat(filepath.Join(dirs[v], "berth.yaml")); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}

	// With a one-day setting v5 goes too; a deploy of v2 makes it current
	// and v4 (now neither current, last good nor rollback target) goes.
	r.saved.WorkspaceKeepDays = new(0)
	record(t, r, core.KindDeploy, "web", "web", revs["v2"].Hash)
	res, err = r.Core().PruneWorkspaces(ctx, core.PruneRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res.Removed); !slices.Equal(got, []string{"v4=", "v5="}) || res.KeepDays != 0 {
		t.Fatalf("removed %v with keep days %d", got, res.KeepDays)
	}
	if got := names(res.Kept); !slices.Equal(got, []string{"v2=web: current", "v3=web: rollback target"}) {
		t.Fatalf("kept %v", got)
	}
}

func removeAll(dir string) {
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
}

func TestWorkspaceKeepDays(t *testing.T) {
	tests := []struct {
		saved *int
		env   string
		want  int
		bad   bool
	}{
		{want: core.DefaultWorkspaceKeepDays},
		{saved: new(3), want: 3},
		{saved: new(0), want: 0},
		{saved: new(3), env: "30", want: 30},
		{saved: new(-1), bad: true},
		{env: "a week", bad: true},
		{env: "-2", bad: true},
	}
	for _, tt := range tests {
		got, err := workspaceKeepDays(settings.Settings{WorkspaceKeepDays: tt.saved}, func(k string) string {
			if k == "BERTH_WORKSPACE_KEEP_DAYS" {
				return tt.env
			}
			return ""
		})
		if (err != nil) != tt.bad || (!tt.bad && got != tt.want) {
			t.Errorf("workspaceKeepDays(%v, env %q) = %v, %v; want %v (bad: %v)", tt.saved, tt.env, got, err, tt.want, tt.bad)
		}
	}
	r := testRoot(t, t.TempDir(), settings.Settings{}, map[string]string{"BERTH_WORKSPACE_KEEP_DAYS": "7"})
	v, _ := r.Settings()
	if v.Effective.WorkspaceKeepDays == nil || *v.Effective.WorkspaceKeepDays != 7 || !slices.Contains(v.Overrides, "workspaceKeepDays: BERTH_WORKSPACE_KEEP_DAYS") {
		t.Fatalf("view: %+v", v)
	}
	if _, err := r.SaveSettings(settings.Settings{WorkspaceKeepDays: new(-3)}); err == nil || !strings.Contains(err.Error(), "workspaceKeepDays") {
		t.Fatalf("negative days saved: %v", err)
	}
}
