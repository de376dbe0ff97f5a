// Package desktop is Berth's desktop window: a Wails v2 app whose one bound
// struct, API, exposes the core use cases to the frontend and pushes their
// progress as "berth:event" events. It decides nothing itself.
package desktop

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/berthdev/berth/internal/core"
)

// EventName is the Wails event that carries core.Event values to the
// frontend (frontend/src/api uses the same name).
const EventName = "berth:event"

// CoreAPI is the part of the core API the window calls; *core.Berth
// implements it, tests use a fake.
type CoreAPI interface {
	List(ctx context.Context) (*core.Listing, error)
	Up(ctx context.Context, req core.UpRequest, emit core.Emit) (*core.Result, error)
	Down(ctx context.Context, req core.DownRequest, emit core.Emit) (*core.Result, error)
}

// API is bound to the frontend: each exported method becomes
// window.go.desktop.API.<Method>, a promise that resolves with the result
// and rejects with the error's text.
type API struct {
	core CoreAPI
	// emit sends an event to the window; runtime.EventsEmit outside tests.
	emit func(ctx context.Context, name string, data ...any)
	// logf, when set, logs each call (BERTH_DEBUG; the smoke test waits
	// for the first listing this way).
	logf func(format string, args ...any)

	mu sync.Mutex
	// ctx is the context Wails hands to OnStartup. Wails' runtime calls
	// (runtime.EventsEmit and friends) find the window through it and
	// Wails calls bound methods without one, so the app must keep it: this
	// is the one place where Berth stores a context in a struct. It is
	// cancelled at shutdown, which also stops running operations.
	ctx    context.Context
	cancel context.CancelFunc
	busy   map[string]string // environment -> operation running on it
}

// NewAPI returns the bound API over c.
func NewAPI(c CoreAPI) *API {
	return &API{core: c, emit: runtime.EventsEmit, busy: map[string]string{}}
}

// startup is Wails' OnStartup hook. It is unexported so that Wails does
// not bind it for the frontend.
func (a *API) startup(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ctx, a.cancel = context.WithCancel(ctx)
}

// shutdown is Wails' OnShutdown hook: it cancels running operations.
func (a *API) shutdown(context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		a.cancel()
	}
}

func (a *API) context() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx == nil {
		return context.Background()
	}
	return a.ctx
}

// ListEnvironments returns the target, the definitions and the
// environments on the target.
func (a *API) ListEnvironments() (*core.Listing, error) {
	start := time.Now()
	l, err := a.core.List(a.context())
	if err != nil {
		a.log("ListEnvironments: %v", err)
		return nil, err
	}
	a.log("ListEnvironments: %d definitions, %d environments, engine %q %s (%s)",
		len(l.Definitions), len(l.Environments), l.Target.Host, l.Target.Error, time.Since(start).Round(time.Millisecond))
	return l, nil
}

// Up brings an environment up (from the definition of the same name when
// it does not exist yet), pushing progress events while it runs.
func (a *API) Up(env string) (*core.Result, error) {
	ctx, done, err := a.begin(env, "up")
	if err != nil {
		return nil, err
	}
	defer done()
	res, err := a.core.Up(ctx, core.UpRequest{Env: env}, a.emitter(ctx))
	a.log("Up %s: %v", env, errOrOK(err))
	return res, err
}

// Down removes an environment's containers and networks, and its volumes
// (its data) when volumes is true, pushing progress events while it runs.
func (a *API) Down(env string, volumes bool) (*core.Result, error) {
	ctx, done, err := a.begin(env, "down")
	if err != nil {
		return nil, err
	}
	defer done()
	res, err := a.core.Down(ctx, core.DownRequest{Env: env, Volumes: volumes}, a.emitter(ctx))
	a.log("Down %s (volumes %t): %v", env, volumes, errOrOK(err))
	return res, err
}

// begin marks env busy with op; one operation per environment at a time.
func (a *API) begin(env, op string) (context.Context, func(), error) {
	if env == "" {
		return nil, nil, errors.New("no environment named")
	}
	ctx := a.context()
	a.mu.Lock()
	defer a.mu.Unlock()
	if running, ok := a.busy[env]; ok {
		return nil, nil, fmt.Errorf("environment %q is busy: %s is running", env, running)
	}
	a.busy[env] = op
	return ctx, func() {
		a.mu.Lock()
		delete(a.busy, env)
		a.mu.Unlock()
	}, nil
}

func (a *API) log(format string, args ...any) {
	if a.logf != nil {
		a.logf(format, args...)
	}
}

func errOrOK(err error) any {
	if err != nil {
		return err
	}
	return "ok"
}

func (a *API) emitter(ctx context.Context) core.Emit {
	return func(ev core.Event) { a.emit(ctx, EventName, ev) }
}
