package desktop

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/reconcile"
)

// fakeCore records calls and emits one event per operation.
type fakeCore struct {
	CoreAPI // what a test does not need panics
	listing *core.Listing
	err     error
	// block, when set, holds Up until it is closed.
	block chan struct{}

	mu    sync.Mutex
	ups   []core.UpRequest
	downs []core.DownRequest
	calls []string // revision methods (deploy_test.go)
}

func (f *fakeCore) List(ctx context.Context) (*core.Listing, error) {
	return f.listing, f.err
}

func (f *fakeCore) Up(ctx context.Context, req core.UpRequest, emit core.Emit) (*core.Result, error) {
	f.mu.Lock()
	f.ups = append(f.ups, req)
	f.mu.Unlock()
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	op := reconcile.Op{ID: 1, Kind: reconcile.OpCreateContainer, Resource: req.Env + "-web-1", Cause: "container missing"}
	emit(core.Event{Env: req.Env, Kind: "op", Op: &op, Status: reconcile.StatusDone})
	if f.err != nil {
		return nil, f.err
	}
	return &core.Result{Env: req.Env, Plan: reconcile.Plan{Project: req.Env, Ops: []reconcile.Op{op}}}, nil
}

func (f *fakeCore) Down(ctx context.Context, req core.DownRequest, emit core.Emit) (*core.Result, error) {
	f.mu.Lock()
	f.downs = append(f.downs, req)
	f.mu.Unlock()
	emit(core.Event{Env: req.Env, Kind: "message", Detail: "removing"})
	if f.err != nil {
		return nil, f.err
	}
	return &core.Result{Env: req.Env}, nil
}

// WatchAll reports no change until ctx ends.
func (f *fakeCore) WatchAll(ctx context.Context, opts core.DriftWatchOptions, out func(core.Change)) error {
	<-ctx.Done()
	return nil
}

// waitUps waits until Up has been called n times.
func (f *fakeCore) waitUps(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		got := len(f.ups)
		f.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Up reached the core %d times, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

type emitted struct {
	name string
	ev   core.Event
}

// newTestAPI returns an API over f whose events are recorded instead of
// sent to a window.
func newTestAPI(t *testing.T, f *fakeCore) (*API, func() []emitted) {
	t.Helper()
	a := NewAPI(f)
	var mu sync.Mutex
	var got []emitted
	a.emit = func(ctx context.Context, name string, data ...any) {
		if len(data) != 1 {
			t.Errorf("emit %s with %d values, want 1", name, len(data))
			return
		}
		ev, ok := data[0].(core.Event)
		if !ok {
			return
		}
		mu.Lock()
		got = append(got, emitted{name, ev})
		mu.Unlock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a.startup(ctx)
	return a, func() []emitted {
		mu.Lock()
		defer mu.Unlock()
		return append([]emitted(nil), got...)
	}
}

func TestListEnvironments(t *testing.T) {
	want := &core.Listing{
		Target:      core.Target{Host: "unix:///var/run/docker.sock", ServerVersion: "20.10.24"},
		Definitions: []core.Definition{{Name: "shop", Dir: "/defs/shop"}},
	}
	a, _ := newTestAPI(t, &fakeCore{listing: want})
	got, err := a.ListEnvironments()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("ListEnvironments() = %+v, want %+v", got, want)
	}

	a, _ = newTestAPI(t, &fakeCore{err: errors.New("definitions folder missing")})
	if _, err := a.ListEnvironments(); err == nil || err.Error() != "definitions folder missing" {
		t.Errorf("ListEnvironments() error = %v, want the core's error", err)
	}
}

func TestUpEmitsProgress(t *testing.T) {
	f := &fakeCore{}
	a, events := newTestAPI(t, f)
	res, err := a.Up("shop", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Env != "shop" || len(res.Plan.Ops) != 1 {
		t.Errorf("Up result = %+v", res)
	}
	if len(f.ups) != 1 || f.ups[0].Env != "shop" {
		t.Errorf("core.Up called with %+v, want one call for shop", f.ups)
	}
	got := events()
	if len(got) != 1 || got[0].name != EventName || got[0].ev.Op == nil || got[0].ev.Status != reconcile.StatusDone {
		t.Errorf("events = %+v, want one %s op event", got, EventName)
	}
}

func TestDownPassesVolumes(t *testing.T) {
	f := &fakeCore{}
	a, events := newTestAPI(t, f)
	for _, volumes := range []bool{false, true} {
		if _, err := a.Down("shop", volumes); err != nil {
			t.Fatal(err)
		}
	}
	want := []core.DownRequest{{Env: "shop"}, {Env: "shop", Volumes: true}}
	if len(f.downs) != 2 || f.downs[0] != want[0] || f.downs[1] != want[1] {
		t.Errorf("core.Down calls = %+v, want %+v", f.downs, want)
	}
	if n := len(events()); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
}

func TestErrorsRejectThePromise(t *testing.T) {
	a, _ := newTestAPI(t, &fakeCore{err: core.ErrNotFound})
	if _, err := a.Up("nope", "", ""); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Up error = %v, want ErrNotFound", err)
	}
	if _, err := a.Down("nope", false); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Down error = %v, want ErrNotFound", err)
	}
	if _, err := a.Up("", "", ""); err == nil {
		t.Error("Up with no name: no error")
	}
}

func TestOneOperationPerEnvironment(t *testing.T) {
	f := &fakeCore{block: make(chan struct{})}
	a, _ := newTestAPI(t, f)
	done := make(chan error, 1)
	go func() {
		_, err := a.Up("shop", "", "")
		done <- err
	}()
	f.waitUps(t, 1)
	if _, err := a.Down("shop", false); err == nil {
		t.Error("Down while Up runs: no error")
	}
	if _, err := a.Down("other", false); err != nil {
		t.Errorf("Down of another environment: %v", err)
	}
	close(f.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := a.Down("shop", false); err != nil {
		t.Errorf("Down after Up finished: %v", err)
	}
}

func TestShutdownCancelsOperations(t *testing.T) {
	f := &fakeCore{block: make(chan struct{})}
	a, _ := newTestAPI(t, f)
	done := make(chan error, 1)
	go func() {
		_, err := a.Up("shop", "", "")
		done <- err
	}()
	f.waitUps(t, 1)
	a.shutdown(context.Background())
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Up after shutdown: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Up did not stop at shutdown")
	}
}

func TestOpenURL(t *testing.T) {
	a, _ := newTestAPI(t, &fakeCore{})
	var opened []string
	a.openURL = func(_ context.Context, u string) { opened = append(opened, u) }
	if err := a.OpenURL("http://127.0.0.1:8080/"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"file:///etc/passwd", "javascript:alert(1)", "http://"} {
		if err := a.OpenURL(bad); err == nil {
			t.Errorf("OpenURL(%q) opened", bad)
		}
	}
	if len(opened) != 1 || opened[0] != "http://127.0.0.1:8080/" {
		t.Fatalf("opened %v", opened)
	}
}

func TestRunWithoutWindowTags(t *testing.T) {
	if wailsRuns {
		t.Skip("built with the window tags")
	}
	if err := Run(nil, Options{Core: &fakeCore{}}); !errors.Is(err, ErrNoWindow) {
		t.Errorf("Run = %v, want ErrNoWindow", err)
	}
}

// Shown (called by the page once its first listing is drawn) is logged
// for the start-up benchmark, and only when logging is on.
func TestShownIsLogged(t *testing.T) {
	a, _ := newTestAPI(t, &fakeCore{})
	a.Shown(nil) // no logger: nothing happens
	var lines []string
	a.logf = func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	a.Shown(map[string]float64{"shown": 1540, "listingAsked": 1290})
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "Shown:") || !strings.Contains(lines[0], "listingAsked=1290ms shown=1540ms") {
		t.Fatalf("logged %q, want one line starting Shown: with the marks in order", lines)
	}
}
