package core

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Change kinds.
const (
	// ChangeEngine: the engine went up or down (Change.Engine says which).
	// After an "up" the watcher may have missed changes: reload everything.
	ChangeEngine = "engine"
	// ChangeEnvironment: an environment's state changed
	// (Change.Environment is its new state).
	ChangeEnvironment = "environment"
	// ChangeRemoved: an environment has nothing left on the engine.
	ChangeRemoved = "removed"
	// ChangeRepo: a fetch of the definitions repo moved its refs, failed,
	// or worked again after failing (Change.Repo says which). After a move,
	// reload revisions: an update may be available.
	ChangeRepo = "repo"
	// ChangeDrift: an environment's drift report changed (Change.Drift);
	// see WatchDrift and WatchAll.
	ChangeDrift = "drift"
	// ChangeDevelop (develop.go) is what a watched environment did
	// (Change.Develop).
)

// Change is a live state change, pushed to the UI so that it never polls.
type Change struct {
	Time time.Time `json:"time"`
	Kind string    `json:"kind"` // ChangeEngine, ChangeEnvironment, ChangeRemoved
	Env  string    `json:"env,omitempty"`
	// Environment is the environment's state after the change, with its
	// services (as Status returns it).
	Environment *Environment `json:"environment,omitempty"`
	// Engine is the engine's state (ChangeEngine).
	Engine *EngineState `json:"engine,omitempty"`
	// Repo is the outcome of a background fetch (ChangeRepo).
	Repo *RepoState `json:"repo,omitempty"`
	// Drift is the environment's drift report (ChangeDrift).
	Drift *DriftReport `json:"drift,omitempty"`
	// Develop is what a watched environment did (ChangeDevelop).
	Develop *DevEvent `json:"develop,omitempty"`
	// Service, Container and Action name the engine event behind an
	// environment change (the last one of a burst).
	Service   string `json:"service,omitempty"`
	Container string `json:"container,omitempty"`
	Action    string `json:"action,omitempty"`
}

// EngineState says whether the engine answers.
type EngineState struct {
	Up     bool   `json:"up"`
	Target Target `json:"target"`
	// Error says why the engine cannot be reached.
	Error string `json:"error,omitempty"`
}

// WatchOptions tune Watch; the zero value is what the apps use.
type WatchOptions struct {
	// Settle is how long a burst of events of one environment is gathered
	// before its state is observed once (default 150 ms).
	Settle time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts (default 100 ms and 2 s): the first attempt comes soon
	// after the engine went away, then the wait doubles up to the
	// maximum while it stays away, which bounds how long a restarted
	// engine goes unnoticed.
	MinBackoff, MaxBackoff time.Duration
}

// Watch reports live state changes of every Berth environment until ctx
// ends, then returns nil. With a fetcher (WithFetch) it also fetches the
// definitions repo on its interval and reports each move (ChangeRepo). It
// follows the engine's event stream and, when the engine cannot be
// reached or the stream drops, reports the engine down and reconnects
// with back-off, reporting it up again when it answers. out is never
// called concurrently. WatchAll is Watch and WatchDrift in one loop.
func (b *Berth) Watch(ctx context.Context, out func(Change)) error {
	return b.WatchWith(ctx, WatchOptions{}, out)
}

// WatchWith is Watch with options.
func (b *Berth) WatchWith(ctx context.Context, opts WatchOptions, out func(Change)) error {
	return b.watch(ctx, opts, out, nil)
}

// stateActions are the container actions that may change an
// environment's state (those Events reports).
var stateActions = map[string]bool{"create": true, "start": true, "die": true, "stop": true, "health_status": true, "destroy": true}

// watch is the one loop over the engine and the definitions repo behind
// Watch, WatchDrift and WatchAll: it connects to the engine (again, with
// back-off), opens one event stream per connection and runs one fetch
// loop. With out it observes and reports environment state changes, and
// passes on the engine's ups and downs and the repo's moves. With dw it
// hands the drift loop every engine event, up, down and repo move;
// the stream is then the engine's finer one (DriftEventStream) when it
// has it, which carries the container events Events would.
//
// One function on purpose: the connection, the stream and the back-off
// share their state (the last report, the backoff, the time the stream
// opened), which helpers would have to pass back and forth.
func (b *Berth) watch(ctx context.Context, opts WatchOptions, out func(Change), dw *driftWatcher) error {
	if opts.Settle <= 0 {
		opts.Settle = 150 * time.Millisecond
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(2*time.Second, opts.MinBackoff)
	}
	var outMu sync.Mutex
	send := func(c Change) {
		if c.Time.IsZero() {
			c.Time = b.now()
		}
		outMu.Lock()
		defer outMu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if out != nil {
			out(c)
		}
		if dw != nil {
			dw.change(c)
		}
	}
	var last *bool // engine up, as last reported
	report := func(up bool, st EngineState) {
		if last != nil && *last == up {
			return
		}
		last = &up
		send(Change{Kind: ChangeEngine, Engine: &st})
	}
	var fetching sync.WaitGroup
	defer fetching.Wait()
	fetching.Add(1)
	go func() {
		defer fetching.Done()
		b.watchRepo(ctx, send)
	}()
	backoff := opts.MinBackoff
	for {
		e, err := b.eng(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			report(true, EngineState{Up: true, Target: e.Target(ctx)})
			var w *envWatcher
			if out != nil {
				w = &envWatcher{b: b, e: e, settle: opts.Settle, send: send, pending: map[string]*time.Timer{}}
			}
			opened := b.now()
			b.follow(ctx, e, w, dw) // how it ended is read from the engine below
			if w != nil {
				w.stop()
			}
			if ctx.Err() != nil {
				return nil
			}
			if b.now().Sub(opened) > opts.MaxBackoff {
				backoff = opts.MinBackoff // it ran a while: start over
			}
			// The next round's connection attempt says whether the engine
			// is gone or only the stream dropped (what the stream ended
			// with does not matter: a stream that ends is reopened).
			if _, perr := b.eng(ctx); perr != nil {
				err = perr
			} else {
				// The engine answers: only the stream dropped. Reopen it,
				// and reload in case a change was missed meanwhile.
				last = nil
				if !b.sleep(ctx, backoff) {
					return nil
				}
				backoff = min(2*backoff, opts.MaxBackoff)
				continue
			}
		}
		report(false, EngineState{Up: false, Error: err.Error()})
		if !b.sleep(ctx, backoff) {
			return nil
		}
		backoff = min(2*backoff, opts.MaxBackoff)
	}
}

// follow opens one event stream on e and hands its events to w (state
// changes) and dw (drift checks), either of which may be nil, until the
// stream ends.
func (b *Berth) follow(ctx context.Context, e Engine, w *envWatcher, dw *driftWatcher) error {
	if ds, ok := e.(DriftEventStream); ok && dw != nil {
		return ds.DriftEvents(ctx, func(ev ContainerEvent) {
			if w != nil && ev.Network == "" && stateActions[ev.Action] {
				w.event(ev)
			}
			dw.event(ev)
		})
	}
	return e.Events(ctx, func(ev ContainerEvent) {
		if w != nil {
			w.event(ev)
		}
		if dw != nil {
			dw.event(ev)
		}
	})
}

// sleep waits d on b's clock.
func (b *Berth) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-b.after(d):
		return true
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// envWatcher turns container events into environment changes: events of
// one environment within the settle time are observed once.
type envWatcher struct {
	b      *Berth
	e      Engine
	settle time.Duration
	send   func(Change)

	mu      sync.Mutex
	pending map[string]*time.Timer
	lastEv  map[string]ContainerEvent
	stopped bool
	wg      sync.WaitGroup
}

func (w *envWatcher) event(ev ContainerEvent) {
	if ev.Env == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if w.lastEv == nil {
		w.lastEv = map[string]ContainerEvent{}
	}
	w.lastEv[ev.Env] = ev
	if _, ok := w.pending[ev.Env]; ok {
		return
	}
	env := ev.Env
	w.wg.Add(1)
	w.pending[env] = time.AfterFunc(w.settle, func() {
		defer w.wg.Done()
		w.mu.Lock()
		delete(w.pending, env)
		last := w.lastEv[env]
		stopped := w.stopped
		w.mu.Unlock()
		if !stopped {
			w.observe(env, last)
		}
	})
}

func (w *envWatcher) observe(env string, ev ContainerEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := Change{Env: env, Service: ev.Service, Container: ev.Container, Action: ev.Action}
	s, err := w.b.status(ctx, w.e, env)
	switch {
	case errors.Is(err, ErrNotFound):
		c.Kind = ChangeRemoved
	case err != nil:
		return // the engine went away: the stream says so next
	default:
		c.Kind, c.Environment = ChangeEnvironment, s
	}
	w.send(c)
}

// stop cancels pending observations and waits for running ones.
func (w *envWatcher) stop() {
	w.mu.Lock()
	w.stopped = true
	for env, t := range w.pending {
		if t.Stop() {
			w.wg.Done()
		}
		delete(w.pending, env)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
