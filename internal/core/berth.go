// Package core holds Berth's use cases, one verb per file: berth.go (List,
// Plan, Up, Down, Status, Logs), deploy.go and rollback.go, revisions.go
// (Revisions, History), records.go (the lock and the history record every
// operation takes), drift.go with drift_check.go, drift_sync.go,
// drift_adopt.go and drift_discard.go, driftwatch.go and watch.go (the
// apps' loops), develop.go (Develop: live development), trust.go, recreate.go, converge.go (what the next operation
// does after a killed one), db_*.go (the database operations), goldengc.go
// and workspaces.go (clean-up). It owns the small interfaces it needs from
// the outside world (ports.go and beside each use case); the composition
// root hands it adapters. The desktop app, the CLI and the web dashboard
// all call this same API.
package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthdev/berth/internal/failpoint"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/secret"
	"github.com/berthdev/berth/internal/spec"
)

// Errors callers tell apart (errors.Is).
var (
	// ErrNotFound: no such environment or definition.
	ErrNotFound = errors.New("not found")
	// ErrEngine: the engine could not be reached.
	ErrEngine = errors.New("engine unreachable")
)

// Berth is the use-case API.
type Berth struct {
	engine EngineSource
	defs   Definitions
	revs   RevisionSource // nil: no definitions repo
	store  Store          // nil: nothing is recorded
	lock   Locker         // nil: no locking
	now    func() time.Time
	// after is the clock's timer (time.After; tests use a fake clock).
	after func(time.Duration) <-chan time.Time
	// fetcher and fetchEvery: Watch fetches the definitions repo on an
	// interval (nil: never).
	fetcher    Fetcher
	fetchEvery func() time.Duration
	notes      Notes      // nil: no git notes
	drift      driftState // drift.go
	dev        devState   // develop.go
	// workspaces, revUsers, keepDays and logf: workspace clean-up (nil:
	// none); pruning and background: the one after a deploy.
	workspaces Workspaces
	revUsers   RevisionUsers
	goldenRecs GoldenRecords
	keepDays   func() int
	logf       func(format string, args ...any)
	pruning    atomic.Bool
	background sync.WaitGroup

	trust TrustSettings // trust.go

	dbs         DatabaseSource  // nil: no database clones (db.go)
	snaps       SnapshotCatalog // nil: snapshots are not catalogued
	deploySnaps string          // when deploys snapshot first (db.go)

	secrets     secret.Store     // nil: no secrets are stored (secrets.go)
	envSettings EnvSettingsStore // nil: nothing kept between ups (secrets.go)
}

// New returns the core API over the given adapters.
func New(engine EngineSource, defs Definitions, opts ...Option) *Berth {
	b := &Berth{engine: engine, defs: defs, now: time.Now, after: time.After}
	for _, o := range opts {
		o(b)
	}
	return b
}

func (b *Berth) eng(ctx context.Context) (Engine, error) {
	e, err := b.engine(ctx)
	if err != nil {
		if errors.Is(err, ErrEngine) {
			return nil, err
		}
		return nil, engineError{err}
	}
	return e, nil
}

// engineError marks an error as ErrEngine without changing its text, which
// already says which engine was tried and why it failed.
type engineError struct{ err error }

func (e engineError) Error() string        { return e.err.Error() }
func (e engineError) Unwrap() error        { return e.err }
func (e engineError) Is(target error) bool { return target == ErrEngine }

// List returns the definitions and the environments on the target. When
// the engine cannot be reached the definitions are still listed and
// Target.Error says why.
func (b *Berth) List(ctx context.Context) (*Listing, error) {
	defs, err := b.defs.List(ctx)
	if err != nil {
		return nil, err
	}
	l := &Listing{Definitions: defs, Environments: []Environment{}}
	b.markSecretsSet(defs)
	e, err := b.eng(ctx)
	if err != nil {
		l.Target.Error = err.Error()
		return l, nil
	}
	l.Target = e.Target(ctx)
	envs, err := e.Environments(ctx)
	if err != nil {
		l.Target.Error = err.Error()
		return l, nil
	}
	for _, o := range envs {
		l.Environments = append(l.Environments, summarise(o, b.recorded(ctx, o)))
	}
	sort.Slice(l.Environments, func(i, j int) bool { return l.Environments[i].Name < l.Environments[j].Name })
	return l, nil
}

// recorded is the service set of o's newest successful up, deploy or
// rollback, when that record describes what runs there (the same
// definition and revision, and no service seen that it lacks): the listing
// then counts services with no container (partial, not running) without
// loading every definition. nil when there is no such record.
func (b *Berth) recorded(ctx context.Context, o reconcile.Observed) *spec.Project {
	if b.store == nil {
		return nil
	}
	ds, err := b.store.History(ctx, o.Project, HistoryFilter{Kinds: deployedKinds, Status: StatusSucceeded, Limit: 1})
	if err != nil || len(ds) == 0 || len(ds[0].ImageDigests) == 0 {
		return nil
	}
	d, seen := ds[0], summarise(o, nil)
	if d.Definition != seen.Definition || d.Revision != seen.Revision {
		return nil
	}
	for _, s := range seen.Services {
		if _, ok := d.ImageDigests[s.Name]; !ok {
			return nil
		}
	}
	p := &spec.Project{Name: o.Project}
	for _, name := range slices.Sorted(maps.Keys(d.ImageDigests)) {
		p.Services = append(p.Services, spec.Service{Name: name, Replicas: 1})
	}
	return p
}

// Status returns one environment with its services.
func (b *Berth) Status(ctx context.Context, env string) (*Environment, error) {
	e, err := b.eng(ctx)
	if err != nil {
		return nil, err
	}
	return b.status(ctx, e, env)
}

func (b *Berth) status(ctx context.Context, e Engine, env string) (*Environment, error) {
	o, err := e.ObserveProject(ctx, env)
	if err != nil {
		return nil, err
	}
	if len(o.Containers) == 0 && len(o.Networks) == 0 && len(o.Volumes) == 0 {
		return nil, fmt.Errorf("environment %q: %w on %s", env, ErrNotFound, e.Target(ctx).Host)
	}
	// The desired state, when its definition loads, says which services
	// should exist even if none of their containers do.
	var desired *spec.Project
	if def := definitionOf(o, ""); def != "" {
		if l, _, err := b.load(ctx, env, def, nil); err == nil {
			desired = l.p
		}
	}
	s := summarise(o, desired)
	if desired != nil {
		s.PortMoves = desired.PortMoves
	}
	return &s, nil
}

// Plan returns what Up would do, without doing it.
func (b *Berth) Plan(ctx context.Context, req UpRequest) (*Result, error) {
	pr, err := b.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	return &Result{Env: pr.p.Name, Plan: pr.plan, Warnings: pr.p.Warnings, PortMoves: pr.p.PortMoves}, nil
}

// prepare loads the desired state, observes the live one and plans.
// prepared is an up ready to apply: the engine, the desired state, what
// runs and the plan between them.
type prepared struct {
	e    Engine
	p    *spec.Project
	o    reconcile.Observed
	plan reconcile.Plan
	// settings are what the environment keeps once the up succeeds.
	settings EnvSettings
}

func (b *Berth) prepare(ctx context.Context, req UpRequest) (*prepared, error) {
	if req.Env == "" {
		return nil, errors.New("no environment named")
	}
	e, err := b.eng(ctx)
	if err != nil {
		return nil, err
	}
	def := req.Definition
	if def == "" {
		o, err := e.ObserveProject(ctx, req.Env)
		if err != nil {
			return nil, err
		}
		def = definitionOf(o, req.Env)
	}
	settings := req.settings(b.settingsOf(ctx, req.Env))
	ctx = withLoadAs(ctx, req.Env, settings)
	l, err := b.loadTrusted(ctx, req.Env, def, nil)
	if err != nil {
		return nil, err
	}
	p := l.p
	// Published ports another environment or program holds move (and
	// the definition is loaded again with them moved: the hashes change).
	ports, moved, err := b.placePorts(ctx, e, p, settings.Ports)
	if err != nil {
		return nil, err
	}
	if moved {
		settings.Ports = ports
		ctx = withLoadAs(ctx, req.Env, settings)
		if l, err = b.loadTrusted(ctx, req.Env, def, nil); err != nil {
			return nil, err
		}
		p = l.p
	}
	o, err := e.Observe(ctx, p)
	if err != nil {
		return nil, err
	}
	plan, err := reconcile.Up(p, o)
	if err != nil {
		return nil, err
	}
	return &prepared{e: e, p: p, o: o, plan: plan, settings: settings}, nil
}

// Up brings an environment to its desired state. If it fails on an
// environment that did not exist before, everything the run created is
// removed again; an environment that existed is left for the next Up to
// converge.
func (b *Berth) Up(ctx context.Context, req UpRequest, emit Emit) (*Result, error) {
	start := b.now()
	release, interrupted, err := b.acquire(ctx, req.Env, KindUp, emit)
	if err != nil {
		return nil, err
	}
	defer release()
	pr, err := b.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	e, p, o, plan := pr.e, pr.p, pr.o, pr.plan
	var empty map[string]bool
	if len(interrupted) > 0 {
		if empty, err = b.settleDatabases(ctx, p, o, emit); err != nil {
			return nil, err
		}
	}
	planJSON, _ := json.Marshal(plan)
	id, err := b.begin(ctx, Deployment{Kind: KindUp, Env: p.Name, Definition: p.Definition, Variant: p.Variant, Revision: p.Revision, Plan: planJSON})
	if err != nil {
		return nil, err
	}
	res, err := b.up(ctx, pr, req, start, empty, emit)
	var digests map[string]string
	if plan.Empty() && len(empty) == 0 {
		digests = imageIDs(o) // nothing changed since the observation
	} else {
		digests = b.digests(ctx, e, p)
	}
	out := outcome(err, digests)
	if ferr := b.finish(ctx, id, out); ferr != nil && err == nil {
		err = ferr
	}
	if err == nil && b.envSettings != nil {
		if serr := b.envSettings.SaveEnvSettings(ctx, p.Name, pr.settings); serr != nil {
			err = fmt.Errorf("%s is up, but its settings were not kept: %w", p.Name, serr)
		}
	}
	b.note(ctx, Deployment{ID: id, Kind: KindUp, Env: p.Name, Definition: p.Definition, Revision: p.Revision}, out.Status, emit)
	return res, err
}

// up applies a prepared up (cloning the databases that have no volume, and
// those settle found empty) and removes what it made when a new
// environment fails.
func (b *Berth) up(ctx context.Context, pr *prepared, req UpRequest, start time.Time, empty map[string]bool, emit Emit) (*Result, error) {
	e, p, o, plan := pr.e, pr.p, pr.o, pr.plan
	res := &Result{Env: p.Name, Plan: plan, Warnings: p.Warnings, PortMoves: p.PortMoves}
	for _, w := range p.Warnings {
		emit.send(Event{Env: p.Name, Kind: EventWarning, Detail: w.String()})
	}
	for _, m := range p.PortMoves {
		emit.send(Event{Env: p.Name, Kind: EventMessage, Detail: m.String()})
	}
	emit.send(Event{Env: p.Name, Kind: EventPlan, Plan: &plan})
	err := error(nil)
	existed := len(o.Containers)+len(o.Networks)+len(o.Volumes) > 0
	timeout := req.WaitTimeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	// Databases whose volume does not exist yet are cloned from their
	// source before anything starts (db.go).
	err = b.cloneNewDatabases(ctx, p, o, empty, emit)
	if err == nil {
		failpoint.Hit(failpoint.Cloned)
		err = e.Apply(ctx, p, plan, ApplyOptions{Wait: req.Wait, WaitTimeout: timeout}, progressTo(p.Name, emit))
	}
	res.Duration = b.now().Sub(start)
	if err == nil {
		return res, nil
	}
	if !existed {
		// Clean up with a context of its own: the caller's may be the one
		// that was cancelled.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		emit.send(Event{Env: p.Name, Kind: EventMessage, Detail: "removing what this failed run created"})
		if cerr := b.down(cctx, e, p.Name, true, emit); cerr != nil {
			return res, fmt.Errorf("%w (and cleaning up failed: %v)", err, cerr)
		}
		res.Cleaned = true
	}
	return res, err
}

// Down removes an environment's containers and networks, and its volumes
// when asked. Objects of the project that Berth did not create are left.
func (b *Berth) Down(ctx context.Context, req DownRequest, emit Emit) (*Result, error) {
	start := b.now()
	release, _, err := b.acquire(ctx, req.Env, KindDown, emit)
	if err != nil {
		return nil, err
	}
	defer release()
	e, err := b.eng(ctx)
	if err != nil {
		return nil, err
	}
	o, err := e.ObserveProject(ctx, req.Env)
	if err != nil {
		return nil, err
	}
	if len(o.Containers)+len(o.Networks)+len(o.Volumes) == 0 {
		return nil, fmt.Errorf("environment %q: %w on %s", req.Env, ErrNotFound, e.Target(ctx).Host)
	}
	plan := reconcile.Down(o, req.Volumes)
	for _, f := range reconcile.Unmanaged(o) {
		emit.send(Event{Env: req.Env, Kind: EventWarning, Detail: fmt.Sprintf("left %s %q: Berth did not create it", f.Kind, f.Name)})
	}
	emit.send(Event{Env: req.Env, Kind: EventPlan, Plan: &plan})
	planJSON, _ := json.Marshal(plan)
	id, err := b.begin(ctx, Deployment{Kind: KindDown, Env: req.Env, Definition: definitionOf(o, ""), Plan: planJSON})
	if err != nil {
		return nil, err
	}
	err = e.Apply(ctx, &spec.Project{Name: req.Env}, plan, ApplyOptions{}, progressTo(req.Env, emit))
	if ferr := b.finish(ctx, id, outcome(err, nil)); ferr != nil && err == nil {
		err = ferr
	}
	// An environment removed with its data is gone: what it kept (its
	// variant, its moved ports) goes too. Without --volumes the next up
	// brings it back as it was.
	if err == nil && req.Volumes && b.envSettings != nil {
		err = b.envSettings.ForgetEnvSettings(ctx, req.Env)
	}
	return &Result{Env: req.Env, Plan: plan, Duration: b.now().Sub(start)}, err
}

func (b *Berth) down(ctx context.Context, e Engine, env string, volumes bool, emit Emit) error {
	o, err := e.ObserveProject(ctx, env)
	if err != nil {
		return err
	}
	return e.Apply(ctx, &spec.Project{Name: env}, reconcile.Down(o, volumes), ApplyOptions{}, progressTo(env, emit))
}

// Logs streams an environment's logs until ctx ends (follow) or they end.
func (b *Berth) Logs(ctx context.Context, req LogsRequest, out func(LogLine)) error {
	e, err := b.eng(ctx)
	if err != nil {
		return err
	}
	o, err := e.ObserveProject(ctx, req.Env)
	if err != nil {
		return err
	}
	if len(o.Containers) == 0 {
		return fmt.Errorf("environment %q has no containers: %w", req.Env, ErrNotFound)
	}
	known := map[string]bool{}
	for _, c := range o.Containers {
		known[c.Service] = true
	}
	for _, s := range req.Services {
		if !known[s] {
			return fmt.Errorf("environment %q has no service %q: %w", req.Env, s, ErrNotFound)
		}
	}
	return e.Logs(ctx, req, out)
}

func progressTo(env string, emit Emit) func(reconcile.Progress) {
	return func(p reconcile.Progress) {
		op := p.Op
		ev := Event{Env: env, Kind: EventOp, Op: &op, Status: p.Status, Detail: p.Detail}
		if p.Err != nil {
			ev.Error = p.Err.Error()
		}
		emit.send(ev)
	}
}

// definitionOf returns the definition an existing environment came from,
// or fallback when it has none.
func definitionOf(o reconcile.Observed, fallback string) string {
	for _, c := range o.Containers {
		if d := c.Labels[reconcile.LabelDefinition]; d != "" {
			return d
		}
	}
	return fallback
}
