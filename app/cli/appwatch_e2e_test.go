package cli

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/app/api"
	"github.com/berthdev/berth/app/root"
	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/testenv"
)

// TestAppWatchEndToEnd: the watch the desktop and web apps run
// (api.Service.Watch) against the real engine, through a socket proxy the
// test cuts (an engine restart, as Berth sees it). One watch feeds both
// the state changes and the drift reports from one event subscription per
// connection (the engine adapter's container and network streams: two
// requests to the engine); a container stopped from outside shows in
// both; while the engine is away drift is unknown, and once it answers a
// fresh resync reports what happened meanwhile, never "in sync".
func TestAppWatchEndToEnd(t *testing.T) {
	env, repo := deployProbe(t, "appwatch", map[string]string{"compose.yaml": sleepingProbe})
	proxy := testenv.NewSocketProxy(t, "/var/run/docker.sock")
	r := root.New(root.Config{Repo: repo.dir, DockerHost: "unix://" + proxy.Path})
	defer r.Close()

	var mu sync.Mutex
	var changes []core.Change
	from := 0
	s := api.New(r.Core(), nil, func(name string, data any) {
		if c, ok := data.(core.Change); ok && name == api.EventChange {
			mu.Lock()
			changes = append(changes, c)
			mu.Unlock()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx) }()
	defer func() { cancel(); <-done }()

	// mark makes await look only at changes from now on; await waits for
	// one that ok accepts (state changes and drift reports come in either
	// order) and fails on a report of env in sync when noSync is set.
	mark := func() {
		mu.Lock()
		from = len(changes)
		mu.Unlock()
	}
	await := func(what string, noSync bool, ok func(core.Change) bool) core.Change {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			seen := changes[from:]
			mu.Unlock()
			for _, c := range seen {
				if noSync && c.Kind == core.ChangeDrift && c.Env == env && c.Drift.InSync {
					t.Fatalf("%s: in sync reported: %+v", what, c.Drift)
				}
				if ok(c) {
					return c
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("%s: never reported", what)
		return core.Change{}
	}
	engineUp := func(up bool) func(core.Change) bool {
		return func(c core.Change) bool { return c.Kind == core.ChangeEngine && c.Engine.Up == up }
	}
	report := func(ok func(*core.DriftReport) bool) func(core.Change) bool {
		return func(c core.Change) bool { return c.Kind == core.ChangeDrift && c.Env == env && ok(c.Drift) }
	}
	inSync := report(func(r *core.DriftReport) bool { return r.InSync && !r.Unknown })
	stopped := report(func(r *core.DriftReport) bool {
		for _, it := range r.Runtime {
			if it.Kind == drift.KindStopped && it.Service == "side" {
				return true
			}
		}
		return false
	})
	state := func(running bool) func(core.Change) bool {
		return func(c core.Change) bool {
			if c.Kind != core.ChangeEnvironment || c.Env != env || c.Environment == nil {
				return false
			}
			for _, sv := range c.Environment.Services {
				if sv.Name == "side" && (sv.State == core.StateRunning) == running {
					return true
				}
			}
			return false
		}
	}

	await("the engine up", false, engineUp(true))
	await("first report in sync", false, inSync)

	mark()
	docker(t, "stop", "-t", "1", env+"-side-1")
	await("side down (state)", false, state(false))
	await("side stopped (drift)", false, stopped)
	mark()
	docker(t, "start", env+"-side-1")
	await("side running (state)", false, state(true))
	await("in sync again", false, inSync)
	if n := proxy.EventStreams(); n != 2 {
		t.Errorf("%d event streams opened, want 2 (the one subscription's container and network streams)", n)
	}

	mark()
	proxy.Cut()
	await("the engine down", false, engineUp(false))
	await("drift unknown", true, report(func(r *core.DriftReport) bool { return r.Unknown && !r.InSync }))
	docker(t, "kill", env+"-side-1") // unheard: the stream is down
	mark()
	proxy.Open()
	start := time.Now()
	await("the engine up again", false, engineUp(true))
	await("the kill, after reconnecting", true, stopped)
	t.Logf("the kill reported %s after the engine answered again", time.Since(start))
	if n := proxy.EventStreams(); n != 4 {
		t.Errorf("%d event streams opened after reconnecting, want 4 (one subscription per connection)", n)
	}
	found := false
	for _, rep := range s.DriftReports() {
		if rep.Env == env {
			found = true
			if rep.InSync || rep.Unknown {
				t.Errorf("the app keeps %+v for %s, want the kill", rep, env)
			}
		}
	}
	if !found {
		t.Errorf("the app keeps no report of %s", env)
	}
}
