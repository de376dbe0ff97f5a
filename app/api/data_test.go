package api

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
)

// watchCore's WatchAll sends one environment change, two drift reports
// and the removal of one environment, then waits for the end;
// DBSnapshot holds until release is closed.
type watchCore struct {
	Core
	release chan struct{}
}

func (f *watchCore) WatchAll(ctx context.Context, opts core.DriftWatchOptions, out func(core.Change)) error {
	out(core.Change{Kind: core.ChangeEnvironment, Env: "shop"})
	out(core.Change{Kind: core.ChangeDrift, Env: "shop", Drift: &core.DriftReport{Env: "shop", Files: []core.FileChange{{Path: "a.conf", Kind: "modified"}}}})
	out(core.Change{Kind: core.ChangeDrift, Env: "old", Drift: &core.DriftReport{Env: "old", InSync: true}})
	out(core.Change{Kind: core.ChangeDrift, Env: "api", Drift: &core.DriftReport{Env: "api", InSync: true}})
	out(core.Change{Kind: core.ChangeRemoved, Env: "old"})
	<-ctx.Done()
	return errors.New("watch ended")
}

func (f *watchCore) DBSnapshot(ctx context.Context, req core.DBSnapshotRequest, emit core.Emit) (*core.DBResult, error) {
	emit(core.Event{Env: req.Env, Kind: "db", DB: &core.DBProgress{Service: "db", Step: "copy"}})
	<-f.release
	return &core.DBResult{Env: req.Env, Op: "snapshot"}, nil
}

// TestWatchCarriesDrift: Service.Watch runs core's combined watch; state
// changes and drift reports reach the frontend as
// EventChange and the last one of each environment is kept (a removed
// environment's dropped) for a page opened later.
func TestWatchCarriesDrift(t *testing.T) {
	rec := &recorder{}
	s := New(&watchCore{}, nil, rec.emit)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.DriftReports()) != 2 || !hasKinds(rec, core.ChangeEnvironment, core.ChangeDrift, core.ChangeRemoved) {
		if time.Now().After(deadline) {
			t.Fatalf("reports %+v, events %v", s.DriftReports(), rec.names)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rs := s.DriftReports()
	if rs[0].Env != "api" || rs[1].Env != "shop" || len(rs[1].Files) != 1 {
		t.Fatalf("reports %+v, want api and shop in order", rs)
	}
	cancel()
	if err := <-done; err == nil || err.Error() != "watch ended" {
		t.Fatalf("Watch = %v, want the core watch's error", err)
	}
}

func hasKinds(r *recorder, kinds ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	for i, n := range r.names {
		if c, ok := r.values[i].(core.Change); ok && n == EventChange {
			seen[c.Kind] = true
		}
	}
	for _, k := range kinds {
		if !seen[k] {
			return false
		}
	}
	return true
}

// TestDatabaseOpsAreOperations: a database operation streams its
// progress as EventOp and holds the environment: another operation on it
// is refused until it ends.
func TestDatabaseOpsAreOperations(t *testing.T) {
	rec := &recorder{}
	f := &watchCore{release: make(chan struct{})}
	s := New(f, nil, rec.emit)
	done := make(chan error, 1)
	go func() {
		_, err := s.DBSnapshot(t.Context(), "shop", "", "s1")
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec.mu.Lock()
		n := len(rec.names)
		rec.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no progress event")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ev, ok := rec.values[0].(core.Event); !ok || rec.names[0] != EventOp || ev.DB == nil || ev.Time.IsZero() {
		t.Fatalf("first event %s %+v, want database progress with a time", rec.names[0], rec.values[0])
	}
	tests := []struct {
		name string
		run  func() error
	}{
		{"restore", func() error { _, err := s.DBRestore(t.Context(), "shop", "s1"); return err }},
		{"reset", func() error { _, err := s.DBReset(t.Context(), "shop", ""); return err }},
		{"clone", func() error { _, err := s.DBClone(t.Context(), "shop", "", ""); return err }},
		{"rm", func() error { return s.DBRemove(t.Context(), "shop", "s1") }},
		{"sync", func() error { _, err := s.Sync(t.Context(), "shop"); return err }},
		{"discard", func() error { _, err := s.Discard(t.Context(), "shop"); return err }},
		{"adopt", func() error { _, err := s.Adopt(t.Context(), "shop", ""); return err }},
	}
	for _, tt := range tests {
		if err := tt.run(); !errors.Is(err, ErrBusy) {
			t.Errorf("%s while a snapshot runs = %v, want ErrBusy", tt.name, err)
		}
	}
	close(f.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := s.DBRestore(t.Context(), "shop", ""); err == nil {
		t.Error("restore without a snapshot named: no error")
	}
	if _, err := s.PauseHealing("shop", -1); err == nil {
		t.Error("a negative pause: no error")
	}
}
