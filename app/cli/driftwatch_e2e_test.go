package cli

import (
	"context"
	"fmt"
	"maps"
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

// sleepingProbe is a Compose file of one service, side, that sleeps.
var sleepingProbe = fmt.Sprintf("services:\n  side:\n    image: %s\n    command: [\"sleep\"]\n", probe)

// deployProbe commits a probe definition (its berth.yaml names
// compose.yaml; files adds the rest) to a new definitions repo and deploys
// it as a new environment named after prefix, with a state folder of the
// test's own; everything labelled for it is removed when the test ends.
func deployProbe(t *testing.T, prefix string, files map[string]string) (env string, repo *defRepo) {
	t.Helper()
	testenv.Image(t, probe)
	env = uniqueName(prefix)
	t.Cleanup(func() { removeLabelled(env) })
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	repo = newDefRepo(t)
	all := map[string]string{"berth.yaml": "name: probe\ncompose: [compose.yaml]\n"}
	maps.Copy(all, files)
	rev := repo.commit("v1", all)
	if code, _, stderr := berth(t, "--repo", repo.dir, "deploy", "probe", rev, "--as", env, "--yes"); code != ExitOK {
		t.Fatalf("deploy %s: exit %d\n%s", env, code, stderr)
	}
	return env, repo
}

// TestWatchDriftEndToEnd: the continuous loop reports a workspace edit and
// a container stopped from outside (the timings are logged; bench measures
// them), and reports them gone once fixed.
func TestWatchDriftEndToEnd(t *testing.T) {
	compose := fmt.Sprintf("services:\n  side:\n    image: %s\n    command: [\"sleep\"]\n    volumes:\n      - ./conf/app.conf:/conf/app.conf:ro\n", probe)
	env, repo := deployProbe(t, "watchdrift", map[string]string{"compose.yaml": compose, "conf/app.conf": "a=1\n"})
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

// TestWatchDriftEngineDropEndToEnd: the drift loop talks to the real
// engine through a socket proxy the test cuts, which is what an engine
// restart looks like to Berth, without restarting the shared engine. While
// the engine cannot be reached the report is unknown (never a stale "in
// sync"); a container killed meanwhile, whose events Berth could not
// hear, is reported once the engine answers again, by the resync that
// follows the reconnection (the periodic one is an hour away).
func TestWatchDriftEngineDropEndToEnd(t *testing.T) {
	env, repo := deployProbe(t, "driftdrop", map[string]string{"compose.yaml": sleepingProbe})
	proxy := testenv.NewSocketProxy(t, "/var/run/docker.sock")
	r := root.New(root.Config{Repo: repo.dir, DockerHost: "unix://" + proxy.Path})
	defer r.Close()
	b := r.Core()

	reports := make(chan *core.DriftReport, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- b.WatchDrift(ctx, core.DriftWatchOptions{Resync: time.Hour}, func(c core.Change) {
			if c.Kind == core.ChangeDrift && c.Env == env {
				reports <- c.Drift
			}
		})
	}()
	defer func() { cancel(); <-done }()
	await := func(what string, ok func(*core.DriftReport) bool) *core.DriftReport {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case rep := <-reports:
				if ok(rep) {
					return rep
				}
			case <-deadline:
				t.Fatalf("%s: never reported", what)
			}
		}
	}
	await("first report in sync", func(r *core.DriftReport) bool { return r.InSync })

	proxy.Cut()
	u := await("unknown once the engine is cut", func(r *core.DriftReport) bool { return r.Unknown })
	if u.InSync {
		t.Errorf("an unknown report says in sync: %+v", u)
	}
	docker(t, "kill", env+"-side-1") // unheard: the stream is down
	proxy.Open()
	start := time.Now()
	await("the kill, after reconnecting", func(r *core.DriftReport) bool {
		if r.InSync {
			t.Errorf("in sync reported after reconnecting, with side killed: %+v", r)
		}
		for _, it := range r.Runtime {
			if it.Kind == drift.KindStopped && it.Service == "side" {
				return true
			}
		}
		return false
	})
	t.Logf("reported %s after the engine answered again", time.Since(start))
	docker(t, "start", env+"-side-1")
	await("in sync again", func(r *core.DriftReport) bool { return r.InSync })
}
