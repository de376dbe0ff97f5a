package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/app/root"
	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/testenv"
)

// TestWatchDriftEndToEnd: the continuous loop reports a workspace edit and
// a container stopped from outside (the timings are logged; bench measures
// them), and reports them gone once fixed.
func TestWatchDriftEndToEnd(t *testing.T) {
	testenv.Image(t, probe)
	env := uniqueName("watchdrift")
	t.Cleanup(func() { removeLabelled(env) })
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	repo := newDefRepo(t)
	compose := fmt.Sprintf("services:\n  side:\n    image: %s\n    command: [\"sleep\"]\n    volumes:\n      - ./conf/app.conf:/conf/app.conf:ro\n", probe)
	c1 := repo.commit("v1", map[string]string{"berth.yaml": "name: probe\ncompose: [compose.yaml]\n", "compose.yaml": compose, "conf/app.conf": "a=1\n"})
	if code, _, _ := berth(t, "--repo", repo.dir, "deploy", "probe", c1, "--as", env, "--yes"); code != ExitOK {
		t.Fatal("deploy")
	}
	r := root.New(root.Config{Repo: repo.dir})
	defer r.Close()
	b := r.Core()

	var mu sync.Mutex
	var reports []*core.DriftReport
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- b.WatchDrift(ctx, core.DriftWatchOptions{Resync: time.Hour}, func(c core.Change) {
			if c.Kind == core.ChangeDrift && c.Env == env {
				mu.Lock()
				reports = append(reports, c.Drift)
				mu.Unlock()
			}
		})
	}()
	defer func() { cancel(); <-done }()
	await := func(what string, since time.Time, ok func(*core.DriftReport) bool) time.Duration {
		t.Helper()
		for time.Since(since) < 20*time.Second {
			mu.Lock()
			for _, rep := range reports {
				if ok(rep) {
					reports = nil
					mu.Unlock()
					return time.Since(since)
				}
			}
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("%s: never reported; got %+v", what, reports)
		return 0
	}
	await("first report in sync", time.Now(), func(r *core.DriftReport) bool { return r.InSync })
	time.Sleep(300 * time.Millisecond) // the workspace watch is in place

	rep, err := b.Check(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(rep.Workspace, "conf", "app.conf")
	start := time.Now()
	os.WriteFile(conf, []byte("a=2\n"), 0o644)
	d := await("file edit", start, func(r *core.DriftReport) bool { return len(r.Files) == 1 && r.Files[0].Path == "conf/app.conf" })
	t.Logf("file edit reported in %s", d)
	if _, err := b.Discard(ctx, env, nil); err != nil {
		t.Fatal(err)
	}
	await("discarded", time.Now(), func(r *core.DriftReport) bool { return r.InSync })

	start = time.Now()
	docker(t, "stop", "-t", "1", env+"-side-1")
	d = await("container stopped", start, func(r *core.DriftReport) bool {
		for _, it := range r.Runtime {
			if it.Kind == drift.KindStopped && it.Service == "side" {
				return true
			}
		}
		return false
	})
	t.Logf("stopped container reported in %s (docker stop included)", d)
	docker(t, "start", env+"-side-1")
	await("started again", time.Now(), func(r *core.DriftReport) bool { return r.InSync })
}
