package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// revisions commits n versions of environments/shop (each with a file of
// its own size) and returns them, oldest first.
func revisions(t *testing.T, n int) (*Repo, []Commit) {
	t.Helper()
	f := newFixture(t)
	for i := range n {
		f.write(map[string]string{
			"environments/shop/berth.yaml":       fmt.Sprintf("name: shop\n# v%d\n", i),
			"environments/shop/app/data.txt":     strings.Repeat("d", 1000*(i+1)),
			"environments/shop/app/nested/x.txt": "x",
		})
		f.commit(fmt.Sprintf("v%d", i))
	}
	r := open(t, f.dir)
	log, err := r.Log(context.Background(), "main", "environments/shop", 0)
	if err != nil || len(log) != n {
		t.Fatalf("log: %d, %v", len(log), err)
	}
	slices.Reverse(log)
	return r, log
}

// rootEntries lists root's entries but its lock and stamps.
func rootEntries(root string) []string {
	var out []string
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if e.Name() != lockName && e.Name() != usedDir {
			out = append(out, e.Name())
		}
	}
	return out
}

func workspaceRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "workspaces")
	t.Cleanup(func() { Remove(root) })
	return root
}

// age sets the workspace's last use to ago before now.
func age(t *testing.T, root, tree string, ago time.Duration) {
	t.Helper()
	when := time.Now().Add(-ago)
	if err := os.Chtimes(filepath.Join(root, usedDir, tree), when, when); err != nil {
		t.Fatal(err)
	}
}

func trees(us []WorkspaceUse) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.Tree[:8])
	}
	slices.Sort(out)
	return out
}

func short8(ws ...Workspace) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Tree[:8])
	}
	slices.Sort(out)
	return out
}

func TestPruneKeepsInUseAndRecentlyUsed(t *testing.T) {
	r, revs := revisions(t, 5)
	root := workspaceRoot(t)
	ctx := context.Background()
	ws := make([]Workspace, len(revs))
	for i, c := range revs {
		w, err := r.Materialise(ctx, c, "environments/shop", root)
		if err != nil {
			t.Fatal(err)
		}
		ws[i] = w
	}
	// v0..v3 last used a month ago; v4 now. v1 is in use.
	for _, w := range ws[:4] {
		age(t, root, w.Tree, 30*24*time.Hour)
	}
	// A folder a killed materialisation left, read-only like a real one.
	stale := filepath.Join(root, tmpPrefix+"deadbeef0000-1")
	if err := os.MkdirAll(filepath.Join(stale, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(stale, "d", "f"), []byte("half"), 0o444)
	os.Chmod(filepath.Join(stale, "d"), 0o555)
	// Reusing v3 refreshes its stamp: it counts as used now.
	if _, err := r.Materialise(ctx, revs[3], "environments/shop", root); err != nil {
		t.Fatal(err)
	}
	opts := PruneOptions{Keep: map[string]string{ws[1].Tree: "in use by shop"}, UsedSince: time.Now().Add(-14 * 24 * time.Hour)}
	wantSize := func(w Workspace) int64 { return du(w.Dir) }
	wantFreed := wantSize(ws[0]) + wantSize(ws[2])

	dry := opts
	dry.DryRun = true
	rep, err := Prune(ctx, root, dry)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := trees(rep.Removed), short8(ws[0], ws[2]); !slices.Equal(got, want) {
		t.Fatalf("dry run removes %v, want %v", got, want)
	}
	if rep.BytesFreed != wantFreed || rep.Leftovers != 1 {
		t.Fatalf("dry run frees %d (want %d), leftovers %d", rep.BytesFreed, wantFreed, rep.Leftovers)
	}
	for _, w := range ws {
		if _, err := os.Stat(filepath.Join(w.Dir, "berth.yaml")); err != nil {
			t.Fatalf("dry run removed %s: %v", w.Tree, err)
		}
	}

	rep, err = Prune(ctx, root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := trees(rep.Removed), short8(ws[0], ws[2]); !slices.Equal(got, want) {
		t.Fatalf("removed %v, want %v", got, want)
	}
	if got, want := trees(rep.Kept), short8(ws[1], ws[3], ws[4]); !slices.Equal(got, want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
	for _, k := range rep.Kept {
		if k.Tree == ws[1].Tree && k.Kept != "in use by shop" || k.Tree != ws[1].Tree && !strings.HasPrefix(k.Kept, "used ") {
			t.Errorf("kept %s because %q", k.Tree[:8], k.Kept)
		}
	}
	if rep.BytesFreed != wantFreed+4 || rep.Leftovers != 1 {
		t.Fatalf("freed %d (want %d), leftovers %d", rep.BytesFreed, wantFreed+4, rep.Leftovers)
	}
	for i, w := range ws {
		_, err := os.Stat(w.Dir)
		_, serr := os.Stat(filepath.Join(root, usedDir, w.Tree))
		gone := i == 0 || i == 2
		if gone != errors.Is(err, os.ErrNotExist) || gone != errors.Is(serr, os.ErrNotExist) {
			t.Errorf("v%d: folder %v, stamp %v; want gone=%v", i, err, serr, gone)
		}
	}
	left, _ := os.ReadDir(root)
	for _, e := range left {
		if strings.HasPrefix(e.Name(), tmpPrefix) || strings.HasPrefix(e.Name(), trashPref) {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	// A removed revision materialises again, complete.
	w, err := r.Materialise(ctx, revs[0], "environments/shop", root)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(w.Dir, "berth.yaml")); err != nil || string(b) != "name: shop\n# v0\n" {
		t.Fatalf("again: %q, %v", b, err)
	}
	// Nothing to do the second time.
	if rep, err := Prune(ctx, root, opts); err != nil || len(rep.Removed) != 0 || rep.BytesFreed != 0 {
		t.Fatalf("second prune: %+v, %v", rep, err)
	}
}

func TestPruneWaitsForMaterialiseUnderWay(t *testing.T) {
	root := workspaceRoot(t)
	ctx := context.Background()
	unlock, err := lockWorkspaces(ctx, root, false, 0) // as Materialise holds it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Prune(ctx, root, PruneOptions{Wait: 50 * time.Millisecond}); !errors.Is(err, ErrBusy) {
		t.Fatalf("prune during a materialisation: %v, want ErrBusy", err)
	}
	go func() { time.Sleep(100 * time.Millisecond); unlock() }()
	if _, err := Prune(ctx, root, PruneOptions{Wait: 10 * time.Second}); err != nil {
		t.Fatalf("prune after it: %v", err)
	}
}

// TestPruneDuringMaterialise runs materialisations and prunes at once.
// Pruning everything it may, a prune never leaves a half workspace where
// Materialise finds or returns one; keeping what was used in the last
// minute, it never removes what a materialisation just returned.
func TestPruneDuringMaterialise(t *testing.T) {
	r, revs := revisions(t, 6)
	treeOf := map[string]string{}
	for _, c := range revs {
		tree, err := r.TreeAt(c, "environments/shop")
		if err != nil {
			t.Fatal(err)
		}
		treeOf[c.Hash] = tree
	}
	want := map[string]string{}
	for i, c := range revs {
		want[c.Hash] = fmt.Sprintf("name: shop\n# v%d\n", i)
	}
	for _, tc := range []struct {
		name      string
		usedSince time.Duration // from now; positive: everything is old
		mustStay  bool
	}{
		{"prune everything", time.Hour, false},
		{"keep the last minute", -time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := workspaceRoot(t)
			ctx := context.Background()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var errs []error
			fail := func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
			removed := 0
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					rep, err := Prune(ctx, root, PruneOptions{UsedSince: time.Now().Add(tc.usedSince), Wait: 5 * time.Second})
					if err != nil {
						fail(fmt.Errorf("prune: %w", err))
						return
					}
					mu.Lock()
					removed += len(rep.Removed)
					mu.Unlock()
				}
			})
			var mats sync.WaitGroup
			for g := range 3 {
				mats.Go(func() {
					for i := range 40 {
						// Each materialiser has revisions of its own.
						c := revs[2*g+i%2]
						if tc.mustStay {
							// Last used long ago: only the stamp this
							// Materialise writes keeps it.
							when := time.Now().Add(-time.Hour)
							os.Chtimes(filepath.Join(root, usedDir, treeOf[c.Hash]), when, when)
						}
						w, err := r.Materialise(ctx, c, "environments/shop", root)
						if err != nil {
							fail(fmt.Errorf("materialise: %w", err))
							return
						}
						b, err := os.ReadFile(filepath.Join(w.Dir, "berth.yaml"))
						switch {
						case err == nil && string(b) != want[c.Hash]:
							fail(fmt.Errorf("%s: berth.yaml is %q", c.Short, b))
						case err != nil && (tc.mustStay || !errors.Is(err, os.ErrNotExist)):
							fail(fmt.Errorf("%s right after materialising: %w", c.Short, err))
						}
						if _, err := os.Stat(filepath.Join(w.Dir, "app", "nested", "x.txt")); err != nil && (tc.mustStay || !errors.Is(err, os.ErrNotExist)) {
							fail(fmt.Errorf("%s right after materialising: %w", c.Short, err))
						}
					}
				})
			}
			mats.Wait()
			close(stop)
			wg.Wait()
			for _, err := range errs {
				t.Error(err)
			}
			t.Logf("prunes removed %d workspaces meanwhile", removed)
			if removed == 0 && !tc.mustStay {
				t.Error("no prune removed anything: the race was not exercised")
			}
			// Whatever is left is complete, and nothing half-written remains.
			ents, _ := os.ReadDir(root)
			for _, e := range ents {
				switch {
				case strings.HasPrefix(e.Name(), tmpPrefix) || strings.HasPrefix(e.Name(), trashPref):
					t.Errorf("left behind: %s", e.Name())
				case isHash(e.Name()):
					if _, err := os.Stat(filepath.Join(root, e.Name(), "app", "nested", "x.txt")); err != nil {
						t.Errorf("incomplete workspace %s: %v", e.Name(), err)
					}
				}
			}
			if tc.mustStay {
				for _, c := range revs {
					if _, err := os.Stat(filepath.Join(root, treeOf[c.Hash], "berth.yaml")); err != nil {
						t.Errorf("%s, used within the minute, was removed: %v", c.Short, err)
					}
				}
			}
		})
	}
}
