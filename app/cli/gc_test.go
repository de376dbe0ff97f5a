package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/gitsrc"
	"github.com/berthdev/berth/internal/store"
)

// TestGcCommand materialises three revisions as deploys do, records one
// deployment in the real store, and prunes with berth gc.
func TestGcCommand(t *testing.T) {
	repo := newDefRepo(t)
	var shas []string
	for _, v := range []string{"v1", "v2", "v3"} {
		shas = append(shas, repo.commit(v, map[string]string{"berth.yaml": "name: probe\n# " + v + "\n", "big.txt": strings.Repeat(v, 2000)}))
	}
	state := t.TempDir()
	root := filepath.Join(state, "workspaces")
	ctx := context.Background()
	g, err := gitsrc.Open(ctx, gitsrc.Source{Path: repo.dir}, state)
	if err != nil {
		t.Fatal(err)
	}
	trees := map[string]string{} // tree → version
	for i, sha := range shas {
		c, err := g.Resolve(sha)
		if err != nil {
			t.Fatal(err)
		}
		ws, err := g.Materialise(ctx, c, "environments/probe", root)
		if err != nil {
			t.Fatal(err)
		}
		trees[ws.Tree] = []string{"v1", "v2", "v3"}[i]
		old := time.Now().Add(-30 * 24 * time.Hour)
		if err := os.Chtimes(filepath.Join(root, ".used", ws.Tree), old, old); err != nil {
			t.Fatal(err)
		}
	}
	g.Close()
	t.Cleanup(func() { gitsrc.Remove(root) })
	st, err := store.Open(filepath.Join(state, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.Begin(ctx, store.Deployment{Kind: store.KindDeploy, Env: "probe", Definition: "probe", Revision: shas[2]})
	if err == nil {
		err = st.Finish(ctx, id, store.Outcome{Status: store.StatusSucceeded})
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	v3 := ""
	for tree, v := range trees {
		if v == "v3" {
			v3 = tree
		}
	}
	flags := []string{"--repo", repo.dir, "--state-dir", state}

	code, out, _ := berth(t, append([]string{"gc", "--dry-run"}, flags...)...)
	if code != ExitOK || !strings.Contains(out, "would remove 2 workspace(s), would free 7.8 KiB; kept 1") ||
		!strings.Contains(out, "= "+v3[:12]+"  probe: current") {
		t.Fatalf("gc --dry-run: %d\n%s", code, out)
	}
	for tree := range trees {
		if _, err := os.Stat(filepath.Join(root, tree)); err != nil {
			t.Fatalf("dry run removed %s: %v", trees[tree], err)
		}
	}

	code, out, _ = berth(t, append([]string{"gc", "-o", "json"}, flags...)...)
	var res core.PruneResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != ExitOK {
		t.Fatalf("gc -o json: %d, %v\n%s", code, err, out)
	}
	var removed []string
	var freed int64
	for _, e := range res.Removed {
		removed = append(removed, trees[e.Tree])
		freed += e.Bytes
		if _, err := os.Stat(e.Dir); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", trees[e.Tree], err)
		}
	}
	slices.Sort(removed)
	if !slices.Equal(removed, []string{"v1", "v2"}) || res.BytesFreed != freed || freed != int64(2*(4000+len("name: probe\n# v1\n"))) ||
		len(res.Kept) != 1 || res.Kept[0].Tree != v3 || res.Kept[0].Kept != "probe: current" || res.DryRun || res.KeepDays != 14 {
		t.Fatalf("gc -o json: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(root, v3, "big.txt")); err != nil {
		t.Fatalf("the current workspace: %v", err)
	}

	code, out, _ = berth(t, append([]string{"gc"}, flags...)...)
	if code != ExitOK || !strings.HasPrefix(out, "removed 0 workspace(s), freed 0 B; kept 1\n") {
		t.Fatalf("second gc: %d\n%s", code, out)
	}

	// A deployment of a commit the repo does not have: nothing is removed.
	st, err = store.Open(filepath.Join(state, "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Begin(ctx, store.Deployment{Kind: store.KindDeploy, Env: "other", Definition: "probe", Revision: strings.Repeat("ab", 20)}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, _, errOut := berth(t, append([]string{"gc"}, flags...)...)
	if code != ExitNotFound || !strings.Contains(errOut, "cannot tell which workspace other (running) uses, so none was removed") {
		t.Fatalf("gc with an unknown revision: %d %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(root, v3)); err != nil {
		t.Fatal(err)
	}
}
