package core

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/berthdev/berth/internal/failpoint"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// Option configures the core API.
type Option func(*Berth)

// WithRevisions gives core the definitions repo (deploy, rollback,
// revisions).
func WithRevisions(r RevisionSource) Option { return func(b *Berth) { b.revs = r } }

// WithStore gives core the deployment records (history, recovery).
func WithStore(s Store) Option { return func(b *Berth) { b.store = s } }

// WithLocker gives core the per-environment lock.
func WithLocker(l Locker) Option { return func(b *Berth) { b.lock = l } }

// deployedKinds are the kinds whose success means a revision runs.
var deployedKinds = []string{KindUp, KindDeploy, KindRollback}

// Deploy brings env to its definition at a revision (default: the tracked
// branch's head). A destructive plan is applied only when req.Yes or
// confirm says so. It waits for health within the manifest's
// health.timeout; when that fails it goes back to the last good revision on
// its own, and records both.
func (b *Berth) Deploy(ctx context.Context, req DeployRequest, confirm Confirm, emit Emit) (*DeployResult, error) {
	if err := b.needRepo(); err != nil {
		return nil, err
	}
	release, interrupted, err := b.acquire(ctx, req.Env, KindDeploy, emit)
	if err != nil {
		return nil, err
	}
	defer release()
	e, err := b.eng(ctx)
	if err != nil {
		return nil, err
	}
	rev, err := b.revs.Resolve(ctx, req.Rev)
	if err != nil {
		return nil, err
	}
	def := b.definitionFor(ctx, req.Env, req.Definition)
	ctx = b.deployContext(ctx, req)
	res, err := b.run(ctx, e, job{kind: KindDeploy, env: req.Env, def: def, rev: rev, yes: req.Yes, settle: len(interrupted) > 0}, confirm, emit)
	if res != nil {
		res.Interrupted = recordIDs(interrupted)
	}
	return res, err
}

// job is one deploy or rollback to run.
type job struct {
	kind, env, def string
	rev            Revision
	yes            bool
	// auto marks the rollback Berth starts itself after a failed
	// deploy: it asks nothing and does not roll back again.
	auto bool
	// settle: an interrupted operation came before; its databases'
	// volumes are settled before anything starts (converge.go).
	settle bool
}

// run loads the definition at the job's revision, plans, confirms,
// records, applies, waits for health and, when that fails, rolls back to
// the last good revision.
//
// It is longer than most on purpose: the steps share the record and the
// engine, and each failure path must finish the record; read top to
// bottom, they are the deploy.
func (b *Berth) run(ctx context.Context, e Engine, j job, confirm Confirm, emit Emit) (*DeployResult, error) {
	start := b.now()
	p, err := b.loadAt(ctx, j.env, j.def, j.rev)
	if err != nil {
		return nil, err
	}
	es := b.loadSettings(ctx, j.env)
	ports, moved, err := b.placePorts(ctx, e, p, es.Ports)
	if err != nil {
		return nil, err
	}
	if moved {
		es.Ports = ports
		ctx = withLoadAs(ctx, j.env, es)
		if p, err = b.loadAt(ctx, j.env, j.def, j.rev); err != nil {
			return nil, err
		}
	}
	o, err := e.Observe(ctx, p)
	if err != nil {
		return nil, err
	}
	var empty map[string]bool
	if j.settle {
		if empty, err = b.settleDatabases(ctx, p, o, emit); err != nil {
			return nil, err
		}
	}
	plan, err := reconcile.Up(p, o)
	if err != nil {
		return nil, err
	}
	res := &DeployResult{Result: Result{Env: j.env, Plan: plan, Warnings: p.Warnings, PortMoves: p.PortMoves, LocalFiles: p.LocalFiles}, Kind: j.kind, Revision: j.rev}
	for _, w := range p.Warnings {
		emit.send(Event{Env: j.env, Kind: EventWarning, Detail: w.String()})
	}
	for _, f := range p.LocalFiles {
		emit.send(Event{Env: j.env, Kind: EventMessage, Detail: "local: " + f + " is read from your checkout (kept out of Git)"})
	}
	for _, m := range p.PortMoves {
		emit.send(Event{Env: j.env, Kind: EventMessage, Detail: m.String()})
	}
	emit.send(Event{Env: j.env, Kind: EventMessage, Detail: fmt.Sprintf("%s %s at %s (%s)", j.kind, j.env, j.rev.Short, oneLineMsg(j.rev.Message))})
	emit.send(Event{Env: j.env, Kind: EventPlan, Plan: &plan})
	if plan.Destructive() && !j.yes && !j.auto {
		if confirm == nil || !confirm(DeployPlan{Env: j.env, Kind: j.kind, Revision: j.rev, Result: &res.Result}) {
			return res, fmt.Errorf("%s of %s at %s not applied: the plan removes or replaces containers and was not confirmed (use --yes): %w", j.kind, j.env, j.rev.Short, ErrConfirm)
		}
	}
	var previous string
	if cur, err := b.current(ctx, j.env); err != nil {
		return res, err
	} else if cur != nil {
		previous = cur.Revision
	}
	planJSON, err := json.Marshal(plan)
	if err != nil {
		return res, err
	}
	id, err := b.begin(ctx, Deployment{Kind: j.kind, Env: j.env, Definition: j.def, Variant: p.Variant, Revision: j.rev.Hash, PreviousRevision: previous, Plan: planJSON})
	if err != nil {
		return res, err
	}
	res.ID = id
	// Snapshots of the databases before anything changes, recorded with
	// this deployment so that a rollback can restore the data (db.go); a
	// new database is cloned from its source before it starts.
	if !j.auto {
		res.Snapshots = b.snapshotsBeforeDeploy(ctx, p, o, id, emit)
		failpoint.Hit(failpoint.Snapshotted)
	}
	err = b.cloneNewDatabases(ctx, p, o, empty, emit)
	if err == nil {
		failpoint.Hit(failpoint.Cloned)
		err = e.Apply(ctx, p, plan, ApplyOptions{Wait: true, WaitTimeout: p.Health.TimeoutOrDefault()}, progressTo(j.env, emit))
	}
	digests := b.digests(ctx, e, p)
	res.Duration = b.now().Sub(start)
	noted := Deployment{ID: id, Kind: j.kind, Env: j.env, Definition: j.def, Revision: j.rev.Hash}
	if err == nil {
		o := outcome(nil, digests)
		o.SnapshotIDs = res.Snapshots
		err = b.finish(ctx, id, o)
		if err == nil && b.envSettings != nil {
			// what it ran with (a variant asked for, ports moved) is kept
			err = b.envSettings.SaveEnvSettings(ctx, j.env, es)
		}
		b.note(ctx, noted, StatusSucceeded, emit)
		if err == nil {
			b.pruneInBackground()
		}
		return res, err
	}
	failed := err
	status := StatusFailed
	if !j.auto && ctx.Err() == nil {
		rb, rerr := b.autoRollback(ctx, e, j, emit)
		res.RolledBack = rb
		switch {
		case rb == nil && rerr == nil:
			emit.send(Event{Env: j.env, Kind: EventWarning, Detail: "no earlier successful deployment to roll back to: " + j.env + " is left as it is"})
		case rerr != nil:
			err = fmt.Errorf("%w; rolling back failed too: %v", err, rerr)
		default:
			status = StatusRolledBack
			err = fmt.Errorf("%s of %s at %s failed and %s was rolled back to %s: %w", j.kind, j.env, j.rev.Short, j.env, rb.Revision.Short, failed)
		}
	}
	if ferr := b.finish(ctx, id, Outcome{Status: status, Error: failed.Error(), ImageDigests: digests, SnapshotIDs: res.Snapshots}); ferr != nil {
		err = fmt.Errorf("%w (and recording it failed: %v)", err, ferr)
	}
	b.note(ctx, noted, status, emit)
	return res, err
}

// autoRollback goes back to the last good revision after j failed. It
// returns nil, nil when there is nothing to go back to.
func (b *Berth) autoRollback(ctx context.Context, e Engine, j job, emit Emit) (*DeployResult, error) {
	good, err := b.lastGood(ctx, j.env)
	if err != nil || good == nil || good.Revision == j.rev.Hash {
		return nil, err
	}
	rev, err := b.revs.Resolve(ctx, good.Revision)
	if err != nil {
		return nil, err
	}
	emit.send(Event{Env: j.env, Kind: EventWarning, Detail: fmt.Sprintf("%s at %s failed: rolling back to %s, the last good revision", j.kind, j.rev.Short, rev.Short)})
	ctx = b.asVariant(ctx, j.env, good.Variant)
	return b.run(ctx, e, job{kind: KindRollback, env: j.env, def: cmp.Or(good.Definition, j.def), rev: rev, yes: true, auto: true}, nil, emit)
}

// digests are the image IDs each service's containers run, observed after
// apply.
func (b *Berth) digests(ctx context.Context, e Engine, p *spec.Project) map[string]string {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	o, err := e.Observe(cctx, p)
	if err != nil {
		return nil
	}
	return imageIDs(o)
}

// imageIDs are the image IDs of what o saw, by service (nil when none).
func imageIDs(o reconcile.Observed) map[string]string {
	out := map[string]string{}
	for _, c := range o.Containers {
		if c.Service != "" && c.ImageID != "" {
			out[c.Service] = c.ImageID
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// loadAt materialises definition def at rev and loads it as env for an
// action: its capabilities must be trusted (trust.go). What lies outside
// the workspace is read or mounted only when granted, Berth's data folder
// (which holds the other workspaces) never.
func (b *Berth) loadAt(ctx context.Context, env, def string, rev Revision) (*spec.Project, error) {
	l, err := b.loadTrusted(ctx, env, def, &rev)
	if err != nil {
		return nil, err
	}
	return l.p, nil
}

func shortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func oneLineMsg(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 60 {
		s = s[:59] + "…"
	}
	return s
}

// PlanDeploy returns what Deploy would do, without applying or recording
// anything; it materialises the revision's workspace to load it.
func (b *Berth) PlanDeploy(ctx context.Context, req DeployRequest) (*DeployPlan, error) {
	if req.Env == "" {
		return nil, errors.New("no environment named")
	}
	if err := b.needRepo(); err != nil {
		return nil, err
	}
	rev, err := b.revs.Resolve(ctx, req.Rev)
	if err != nil {
		return nil, err
	}
	ctx = b.deployContext(ctx, req)
	return b.planAt(ctx, KindDeploy, req.Env, b.definitionFor(ctx, req.Env, req.Definition), rev)
}

func (b *Berth) planAt(ctx context.Context, kind, env, def string, rev Revision) (*DeployPlan, error) {
	if err := spec.ValidateName(env); err != nil {
		return nil, fmt.Errorf("environment name: %w", err)
	}
	e, err := b.eng(ctx)
	if err != nil {
		return nil, err
	}
	p, err := b.loadAt(ctx, env, def, rev)
	if err != nil {
		return nil, err
	}
	o, err := e.Observe(ctx, p)
	if err != nil {
		return nil, err
	}
	plan, err := reconcile.Up(p, o)
	if err != nil {
		return nil, err
	}
	return &DeployPlan{Env: env, Kind: kind, Revision: rev, Result: &Result{Env: env, Plan: plan, Warnings: p.Warnings, PortMoves: p.PortMoves, LocalFiles: p.LocalFiles}}, nil
}
