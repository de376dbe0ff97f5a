package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// fakeClock is the clock of the watch loops' unit tests: time moves only
// when the test advances it, and timers fire then.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

// newFakeClock gives b a fake clock.
func newFakeClock(b *Berth) *fakeClock {
	c := &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	b.now, b.after = c.now, c.after
	return c
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) after(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.t
		return ch
	}
	c.timers = append(c.timers, fakeTimer{at: c.t.Add(d), c: ch})
	return ch
}

// advance moves the clock on by d and fires the timers due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.t) {
			kept = append(kept, t)
			continue
		}
		t.c <- c.t
	}
	c.timers = kept
}

// waitTimer waits until a timer is pending (the loop under test sleeps).
func (c *fakeClock) waitTimer(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.timers)
		c.mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing waits on the clock")
		}
		time.Sleep(time.Millisecond)
	}
}

// blockingFetcher counts fetches; each one lasts until the watch ends,
// so that every fetch loop fetches exactly once.
type blockingFetcher struct {
	mu    sync.Mutex
	calls int
}

func (f *blockingFetcher) Fetch(ctx context.Context) (bool, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	<-ctx.Done()
	return false, ctx.Err()
}

func (f *blockingFetcher) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// changeLog collects the changes a watch sends. Changes that come from
// two sides (state and drift) arrive in either order: await looks at
// every change since the last mark.
type changeLog struct {
	t    *testing.T
	mu   sync.Mutex
	seen []Change
	from int
}

func newChangeLog(t *testing.T) *changeLog { return &changeLog{t: t} }

func (l *changeLog) out(c Change) {
	l.mu.Lock()
	l.seen = append(l.seen, c)
	l.mu.Unlock()
}

// mark makes later awaits look only at changes sent from now on.
func (l *changeLog) mark() {
	l.mu.Lock()
	l.from = len(l.seen)
	l.mu.Unlock()
}

func (l *changeLog) find(ok func(Change) bool) (Change, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.seen[l.from:] {
		if ok(c) {
			return c, true
		}
	}
	return Change{}, false
}

// await waits for a change since the last mark that ok accepts.
func (l *changeLog) await(what string, ok func(Change) bool) Change {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, found := l.find(ok); found {
			return c
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("no change: %s within 10 s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// none fails when a change since the last mark, or one within d, is one
// that bad accepts.
func (l *changeLog) none(what string, d time.Duration, bad func(Change) bool) {
	l.t.Helper()
	time.Sleep(d)
	if c, found := l.find(bad); found {
		l.t.Fatalf("unexpected change (%s): %+v", what, c)
	}
}

func engineUp(up bool) func(Change) bool {
	return func(c Change) bool { return c.Kind == ChangeEngine && c.Engine != nil && c.Engine.Up == up }
}

func driftOf(ok func(*DriftReport) bool) func(Change) bool {
	return func(c Change) bool { return c.Kind == ChangeDrift && ok(c.Drift) }
}

// TestWatchAllOneStreamOneFetch: the apps' combined watch runs one event
// stream per engine connection and one fetch loop, whose events feed both
// the state changes and the drift checks; an engine drop still reports
// every drift unknown and resyncs afresh once the engine is back, on a
// new stream.
func TestWatchAllOneStreamOneFetch(t *testing.T) {
	f := newDriftFake()
	fetcher := &blockingFetcher{}
	b := New(f.source, fakeDefs{"web": driftProject(spec.DriftWarn)}, WithFetch(fetcher, func() time.Duration { return time.Millisecond }))
	log := newChangeLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- b.WatchAll(ctx, DriftWatchOptions{Resync: time.Hour, Watch: WatchOptions{Settle: 10 * time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}}, log.out)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("WatchAll returned %v", err)
		}
	}()

	log.await("the engine up", engineUp(true))
	log.await("web in sync", driftOf(inSync))
	if !awaitLiveMany(t, f) {
		t.Error("the first round was not a fresh one")
	}

	// One stream and one fetch loop (the app ran two of each, and a
	// third stream, before they were one loop).
	deadline := time.Now().Add(5 * time.Second)
	for fetcher.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a second loop would fetch within 1 ms
	if n := fetcher.count(); n != 1 {
		t.Errorf("%d fetches, want 1 (one fetch loop)", n)
	}
	if events, drift := f.opened(); events != 0 || drift != 1 {
		t.Errorf("streams opened: %d Events and %d DriftEvents, want 0 and 1", events, drift)
	}

	// A lifecycle event: web's state is reported and its drift checked,
	// from the one stream.
	f.setState(reconcile.StateExited)
	log.mark()
	f.events <- die("web")
	c := log.await("web's state", func(c Change) bool { return c.Kind == ChangeEnvironment })
	if c.Env != "web" || c.Environment == nil || c.Service != "app" || c.Action != "die" {
		t.Errorf("state change %+v, want web with its state, after app died", c)
	}
	log.await("web stopped", driftOf(stopped))
	if awaitLiveMany(t, f) {
		t.Error("an event-driven check read everything anew")
	}
	// Finer events lead to a drift check only.
	f.setState(reconcile.StateRunning)
	log.mark()
	f.events <- ContainerEvent{Env: "web", Service: "app", Container: "web-app-1", Action: "update"}
	log.await("web in sync again", driftOf(inSync))
	awaitLiveMany(t, f)
	f.setState(reconcile.StateExited)
	log.mark()
	f.events <- ContainerEvent{Network: "web_default", Container: "c9", Action: "connect"}
	log.await("web stopped, after a network event", driftOf(stopped))
	awaitLiveMany(t, f)
	log.none("no state change for update and connect", 50*time.Millisecond, func(c Change) bool { return c.Kind == ChangeEnvironment })

	// The engine goes away: reported once, every drift unknown.
	log.mark()
	f.cut()
	log.await("the engine down", engineUp(false))
	u := log.await("web unknown", driftOf(func(r *DriftReport) bool { return r.Unknown }))
	if u.Drift.InSync || u.Drift.Definition != "web" {
		t.Errorf("unknown report %+v, want not in sync, keeping the definition", u.Drift)
	}
	f.setState(reconcile.StateRunning) // a change nobody hears of
	log.mark()
	f.restore()
	log.await("the engine up again", engineUp(true))
	log.await("web in sync after the engine came back", driftOf(inSync))
	if !awaitLiveMany(t, f) {
		t.Error("the check after the engine came back used kept inspects, want everything read anew")
	}
	if events, drift := f.opened(); events != 0 || drift != 2 {
		t.Errorf("streams opened: %d Events and %d DriftEvents, want 0 and 2 (one per connection)", events, drift)
	}
	if n := fetcher.count(); n != 1 {
		t.Errorf("%d fetches after the reconnection, want still 1", n)
	}
}

// noFinerEvents hides the engine's DriftEvents.
type noFinerEvents struct {
	Engine
	LiveBatchObserver
}

// TestWatchDriftFollowsEventsWithoutFinerOnes: on an engine without the
// finer stream the drift loop follows Events, one stream per connection.
func TestWatchDriftFollowsEventsWithoutFinerOnes(t *testing.T) {
	f := newDriftFake()
	b := New(func(ctx context.Context) (Engine, error) {
		e, err := f.source(ctx)
		if err != nil {
			return nil, err
		}
		return noFinerEvents{e, f}, nil
	}, fakeDefs{"web": driftProject(spec.DriftWarn)})
	reports := watchDrift(t, b, DriftWatchOptions{Resync: time.Hour})
	awaitReport(t, reports, "in sync", inSync)
	awaitLiveMany(t, f)
	f.setState(reconcile.StateExited)
	f.events <- die("web")
	awaitReport(t, reports, "stopped", stopped)
	if events, drift := f.opened(); events != 1 || drift != 0 {
		t.Errorf("streams opened: %d Events and %d DriftEvents, want 1 and 0", events, drift)
	}
}

// flakyDefs fails to load every definition while err is set, and says
// which definitions were loaded.
type flakyDefs struct {
	fakeDefs
	mu    sync.Mutex
	err   error
	loads chan string
}

func (d *flakyDefs) Load(ctx context.Context, name string, opts spec.LoadOptions) (*spec.Project, error) {
	d.loads <- name
	d.mu.Lock()
	err := d.err
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return d.fakeDefs.Load(ctx, name, opts)
}

func (d *flakyDefs) fail(err error) {
	d.mu.Lock()
	d.err = err
	d.mu.Unlock()
}

// TestWatchDriftHoldsFailingEnvironment: an environment whose check fails
// (its definition no longer loads, or is gone while its containers run)
// is reported unknown, not removed, and checked at most once per
// FailedRecheck however many events arrive; the last event is still
// honoured when the wait ends, and once it checks again it is checked at
// each event.
func TestWatchDriftHoldsFailingEnvironment(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"definition gone", fmt.Errorf("definition %q: %w in /defs", "web", ErrNotFound)},
		{"definition does not load", errors.New("environments/web/compose.yaml:3: services.app.image: must be a string")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newDriftFake()
			defs := &flakyDefs{fakeDefs: fakeDefs{"web": driftProject(spec.DriftWarn)}, loads: make(chan string, 100)}
			b := New(f.source, defs)
			clock := newFakeClock(b)
			log := newChangeLog(t)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				b.WatchDrift(ctx, DriftWatchOptions{Resync: time.Hour, FailedRecheck: 5 * time.Second}, log.out)
			}()
			defer func() { cancel(); <-done }()

			checked := func(what string) {
				t.Helper()
				select {
				case <-defs.loads:
				case <-time.After(10 * time.Second):
					t.Fatalf("no check %s", what)
				}
			}
			notChecked := func(what string) {
				t.Helper()
				select {
				case <-defs.loads:
					t.Fatalf("a check %s", what)
				case <-time.After(150 * time.Millisecond):
				}
			}
			log.await("web in sync", driftOf(inSync))
			checked("first")

			defs.fail(tt.err)
			log.mark()
			f.events <- die("web")
			checked("after the first event")
			u := log.await("web unknown", driftOf(func(r *DriftReport) bool { return r.Unknown }))
			if u.Drift.InSync || len(u.Drift.Notes) == 0 || !strings.Contains(u.Drift.Notes[0], tt.err.Error()) {
				t.Errorf("unknown report %+v, want not in sync, saying why", u.Drift)
			}

			for range 3 {
				f.events <- die("web")
			}
			notChecked("for events within the wait")
			clock.advance(4 * time.Second)
			notChecked("before the wait ended")
			clock.advance(time.Second)
			checked("for the held events once the wait ended")
			notChecked("more than once for the held events")

			f.events <- die("web") // it failed again: held again
			notChecked("right after the held check failed")
			defs.fail(nil)
			log.mark()
			clock.advance(5 * time.Second)
			checked("for the event held by the second failure")
			log.await("web in sync once its definition loads", driftOf(inSync))
			f.events <- die("web")
			checked("at once, once checks work again")
			log.mark()
			log.mu.Lock()
			log.from = 0 // every change the watch sent
			log.mu.Unlock()
			log.none("web removed", 50*time.Millisecond, func(c Change) bool { return c.Kind == ChangeRemoved })
		})
	}
}

// An environment whose very first check fails is reported unknown, saying
// why, rather than not at all (the app would show nothing for it).
func TestWatchDriftReportsAFirstCheckThatFails(t *testing.T) {
	f := newDriftFake()
	defs := &flakyDefs{fakeDefs: fakeDefs{"web": driftProject(spec.DriftWarn)}, loads: make(chan string, 100)}
	bad := errors.New("environments/web/compose.yaml:3: services.app.image: must be a string")
	defs.fail(bad)
	b := New(f.source, defs)
	log := newChangeLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.WatchDrift(ctx, DriftWatchOptions{Resync: time.Hour}, log.out)
	}()
	defer func() { cancel(); <-done }()
	u := log.await("web unknown", driftOf(func(r *DriftReport) bool { return r.Unknown }))
	if u.Drift.InSync || len(u.Drift.Notes) == 0 || !strings.Contains(u.Drift.Notes[0], bad.Error()) {
		t.Errorf("first report %+v, want unknown saying why", u.Drift)
	}
}
