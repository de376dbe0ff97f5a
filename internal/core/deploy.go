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

// acquire takes env's lock and converges the records of operations that
// were killed: each is marked interrupted (and said so in an event); the
// plan that follows brings the environment to where it should be.
func (b *Berth) acquire(ctx context.Context, env, what string, emit Emit) (release func(), interrupted []Deployment, err error) {
	release = func() {}
	if env == "" {
		return nil, nil, errors.New("no environment named")
	}
	if err := spec.ValidateName(env); err != nil {
		return nil, nil, fmt.Errorf("environment name: %w", err)
	}
	if b.lock != nil {
		r, err := b.lock.Lock(ctx, env, what)
		if err != nil {
			return nil, nil, err
		}
		release = r
	}
	if b.store == nil {
		return release, nil, nil
	}
	un, err := b.store.Unfinished(ctx, env)
	if err != nil {
		release()
		return nil, nil, err
	}
	for _, d := range un {
		if err := b.store.MarkInterrupted(ctx, d.ID); err != nil {
			release()
			return nil, nil, err
		}
		if len(interrupted) == 0 {
			// Its helpers first: one may still be copying into a volume.
			if err := b.removeHelpers(ctx, env, emit); err != nil {
				release()
				return nil, nil, err
			}
		}
		interrupted = append(interrupted, d)
		what := d.Kind
		if d.Revision != "" {
			what += " of " + shortRev(d.Revision)
		}
		emit.send(Event{Env: env, Kind: "warning", Detail: fmt.Sprintf("%s (#%d, started %s) was interrupted before it finished; recorded as interrupted, and this run converges %s",
			what, d.ID, d.StartedAt.Local().Format(time.DateTime), env)})
	}
	return release, interrupted, nil
}

// recordIDs are the ids of records.
func recordIDs(ds []Deployment) []int64 {
	var out []int64
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func (b *Berth) begin(ctx context.Context, d Deployment) (int64, error) {
	if b.store == nil {
		return 0, nil
	}
	id, err := b.store.Begin(ctx, d)
	if err == nil {
		failpoint.Hit(failpoint.Begin)
	}
	return id, err
}

// finish records the outcome even when ctx was cancelled: the record must
// not stay "running" because the user pressed Ctrl-C.
func (b *Berth) finish(ctx context.Context, id int64, o Outcome) error {
	if b.store == nil || id == 0 {
		return nil
	}
	failpoint.Hit(failpoint.Finishing)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return b.store.Finish(cctx, id, o)
}

func outcome(err error, digests map[string]string) Outcome {
	if err == nil {
		return Outcome{Status: StatusSucceeded, ImageDigests: digests}
	}
	return Outcome{Status: StatusFailed, Error: err.Error(), ImageDigests: digests}
}

// deployedKinds are the kinds whose success means a revision runs.
var deployedKinds = []string{KindUp, KindDeploy, KindRollback}

// succeeded returns env's successful up/deploy/rollback records, newest
// first.
func (b *Berth) succeeded(ctx context.Context, env string) ([]Deployment, error) {
	if b.store == nil {
		return nil, nil
	}
	return b.store.History(ctx, env, HistoryFilter{Kinds: deployedKinds, Status: StatusSucceeded})
}

// lastGood is the newest successful deployment of env that names a
// revision, nil when there is none.
func (b *Berth) lastGood(ctx context.Context, env string) (*Deployment, error) {
	ds, err := b.succeeded(ctx, env)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		if ds[i].Revision != "" {
			return &ds[i], nil
		}
	}
	return nil, nil
}

// current is what runs in env according to the records: the newest
// successful up, down, deploy or rollback (nil when none, or a down).
func (b *Berth) current(ctx context.Context, env string) (*Deployment, error) {
	if b.store == nil {
		return nil, nil
	}
	ds, err := b.store.History(ctx, env, HistoryFilter{Kinds: []string{KindUp, KindDown, KindDeploy, KindRollback}, Status: StatusSucceeded, Limit: 1})
	if err != nil || len(ds) == 0 || ds[0].Kind == KindDown {
		return nil, err
	}
	return &ds[0], nil
}

func (b *Berth) needRepo() error {
	if b.revs == nil {
		return fmt.Errorf("%w: deploy, rollback and revisions read a Git repo (use --repo, or run inside a Git repo with environments/)", ErrNoRepo)
	}
	return nil
}

// definitionFor is the definition env comes from: asked for, else the one
// recorded, else the one on its containers, else env itself.
func (b *Berth) definitionFor(ctx context.Context, env, asked string) string {
	if asked != "" {
		return asked
	}
	if b.store != nil {
		if ds, err := b.store.History(ctx, env, HistoryFilter{Limit: 1}); err == nil && len(ds) == 1 && ds[0].Definition != "" {
			return ds[0].Definition
		}
	}
	if e, err := b.eng(ctx); err == nil {
		if o, err := e.ObserveProject(ctx, env); err == nil {
			return definitionOf(o, env)
		}
	}
	return env
}

// Revisions lists the commits that touch env's definition, newest first
// (at most limit; 0: all), marking the one deployed. env may also name a
// definition that has no environment yet: its commits are listed, none
// marked. When the deployed commit did not touch the definition (a
// branch head after a commit elsewhere in the repo), the newest listed
// revision whose definition folder has the same tree hash is marked.
func (b *Berth) Revisions(ctx context.Context, env string, limit int) ([]RevisionEntry, error) {
	if err := b.needRepo(); err != nil {
		return nil, err
	}
	def := b.definitionFor(ctx, env, "")
	revs, err := b.revs.Log(ctx, def, limit)
	if err != nil {
		return nil, err
	}
	if len(revs) == 0 {
		return nil, fmt.Errorf("definition %q: no commit touches it: %w", def, ErrNotFound)
	}
	cur, err := b.current(ctx, env)
	if err != nil {
		return nil, err
	}
	out := make([]RevisionEntry, len(revs))
	marked := false
	for i, r := range revs {
		out[i] = RevisionEntry{Revision: r, Deployed: cur != nil && cur.Revision == r.Hash}
		marked = marked || out[i].Deployed
	}
	if cur == nil || marked || cur.Revision == "" {
		return out, nil
	}
	// The deployed commit is not listed: find the listed revision with the
	// same definition content.
	deployed, err := b.revs.Resolve(ctx, cur.Revision)
	if err != nil {
		return out, nil // gone from the repo (a rewritten branch): nothing to mark
	}
	tree, err := b.revs.DefinitionTree(ctx, deployed, cmp.Or(cur.Definition, def))
	if err != nil {
		return out, nil
	}
	for i := range out {
		if out[i].DefinitionTree == tree {
			out[i].Deployed = true
			break
		}
	}
	return out, nil
}

// History returns env's recorded operations, newest first.
func (b *Berth) History(ctx context.Context, env string, f HistoryFilter) ([]Deployment, error) {
	if b.store == nil {
		return nil, errors.New("no store: history is not recorded")
	}
	return b.store.History(ctx, env, f)
}

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
	res, err := b.run(ctx, e, job{kind: KindDeploy, env: req.Env, def: def, rev: rev, yes: req.Yes, settle: len(interrupted) > 0}, confirm, emit)
	if res != nil {
		res.Interrupted = recordIDs(interrupted)
	}
	return res, err
}

// Rollback takes env back to an earlier revision: req.To, else the last
// successful deployment before the current one. It shows and confirms the
// plan like Deploy.
func (b *Berth) Rollback(ctx context.Context, req RollbackRequest, confirm Confirm, emit Emit) (*DeployResult, error) {
	if err := b.needRepo(); err != nil {
		return nil, err
	}
	release, interrupted, err := b.acquire(ctx, req.Env, KindRollback, emit)
	if err != nil {
		return nil, err
	}
	defer release()
	e, err := b.eng(ctx)
	if err != nil {
		return nil, err
	}
	def, rev, err := b.rollbackTo(ctx, req)
	if err != nil {
		return nil, err
	}
	res, err := b.run(ctx, e, job{kind: KindRollback, env: req.Env, def: def, rev: rev, yes: req.Yes, settle: len(interrupted) > 0}, confirm, emit)
	if res != nil {
		res.Interrupted = recordIDs(interrupted)
	}
	if err == nil && req.WithData {
		// The code runs at rev again; now its data (db.go).
		res.Data, err = b.restoreWithData(ctx, req.Env, rev.Hash, emit)
	}
	return res, err
}

// rollbackTarget is the newest successful deployment older than the
// current one whose revision differs from it.
func (b *Berth) rollbackTarget(ctx context.Context, env string) (*Deployment, error) {
	ds, err := b.succeeded(ctx, env)
	if err != nil {
		return nil, err
	}
	var cur *Deployment
	for i := range ds {
		d := &ds[i]
		if d.Revision == "" {
			continue
		}
		if cur == nil {
			cur = d
			continue
		}
		if d.Revision != cur.Revision {
			return d, nil
		}
	}
	if cur == nil {
		return nil, fmt.Errorf("environment %q: no successful deployment of a revision to roll back from: %w", env, ErrNotFound)
	}
	return nil, fmt.Errorf("environment %q: no successful deployment before the current one (%s) to roll back to: %w", env, shortRev(cur.Revision), ErrNotFound)
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
func (b *Berth) run(ctx context.Context, e Engine, j job, confirm Confirm, emit Emit) (*DeployResult, error) {
	start := b.now()
	p, err := b.loadAt(ctx, j.env, j.def, j.rev)
	if err != nil {
		return nil, err
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
	res := &DeployResult{Result: Result{Env: j.env, Plan: plan, Warnings: p.Warnings}, Kind: j.kind, Revision: j.rev}
	for _, w := range p.Warnings {
		emit.send(Event{Env: j.env, Kind: "warning", Detail: w.String()})
	}
	emit.send(Event{Env: j.env, Kind: "message", Detail: fmt.Sprintf("%s %s at %s (%s)", j.kind, j.env, j.rev.Short, oneLineMsg(j.rev.Message))})
	emit.send(Event{Env: j.env, Kind: "plan", Plan: &plan})
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
	id, err := b.begin(ctx, Deployment{Kind: j.kind, Env: j.env, Definition: j.def, Revision: j.rev.Hash, PreviousRevision: previous, Plan: planJSON})
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
			emit.send(Event{Env: j.env, Kind: "warning", Detail: "no earlier successful deployment to roll back to: " + j.env + " is left as it is"})
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
	emit.send(Event{Env: j.env, Kind: "warning", Detail: fmt.Sprintf("%s at %s failed: rolling back to %s, the last good revision", j.kind, j.rev.Short, rev.Short)})
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
	return b.planAt(ctx, KindDeploy, req.Env, b.definitionFor(ctx, req.Env, req.Definition), rev)
}

// PlanRollback returns what Rollback would do, like PlanDeploy.
func (b *Berth) PlanRollback(ctx context.Context, req RollbackRequest) (*DeployPlan, error) {
	if req.Env == "" {
		return nil, errors.New("no environment named")
	}
	if err := b.needRepo(); err != nil {
		return nil, err
	}
	def, rev, err := b.rollbackTo(ctx, req)
	if err != nil {
		return nil, err
	}
	return b.planAt(ctx, KindRollback, req.Env, def, rev)
}

// rollbackTo resolves where a rollback goes: req.To with the environment's
// definition, or else the last good revision before the current one with
// the definition it ran.
func (b *Berth) rollbackTo(ctx context.Context, req RollbackRequest) (def string, rev Revision, err error) {
	def = b.definitionFor(ctx, req.Env, "")
	to := req.To
	if to == "" {
		t, err := b.rollbackTarget(ctx, req.Env)
		if err != nil {
			return "", Revision{}, err
		}
		to, def = t.Revision, cmp.Or(t.Definition, def)
	}
	rev, err = b.revs.Resolve(ctx, to)
	if err != nil {
		return "", Revision{}, err
	}
	return def, rev, nil
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
	return &DeployPlan{Env: env, Kind: kind, Revision: rev, Result: &Result{Env: env, Plan: plan, Warnings: p.Warnings}}, nil
}
