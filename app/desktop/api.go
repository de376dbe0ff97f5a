// Package desktop is Berth's desktop window: a Wails v2 app whose one bound
// struct, API, exposes the API surface of app/api to the frontend and
// pushes its events ("berth:event" progress, "berth:change" live state,
// "berth:log" log lines) with runtime.EventsEmit. It decides nothing itself.
package desktop

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/berthdev/berth/app/api"
	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/settings"
)

// EventName is the Wails event that carries core.Event values to the
// frontend (frontend/src/api uses the same name).
const EventName = api.EventOp

// CoreAPI is the part of the core API the window calls; *core.Berth
// implements it, tests use a fake.
type CoreAPI = api.Core

// API is bound to the frontend: each exported method becomes
// window.go.desktop.API.<Method>, a promise that resolves with the result
// and rejects with the error's text.
type API struct {
	svc *api.Service
	// emit sends an event to the window; runtime.EventsEmit outside tests.
	emit func(ctx context.Context, name string, data ...any)
	// openURL opens a link in the system browser; runtime.BrowserOpenURL
	// outside tests.
	openURL func(ctx context.Context, url string)
	// logf, when set, logs each call (BERTH_DEBUG; the smoke test waits
	// for the first listing this way).
	logf func(format string, args ...any)

	mu sync.Mutex
	// ctx is the context Wails hands to OnStartup. Wails' runtime calls
	// (runtime.EventsEmit and friends) find the window through it and
	// Wails calls bound methods without one, so the app must keep it: this
	// is the one place where Berth stores a context in a struct. It is
	// cancelled at shutdown, which also stops running operations, log
	// streams and the watcher.
	ctx    context.Context
	cancel context.CancelFunc
}

// NewAPI returns the bound API over c and, when not nil, the settings s.
func NewAPI(c CoreAPI, s ...api.Settings) *API {
	a := &API{emit: runtime.EventsEmit, openURL: runtime.BrowserOpenURL}
	var st api.Settings
	if len(s) > 0 {
		st = s[0]
	}
	a.svc = api.New(c, st, func(name string, data any) { a.emit(a.context(), name, data) })
	return a
}

// startup is Wails' OnStartup hook. It is unexported so that Wails does
// not bind it for the frontend. It starts the watcher that pushes live
// state changes.
func (a *API) startup(ctx context.Context) {
	a.mu.Lock()
	a.ctx, a.cancel = context.WithCancel(ctx)
	wctx := a.ctx
	a.mu.Unlock()
	go func() {
		if err := a.svc.Watch(wctx); err != nil {
			a.log("Watch: %v", err)
		}
	}()
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
	l, err := a.svc.ListEnvironments(a.context())
	if err != nil {
		a.log("ListEnvironments: %v", err)
		return nil, err
	}
	a.log("ListEnvironments: %d definitions, %d environments, engine %q %s (%s)",
		len(l.Definitions), len(l.Environments), l.Target.Host, l.Target.Error, time.Since(start).Round(time.Millisecond))
	return l, nil
}

// Status returns one environment with its services.
func (a *API) Status(env string) (*core.Environment, error) {
	return a.svc.Status(a.context(), env)
}

// Plan returns what Up would do for a new environment named as (default:
// the definition's name) from definition.
func (a *API) Plan(definition, as, variant string) (*core.Result, error) {
	return a.svc.Plan(a.context(), definition, as, variant)
}

// Up brings an environment up (from definition when given, else from the
// one it came from or the one of the same name), pushing progress events.
func (a *API) Up(env, definition, variant string) (*core.Result, error) {
	res, err := a.svc.Up(a.context(), env, definition, variant)
	a.log("Up %s: %v", env, errOrOK(err))
	return res, err
}

// SetSecret stores a secret's value for a definition (or, with
// environment, an environment).
func (a *API) SetSecret(owner, name, value string, environment bool) (*core.SecretSet, error) {
	res, err := a.svc.SetSecret(a.context(), owner, name, value, environment)
	a.log("SetSecret %s %s: %v", owner, name, errOrOK(err))
	return res, err
}

// RemoveSecret removes a stored secret.
func (a *API) RemoveSecret(owner, name string, environment bool) (bool, error) {
	return a.svc.RemoveSecret(a.context(), owner, name, environment)
}

// Preflight checks a definition before an up: engine, trust, secrets,
// ports, images, disk, memory.
func (a *API) Preflight(definition, variant string) (*core.Preflight, error) {
	return a.svc.Preflight(a.context(), definition, variant)
}

// OpenRepository makes a Git URL (cloned into ~/Berth) or a path the
// definitions repo.
func (a *API) OpenRepository(where string) (*core.OpenedRepo, error) {
	return a.svc.OpenRepository(a.context(), where)
}

// ListSecrets lists secrets, declared and stored, never their values.
func (a *API) ListSecrets(owner string) (*core.SecretListing, error) {
	return a.svc.ListSecrets(a.context(), owner)
}

// PlanDown returns what Down would do.
func (a *API) PlanDown(env string, volumes bool) (*core.Result, error) {
	return a.svc.PlanDown(a.context(), env, volumes)
}

// Down removes an environment's containers and networks, and its volumes
// (its data) when volumes is true, pushing progress events while it runs.
func (a *API) Down(env string, volumes bool) (*core.Result, error) {
	res, err := a.svc.Down(a.context(), env, volumes)
	a.log("Down %s (volumes %t): %v", env, volumes, errOrOK(err))
	return res, err
}

// PlanRecreate returns what Recreate would do.
func (a *API) PlanRecreate(env, service string) (*core.Result, error) {
	return a.svc.PlanRecreate(a.context(), env, service)
}

// Recreate replaces the containers of one service.
func (a *API) Recreate(env, service string) (*core.Result, error) {
	res, err := a.svc.Recreate(a.context(), env, service)
	a.log("Recreate %s %s: %v", env, service, errOrOK(err))
	return res, err
}

// Revisions lists the commits touching env's definition, newest first,
// the deployed one marked.
func (a *API) Revisions(env string) ([]core.RevisionEntry, error) {
	return a.svc.Revisions(a.context(), env)
}

// PlanDeploy returns what Deploy would do.
func (a *API) PlanDeploy(env, definition, rev string) (*core.DeployPlan, error) {
	return a.svc.PlanDeploy(a.context(), env, definition, rev)
}

// Deploy deploys a revision (the window has shown its plan), pushing
// progress events.
func (a *API) Deploy(env, definition, rev string) (*core.DeployResult, error) {
	res, err := a.svc.Deploy(a.context(), env, definition, rev)
	a.log("Deploy %s %s: %v", env, rev, errOrOK(err))
	return res, err
}

// PlanRollback returns what Rollback would do.
func (a *API) PlanRollback(env, to string) (*core.DeployPlan, error) {
	return a.svc.PlanRollback(a.context(), env, to)
}

// Rollback takes env back to revision to (default: the last good one
// before the current), pushing progress events.
func (a *API) Rollback(env, to string) (*core.DeployResult, error) {
	res, err := a.svc.Rollback(a.context(), env, to)
	a.log("Rollback %s %s: %v", env, to, errOrOK(err))
	return res, err
}

// History returns env's recorded operations, newest first, filtered.
func (a *API) History(env string, filter api.HistoryFilter) ([]core.Deployment, error) {
	return a.svc.History(a.context(), env, filter)
}

// SubscribeLogs follows logs; lines come as "berth:log" events carrying
// the returned id.
func (a *API) SubscribeLogs(req api.LogRequest) (string, error) {
	return a.svc.SubscribeLogs(a.context(), req)
}

// UnsubscribeLogs ends a log subscription.
func (a *API) UnsubscribeLogs(id string) error { return a.svc.UnsubscribeLogs(id) }

// ReviewTrust says what a definition can do and whether it is trusted.
func (a *API) ReviewTrust(definition, rev string) (*core.TrustReview, error) {
	return a.svc.ReviewTrust(a.context(), definition, rev)
}

// Trust grants the list the user reviewed (its digest).
func (a *API) Trust(definition, rev, digest string) (*core.TrustReview, error) {
	return a.svc.Trust(a.context(), definition, rev, digest)
}

// RevokeTrust takes a definition's grants back.
func (a *API) RevokeTrust(definition, rev string) error {
	return a.svc.RevokeTrust(a.context(), definition, rev)
}

// GetSettings returns the saved settings and those in effect.
func (a *API) GetSettings() (settings.View, error) { return a.svc.GetSettings() }

// SaveSettings saves and applies the settings.
func (a *API) SaveSettings(s settings.Settings) (settings.View, error) { return a.svc.SaveSettings(s) }

// OpenURL opens an http(s) link (a published port) in the system browser.
func (a *API) OpenURL(link string) error {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("only http and https links open in the browser")
	}
	a.openURL(a.context(), u.String())
	return nil
}

// Shown is called by the page once its first listing is on screen, with
// its start-up marks (milliseconds since its navigation started); with
// BERTH_DEBUG it is logged (a start-up diagnostic; make bench reads it).
func (a *API) Shown(marks map[string]float64) {
	keys := slices.Sorted(maps.Keys(marks))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.0fms", k, marks[k]))
	}
	a.log("Shown: the first listing is on screen (page marks: %s)", strings.Join(parts, " "))
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
