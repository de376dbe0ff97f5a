package core

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// driftFake is an engine for the drift loop's unit tests: one environment
// "web" with one container whose state the test sets, an event stream the
// test feeds and can cut, and an engine that can stop answering. It
// counts the event streams opened.
type driftFake struct {
	fakeEngine

	mu    sync.Mutex
	state string // the container's state: running, exited
	down  bool   // the engine does not answer
	drop  chan struct{}
	// liveMany receives the fresh flag of every LiveMany call.
	liveMany chan bool
	// hold, when set, makes the next LiveMany read the state, then wait
	// until it is closed before answering (a check overtaken by an event).
	hold    chan struct{}
	holding chan struct{}
	applied int
	// events feeds whichever stream is open (Events passes on only the
	// lifecycle actions, as the engine adapter does).
	events chan ContainerEvent
	// streams counts the Events and DriftEvents streams opened.
	streams, driftStreams int
	// ack, when set, is closed once the next event has been handed to the
	// stream's receiver and it returned (see deliver).
	ack chan struct{}
}

// deliver sends ev and waits until the open stream's receiver has taken
// it in.
func (f *driftFake) deliver(t *testing.T, ev ContainerEvent) {
	t.Helper()
	ack := make(chan struct{})
	f.mu.Lock()
	f.ack = ack
	f.mu.Unlock()
	f.events <- ev
	select {
	case <-ack:
	case <-time.After(10 * time.Second):
		t.Fatal("the event never reached the watcher")
	}
}

func newDriftFake() *driftFake {
	return &driftFake{state: reconcile.StateRunning, drop: make(chan struct{}), liveMany: make(chan bool, 100), events: make(chan ContainerEvent, 10)}
}

// die is the event of web's container dying.
func die(env string) ContainerEvent {
	return ContainerEvent{Env: env, Service: "app", Container: env + "-app-1", Action: "die"}
}

// opened says how many Events and DriftEvents streams were opened.
func (f *driftFake) opened() (events, drift int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.streams, f.driftStreams
}

func driftProject(policy string) *spec.Project {
	return &spec.Project{Name: "web", Drift: &spec.DriftSettings{Policy: policy},
		Services: []spec.Service{{Name: "app", Image: "app:1", Replicas: 1, Hash: "h"}}}
}

func (f *driftFake) source(context.Context) (Engine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, engineError{errors.New("cannot connect to the fake engine")}
	}
	return f, nil
}

// cut makes the engine stop answering and drops its event streams.
func (f *driftFake) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	close(f.drop)
}

// restore makes the engine answer again.
func (f *driftFake) restore() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = false
	f.drop = make(chan struct{})
}

func (f *driftFake) setState(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state = s
}

func (f *driftFake) dropped() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drop
}

func (f *driftFake) observedNow() reconcile.Observed {
	f.mu.Lock()
	defer f.mu.Unlock()
	return reconcile.Observed{Project: "web", Containers: []reconcile.Container{{Name: "web-app-1", Service: "app", Number: 1, Managed: true,
		State: f.state, ConfigHash: "h", Labels: map[string]string{reconcile.LabelDefinition: "web"}}},
		Images: map[string]reconcile.Image{"app:1": {ID: "sha256:app"}}}
}

func (f *driftFake) ObserveProject(context.Context, string) (reconcile.Observed, error) {
	return f.observedNow(), nil
}

func (f *driftFake) Observe(context.Context, *spec.Project) (reconcile.Observed, error) {
	return f.observedNow(), nil
}

func (f *driftFake) Environments(context.Context) ([]reconcile.Observed, error) {
	return []reconcile.Observed{f.observedNow()}, nil
}

func (f *driftFake) Apply(context.Context, *spec.Project, reconcile.Plan, ApplyOptions, func(reconcile.Progress)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied++ // the container stays as it is: healing does not help
	return nil
}

func (f *driftFake) appliedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

func (f *driftFake) live() drift.Live {
	f.mu.Lock()
	defer f.mu.Unlock()
	return drift.Live{Project: "web", Images: map[string]string{"app:1": "sha256:app"}, Networks: []drift.Network{},
		Containers: []drift.Container{{ID: "c1", Name: "web-app-1", Project: "web", Service: "app", Number: 1, Managed: true,
			ConfigHash: "h", State: f.state, Image: "app:1", ImageID: "sha256:app"}}}
}

func (f *driftFake) Live(context.Context, *spec.Project) (drift.Live, error) { return f.live(), nil }

func (f *driftFake) LiveMany(ctx context.Context, ps []*spec.Project, fresh bool) (map[string]drift.Live, error) {
	l := f.live() // read first: what a slow inspect would return
	f.mu.Lock()
	hold, holding := f.hold, f.holding
	f.hold = nil
	f.mu.Unlock()
	if hold != nil {
		close(holding)
		<-hold
	}
	f.liveMany <- fresh
	return map[string]drift.Live{"web": l}, nil
}

// Events follows the engine's lifecycle events until it is cut.
func (f *driftFake) Events(ctx context.Context, out func(ContainerEvent)) error {
	f.mu.Lock()
	f.streams++
	f.mu.Unlock()
	return f.follow(ctx, func(ev ContainerEvent) {
		if ev.Network == "" && stateActions[ev.Action] {
			out(ev)
		}
	})
}

// DriftEvents follows every event until the engine is cut.
func (f *driftFake) DriftEvents(ctx context.Context, out func(ContainerEvent)) error {
	f.mu.Lock()
	f.driftStreams++
	f.mu.Unlock()
	return f.follow(ctx, out)
}

func (f *driftFake) follow(ctx context.Context, out func(ContainerEvent)) error {
	drop := f.dropped()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-drop:
			return errors.New("the fake engine went away")
		case ev := <-f.events:
			out(ev)
			f.mu.Lock()
			if f.ack != nil {
				close(f.ack)
				f.ack = nil
			}
			f.mu.Unlock()
		}
	}
}

// watchDrift runs WatchDrift on b until the test ends and returns its
// reports.
func watchDrift(t *testing.T, b *Berth, opts DriftWatchOptions) <-chan *DriftReport {
	t.Helper()
	reports := make(chan *DriftReport, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.WatchDrift(ctx, opts, func(c Change) {
			if c.Kind == ChangeDrift {
				reports <- c.Drift
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return reports
}

func awaitReport(t *testing.T, reports <-chan *DriftReport, what string, ok func(*DriftReport) bool) *DriftReport {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case r := <-reports:
			if ok(r) {
				return r
			}
		case <-deadline:
			t.Fatalf("no report %s within 10 s", what)
		}
	}
}

func inSync(r *DriftReport) bool { return r.InSync && !r.Unknown }

func stopped(r *DriftReport) bool {
	for _, it := range r.Runtime {
		if it.Kind == drift.KindStopped {
			return true
		}
	}
	return false
}

func awaitLiveMany(t *testing.T, f *driftFake) bool {
	t.Helper()
	select {
	case fresh := <-f.liveMany:
		return fresh
	case <-time.After(10 * time.Second):
		t.Fatal("no check within 10 s")
	}
	return false
}

// TestWatchDriftEngineDrops: when the engine goes away every report is
// sent again as unknown (never a stale "in sync"), and once it answers
// again everything is checked anew (fresh) and reported in sync.
func TestWatchDriftEngineDrops(t *testing.T) {
	f := newDriftFake()
	b := New(f.source, fakeDefs{"web": driftProject(spec.DriftWarn)})
	reports := watchDrift(t, b, DriftWatchOptions{Resync: time.Hour})
	awaitReport(t, reports, "in sync", inSync)
	if !awaitLiveMany(t, f) {
		t.Error("the first round was not a fresh one")
	}

	f.cut()
	u := awaitReport(t, reports, "unknown", func(r *DriftReport) bool { return r.Unknown })
	if u.InSync || len(u.Notes) == 0 || u.Definition != "web" {
		t.Errorf("unknown report = %+v, want not in sync, with a note, keeping the definition", u)
	}

	f.restore()
	awaitReport(t, reports, "in sync after the engine came back", inSync)
	if !awaitLiveMany(t, f) { // nothing was asked of the engine while it was away
		t.Error("the check after the engine came back used kept inspects, want everything read anew")
	}
}

// TestWatchDriftEventDuringCheck: an event that arrives while a check
// runs leads to another check, so a check that read the engine before the
// change cannot leave "in sync" as the last word.
func TestWatchDriftEventDuringCheck(t *testing.T) {
	f := newDriftFake()
	b := New(f.source, fakeDefs{"web": driftProject(spec.DriftWarn)})
	reports := watchDrift(t, b, DriftWatchOptions{Resync: time.Hour})
	awaitReport(t, reports, "in sync", inSync)
	awaitLiveMany(t, f)

	hold, holding := make(chan struct{}), make(chan struct{})
	f.mu.Lock()
	f.hold, f.holding = hold, holding
	f.mu.Unlock()
	f.events <- die("web") // a first event: a check starts and reads "running"
	select {
	case <-holding:
	case <-time.After(10 * time.Second):
		t.Fatal("no check started")
	}
	f.setState(reconcile.StateExited) // the container dies during the check
	f.deliver(t, die("web"))          // the event reaches the loop
	close(hold)                       // the check ends with what it read: running
	awaitLiveMany(t, f)
	awaitLiveMany(t, f) // the second check, caused by the event
	awaitReport(t, reports, "stopped", stopped)
}

// TestWatchDriftHealBackoff: an environment whose policy is heal is
// healed at once, then again only after a back-off that doubles while it
// stays drifted; pausing healing stops it until the pause ends.
func TestWatchDriftHealBackoff(t *testing.T) {
	f := newDriftFake()
	f.setState(reconcile.StateExited)
	b := New(f.source, fakeDefs{"web": driftProject(spec.DriftHeal)})
	clock := newFakeClock(b)
	advance := clock.advance
	watchDrift(t, b, DriftWatchOptions{Resync: time.Hour, HealMinBackoff: 5 * time.Second, HealMaxBackoff: 20 * time.Second})

	// check asks for one event-driven check and waits until it began
	// (heals read the engine afresh; an event-driven check does not). The
	// round before it, heal included, is then over.
	check := func() {
		t.Helper()
		f.events <- die("web")
		for awaitLiveMany(t, f) {
		}
	}
	awaitLiveMany(t, f) // the first round began: drifted, healed
	steps := []struct {
		advance time.Duration
		applied int // after the step's check
	}{
		{0, 1},               // healed at once
		{2 * time.Second, 1}, // within 5 s
		{3 * time.Second, 2}, // 5 s on: healed, next wait 10 s
		{5 * time.Second, 2},
		{5 * time.Second, 3}, // 10 s on: healed, next wait 20 s
		{19 * time.Second, 3},
		{time.Second, 4}, // 20 s on: healed, the wait stays at the maximum
		{20 * time.Second, 5},
	}
	for i, s := range steps {
		advance(s.advance)
		check()
		check() // the step's round is over once the next one began
		if got := f.appliedCount(); got != s.applied {
			t.Fatalf("step %d (+%s): %d heals, want %d", i, s.advance, got, s.applied)
		}
	}

	until := b.PauseHealing("web", 10*time.Minute)
	if !until.Equal(clock.now().Add(10*time.Minute)) || !b.HealingPausedUntil("web").Equal(until) {
		t.Fatalf("paused until %v, HealingPausedUntil %v", until, b.HealingPausedUntil("web"))
	}
	advance(time.Minute) // past the back-off, within the pause
	check()
	check()
	if got := f.appliedCount(); got != 5 {
		t.Fatalf("healed while paused: %d heals, want 5", got)
	}
	advance(10 * time.Minute) // the pause ends by itself
	if !b.HealingPausedUntil("web").IsZero() {
		t.Fatal("still paused after the pause ended")
	}
	check()
	check()
	if got := f.appliedCount(); got != 6 {
		t.Fatalf("after the pause: %d heals, want 6", got)
	}
	b.PauseHealing("web", time.Hour)
	b.PauseHealing("web", 0) // resumes
	if !b.HealingPausedUntil("web").IsZero() {
		t.Fatal("PauseHealing(0) did not resume healing")
	}
}
