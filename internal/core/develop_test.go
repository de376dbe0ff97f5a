package core

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// syncEngine is fakeEngine with the Syncer port, recording what it is asked.
type syncEngine struct {
	*fakeEngine
	mu       sync.Mutex
	copied   []SyncFile
	removed  []string
	restarts []string
}

func (s *syncEngine) CopyFiles(_ context.Context, id string, files []SyncFile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.copied = append(s.copied, files...)
	return nil
}

func (s *syncEngine) RemoveFiles(_ context.Context, id string, paths []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removed = append(s.removed, paths...)
	return nil
}

func (s *syncEngine) RestartContainer(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.restarts = append(s.restarts, id)
	return nil
}

// batchWatcher hands the batches the test sends to Develop, one at a
// time, and says when each was acted on.
type batchWatcher struct {
	batches chan []string
	handled chan struct{}
}

func (w *batchWatcher) WatchTree(ctx context.Context, dir string, out func([]string, bool, []string)) error {
	return w.WatchTreeReady(ctx, dir, func() {}, out)
}

func (w *batchWatcher) WatchTreeReady(ctx context.Context, dir string, ready func(), out func([]string, bool, []string)) error {
	ready()
	for {
		select {
		case <-ctx.Done():
			return nil
		case b := <-w.batches:
			out(b, false, nil)
			w.handled <- struct{}{}
		}
	}
}

// TestDevelopActsOnRules: each batch is acted on as the rules say
// (sync, sync+restart, ignore, deletion), nothing reached through a
// symlinked folder leading outside the definition is read, files no rule
// covers are left alone, and the synced paths are hidden from drift only
// while the watch runs.
func TestDevelopActsOnRules(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	for name, content := range map[string]string{"src/a.js": "a", "src/x.tmp": "t", "conf/c.conf": "c", "other.txt": "o"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, "src", "link")); err != nil {
		t.Fatal(err)
	}
	p := &spec.Project{Name: "dev", Dir: dir, Services: []spec.Service{{Name: "app", Image: "app:1", Replicas: 1, Watch: []spec.WatchRule{
		{Action: spec.WatchSync, Path: filepath.Join(dir, "src"), Target: "/app/src", Ignore: []string{"*.tmp"}},
		{Action: spec.WatchSyncRestart, Path: filepath.Join(dir, "conf"), Target: "/etc/app"},
	}}}}
	fe := &fakeEngine{observed: map[string]reconcile.Observed{"dev": {Project: "dev", Containers: []reconcile.Container{
		{ID: "c1", Name: "dev-app-1", Service: "app", Managed: true, State: reconcile.StateRunning, Labels: map[string]string{reconcile.LabelDefinition: "dev"}},
		{ID: "c2", Name: "dev-app-2", Service: "app", Managed: true, State: reconcile.StateExited},
		{ID: "c3", Name: "theirs", Service: "app", Managed: false, State: reconcile.StateRunning},
	}}}}
	se := &syncEngine{fakeEngine: fe}
	fw := &batchWatcher{batches: make(chan []string), handled: make(chan struct{})}
	b := New(func(context.Context) (Engine, error) { return se, nil }, fakeDefs{"dev": p}, WithFileWatcher(fw))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan DevEvent, 64)
	done := make(chan error, 1)
	go func() { done <- b.Develop(ctx, "dev", DevOptions{}, func(ev DevEvent) { events <- ev }) }()
	select {
	case ev := <-events:
		if ev.Action != DevWatching {
			t.Fatalf("first event %+v", ev)
		}
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("not watching")
	}
	send := func(paths ...string) {
		t.Helper()
		select {
		case fw.batches <- paths:
		case <-time.After(10 * time.Second):
			t.Fatal("batch not taken")
		}
		<-fw.handled
	}
	if !b.dev.skip("dev", "src/a.js") || !b.dev.skip("dev", "conf/c.conf") || b.dev.skip("dev", "other.txt") || b.dev.skip("dev", "srcx/a.js") {
		t.Error("the synced paths hidden from drift are not src/ and conf/")
	}

	send("src/a.js", "src/x.tmp", "src/link/secret", "other.txt")
	se.mu.Lock()
	if want := []SyncFile{{Host: filepath.Join(dir, "src/a.js"), Container: "/app/src/a.js"}}; !slices.Equal(se.copied, want) {
		t.Errorf("copied %v, want %v (not the ignored file, nothing through the symlink out, nothing no rule covers)", se.copied, want)
	}
	se.copied = nil
	se.mu.Unlock()

	send("src/gone.js")
	send("conf/c.conf")
	se.mu.Lock()
	if !slices.Equal(se.removed, []string{"/app/src/gone.js"}) {
		t.Errorf("removed %v", se.removed)
	}
	if !slices.Equal(se.copied, []SyncFile{{Host: filepath.Join(dir, "conf/c.conf"), Container: "/etc/app/c.conf"}}) {
		t.Errorf("copied %v", se.copied)
	}
	if !slices.Equal(se.restarts, []string{"c1"}) {
		t.Errorf("restarted %v, want only the running container Berth made", se.restarts)
	}
	se.mu.Unlock()

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(events)
	var got []string
	for ev := range events {
		got = append(got, ev.String())
	}
	want := []string{"synced app: src/a.js → /app/src/a.js", "deleted app: src/gone.js → /app/src/gone.js", "synced app: conf/c.conf → /etc/app/c.conf", "restarted app", "stopped watching dev"}
	if !slices.Equal(got, want) {
		t.Errorf("events:\n%q\nwant\n%q", got, want)
	}
	if b.dev.skip("dev", "src/a.js") {
		t.Error("synced paths still hidden from drift after the watch")
	}
}
