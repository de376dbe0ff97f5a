package core

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/reconcile"
)

// TestWatch follows the engine going down and up and an environment
// changing, with a fake engine and no polling.
func TestWatch(t *testing.T) {
	running := reconcile.Observed{Project: "web", Containers: []reconcile.Container{
		{Name: "web-app-1", Service: "app", Number: 1, Managed: true, State: reconcile.StateRunning, ConfigHash: "h",
			Labels: map[string]string{reconcile.LabelDefinition: "web"}}}}
	e := &fakeEngine{observed: map[string]reconcile.Observed{"web": running}, events: make(chan ContainerEvent, 4)}
	var up atomic.Bool
	b := New(func(context.Context) (Engine, error) {
		if !up.Load() {
			return nil, errors.New("dial unix /nope.sock: connect: no such file")
		}
		return e, nil
	}, fakeDefs{"web": web()})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	changes := make(chan Change, 16)
	done := make(chan error, 1)
	go func() {
		done <- b.WatchWith(ctx, WatchOptions{Settle: 10 * time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
			func(c Change) { changes <- c })
	}()
	next := func() Change {
		t.Helper()
		select {
		case c := <-changes:
			return c
		case <-ctx.Done():
			t.Fatal("no change came")
		}
		return Change{}
	}

	if c := next(); c.Kind != ChangeEngine || c.Engine.Up || !strings.Contains(c.Engine.Error, "/nope.sock") {
		t.Fatalf("want the engine reported down with its error, got %+v", c)
	}
	up.Store(true)
	if c := next(); c.Kind != ChangeEngine || !c.Engine.Up || c.Engine.Target.Host != "fake://engine" {
		t.Fatalf("want the engine reported up, got %+v", c)
	}
	// A burst of events of one environment is observed once.
	e.events <- ContainerEvent{Env: "web", Service: "app", Container: "web-app-1", Action: "create"}
	e.events <- ContainerEvent{Env: "web", Service: "app", Container: "web-app-1", Action: "start"}
	c := next()
	if c.Kind != ChangeEnvironment || c.Env != "web" || c.Environment == nil || c.Environment.State != StateRunning || c.Action != "start" {
		t.Fatalf("want web running after start, got %+v", c)
	}
	if len(c.Environment.Services) != 1 || c.Environment.Services[0].Name != "app" {
		t.Fatalf("want the environment with its services, got %+v", c.Environment)
	}
	select {
	case c := <-changes:
		t.Fatalf("a burst must make one change, got another: %+v", c)
	case <-time.After(50 * time.Millisecond):
	}
	e.observed["web"] = reconcile.Observed{Project: "web"}
	e.events <- ContainerEvent{Env: "web", Service: "app", Container: "web-app-1", Action: "destroy"}
	if c := next(); c.Kind != ChangeRemoved || c.Env != "web" {
		t.Fatalf("want web removed, got %+v", c)
	}
	// The engine goes away: the stream drops, Watch says so and waits.
	up.Store(false)
	close(e.events)
	if c := next(); c.Kind != ChangeEngine || c.Engine.Up {
		t.Fatalf("want the engine reported down again, got %+v", c)
	}
	e.events = make(chan ContainerEvent)
	up.Store(true)
	if c := next(); c.Kind != ChangeEngine || !c.Engine.Up {
		t.Fatalf("want the engine reported up again, got %+v", c)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch returned %v", err)
	}
}

// TestWatchReconnectBackoff: while the engine stays away the watch tries
// again after 100 ms, then doubles the wait up to 2 s and stays there (no
// busy loop); after a stream that ran a while it starts at 100 ms again.
// The waits are on a fake clock.
func TestWatchReconnectBackoff(t *testing.T) {
	var mu sync.Mutex
	calls, up := 0, false
	e := &fakeEngine{events: make(chan ContainerEvent)}
	b := New(func(context.Context) (Engine, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if !up {
			return nil, errors.New("dial unix /nope.sock: connect: no such file")
		}
		return e, nil
	}, fakeDefs{})
	attempts := func() int { mu.Lock(); defer mu.Unlock(); return calls }
	setUp := func(v bool) { mu.Lock(); up = v; mu.Unlock() }
	clock := newFakeClock(b)
	log := newChangeLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Watch(ctx, log.out) }()
	defer func() { cancel(); <-done }()

	// next checks that the attempt after n comes after exactly d.
	next := func(n int, d time.Duration) {
		t.Helper()
		clock.waitTimer(t)
		clock.advance(d - time.Millisecond)
		time.Sleep(20 * time.Millisecond)
		if got := attempts(); got != n {
			t.Fatalf("attempt %d came before %s", got, d)
		}
		clock.advance(time.Millisecond)
		deadline := time.Now().Add(5 * time.Second)
		for attempts() == n {
			if time.Now().After(deadline) {
				t.Fatalf("no attempt %d after %s", n+1, d)
			}
			time.Sleep(time.Millisecond)
		}
	}
	log.await("the engine down", engineUp(false))
	for _, d := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second, 2 * time.Second, 2 * time.Second} {
		next(attempts(), d)
	}
	setUp(true)
	log.mark()
	next(attempts(), 2*time.Second)
	log.await("the engine up", engineUp(true))
	clock.advance(3 * time.Second) // the stream runs a while
	log.mark()
	setUp(false)
	close(e.events)
	log.await("the engine down again", engineUp(false))
	next(attempts(), 100*time.Millisecond)
	next(attempts(), 200*time.Millisecond)
}

func TestRecreate(t *testing.T) {
	existing := reconcile.Observed{Project: "web-pr1", Networks: []reconcile.Object{{Name: "web-pr1_default", Key: "default", Managed: true}},
		Containers: []reconcile.Container{{ID: "c1", Name: "web-pr1-app-1", Service: "app", Number: 1, Managed: true, ConfigHash: "h", State: reconcile.StateRunning,
			Labels: map[string]string{reconcile.LabelDefinition: "web"}}},
		Images: map[string]reconcile.Image{"app:1": {ID: "sha256:app"}}}
	e := &fakeEngine{observed: map[string]reconcile.Observed{"web-pr1": existing}}
	b := newBerth(e, fakeDefs{"web": web()})

	preview, err := b.PlanRecreate(context.Background(), "web-pr1", "app")
	if err != nil {
		t.Fatal(err)
	}
	var events []Event
	res, err := b.Recreate(context.Background(), "web-pr1", "app", func(ev Event) { events = append(events, ev) })
	if err != nil {
		t.Fatal(err)
	}
	want := " 1 recreate-container web-pr1-app-1  recreate asked\n"
	if preview.Plan.Render() != want || res.Plan.Render() != want {
		t.Fatalf("want one recreate asked, got preview:\n%s\nrun:\n%s", preview.Plan.Render(), res.Plan.Render())
	}
	if len(events) == 0 || events[0].Kind != "plan" {
		t.Fatalf("want the plan sent first, got %+v", events)
	}
	if _, err := b.Recreate(context.Background(), "web-pr1", "nope", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown service: want ErrNotFound, got %v", err)
	}
	if _, err := b.Recreate(context.Background(), "gone", "app", nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown environment: want ErrNotFound, got %v", err)
	}
}

func TestPlanDown(t *testing.T) {
	existing := reconcile.Observed{Project: "web", Containers: []reconcile.Container{{Name: "web-app-1", Service: "app", Number: 1, Managed: true}},
		Volumes: []reconcile.Object{{Name: "web_data", Key: "data", Managed: true}}}
	e := &fakeEngine{observed: map[string]reconcile.Observed{"web": existing}}
	b := newBerth(e, fakeDefs{"web": web()})
	res, err := b.PlanDown(context.Background(), DownRequest{Env: "web", Volumes: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan.Ops) != 2 || res.Plan.Ops[1].Kind != reconcile.OpRemoveVolume || len(e.applied) != 0 {
		t.Fatalf("want a plan removing the container and the volume, applied nothing; got\n%s(applied %d)", res.Plan.Render(), len(e.applied))
	}
}
