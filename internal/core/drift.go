package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// KindHeal is the record of a sync (drift healed).
const KindHeal = "heal"

// ErrNoDrift: adopt found nothing to turn into a commit.
var ErrNoDrift = errors.New("no drift")

// LiveObserver reports an environment's live details for drift
// detection. The engine adapter implements it next to Engine.
type LiveObserver interface {
	Live(ctx context.Context, p *spec.Project) (drift.Live, error)
}

// LiveBatchObserver reports several environments' live details in one
// round of engine calls. fresh asks for everything to be read anew from
// the engine (the periodic resync) instead of from what the adapter keeps
// while its event stream vouches for it.
type LiveBatchObserver interface {
	LiveMany(ctx context.Context, ps []*spec.Project, fresh bool) (map[string]drift.Live, error)
}

// FileDrifter compares a workspace with its commit and puts it back. The
// definitions repo adapter implements it next to RevisionSource.
type FileDrifter interface {
	// Changes lists the files under dir that differ from definition at rev.
	Changes(ctx context.Context, rev Revision, definition, dir string) ([]FileChange, error)
	// Restore puts the files under dir back to definition at rev, in
	// place, and returns what it put back.
	Restore(ctx context.Context, rev Revision, definition, dir string) ([]FileChange, error)
	// Pristine materialises definition at rev into a fresh folder of its
	// own; release removes it.
	Pristine(ctx context.Context, rev Revision, definition string) (dir string, release func(), err error)
}

// UpstreamSource says how the definitions repo moved on.
type UpstreamSource interface {
	// Upstream counts the tracked branch's commits touching definition
	// that rev does not contain.
	Upstream(ctx context.Context, rev Revision, definition string) (Upstream, error)
	// LocalChanges lists the uncommitted edits to definition in the
	// user's own checkout (none when the repo is a clone).
	LocalChanges(ctx context.Context, definition string) ([]FileChange, error)
}

// Committer turns files into a commit on a new branch, never pushed.
type Committer interface {
	// Commit makes a commit on a new branch whose parent is rev: files
	// are paths relative to the definition folder, nil content deletes.
	Commit(ctx context.Context, rev Revision, definition, branch string, files map[string][]byte, message string) (Revision, error)
}

// FileChange is one file that differs from the commit.
type FileChange struct {
	Path string `json:"path"`
	Kind string `json:"kind"` // added, modified, deleted, mode changed
}

// Upstream is how far the tracked branch is ahead of what runs.
type Upstream struct {
	Branch string   `json:"branch"`
	Head   Revision `json:"head"`
	// Behind counts the branch's commits touching the definition that the
	// deployed revision does not contain.
	Behind int `json:"behind"`
}

// DriftReport is the drift of one environment: runtime (live vs desired),
// files (workspace vs commit), upstream (branch vs deployed revision) and
// local (uncommitted edits in the user's checkout).
type DriftReport struct {
	Env        string `json:"env"`
	Definition string `json:"definition"`
	// Revision is the deployed revision ("" for an environment brought up
	// from the definitions folder).
	Revision string `json:"revision,omitempty"`
	// InSync is true when no kind of drift is found.
	InSync bool `json:"inSync"`
	// Policy is the environment's drift policy (warn, heal or ignore).
	Policy  string       `json:"policy"`
	Runtime []drift.Item `json:"runtime"`
	// Ignored counts runtime differences left out by policies and
	// ignore rules.
	Ignored   int          `json:"ignored,omitempty"`
	Files     []FileChange `json:"files"`
	Workspace string       `json:"workspace,omitempty"`
	Upstream  *Upstream    `json:"upstream,omitempty"`
	Local     []FileChange `json:"local"`
	CheckedAt time.Time    `json:"checkedAt"`
	// Notes say what could not be checked and why.
	Notes []string `json:"notes,omitempty"`
	// Unknown is set by WatchDrift when the environment could not be
	// checked (the engine went away): InSync is then false, never stale.
	Unknown bool `json:"unknown,omitempty"`

	// raw are the runtime differences unmasked, for Adopt only: Runtime
	// masks secret values (mask.go) and raw never leaves core.
	raw []drift.Item
}

// Drifted reports whether r found any drift.
func (r *DriftReport) Drifted() bool { return !r.InSync }

// driftState is what the drift use cases keep between calls.
type driftState struct {
	mu sync.Mutex
	// desired caches the desired state per environment, definition and
	// revision, loaded from a clean workspace.
	desired map[string]*spec.Project
	// paused holds environments whose healing is paused until a time.
	paused map[string]time.Time
	// files is the file event adapter (WithFileWatcher).
	files FileWatcher
	// upstream caches Upstream answers for a few seconds.
	upstream map[string]upstreamAt
}

type upstreamAt struct {
	u  Upstream
	at time.Time
}

// upstreamTTL is how long an Upstream answer is reused: the drift loop
// checks environments of one definition in a burst.
const upstreamTTL = 5 * time.Second

func (b *Berth) upstream(ctx context.Context, us UpstreamSource, rev Revision, def string) (Upstream, error) {
	key := rev.Hash + "\x00" + def
	b.drift.mu.Lock()
	c, ok := b.drift.upstream[key]
	b.drift.mu.Unlock()
	if ok && b.now().Sub(c.at) < upstreamTTL {
		return c.u, nil
	}
	u, err := us.Upstream(ctx, rev, def)
	if err != nil {
		return u, err
	}
	b.drift.mu.Lock()
	if b.drift.upstream == nil {
		b.drift.upstream = map[string]upstreamAt{}
	}
	b.drift.upstream[key] = upstreamAt{u, b.now()}
	b.drift.mu.Unlock()
	return u, nil
}

func (s *driftState) cached(key string) *spec.Project {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.desired[key]
}

func (s *driftState) store(key string, p *spec.Project) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.desired == nil {
		s.desired = map[string]*spec.Project{}
	}
	s.desired[key] = p
}

// envGoneError is the ErrNotFound of an environment that has nothing left
// on the engine, as opposed to one whose definition or revision is
// missing: the drift loop forgets the first and keeps reporting the
// second.
type envGoneError struct{ err error }

func (e envGoneError) Error() string { return e.err.Error() }
func (e envGoneError) Unwrap() error { return e.err }

func envGone(ctx context.Context, e Engine, env string) error {
	return envGoneError{fmt.Errorf("environment %q: %w on %s", env, ErrNotFound, e.Target(ctx).Host)}
}

// deployedEnv is an environment with its desired state as deployed.
type deployedEnv struct {
	e     Engine
	o     reconcile.Observed
	def   string
	rev   *Revision // nil: not deployed from a revision
	p     *spec.Project
	dir   string // the workspace, when rev is set
	files []FileChange
	notes []string
}

// deployed finds what env runs: its definition and revision (the store's
// record, else the containers' labels), the workspace and its file drift,
// and the desired state as committed (from a pristine copy when the
// workspace was edited).
func (b *Berth) deployed(ctx context.Context, env string) (*deployedEnv, error) {
	if err := spec.ValidateName(env); err != nil {
		return nil, fmt.Errorf("environment name: %w", err)
	}
	e, err := b.eng(ctx)
	if err != nil {
		return nil, err
	}
	return b.deployedOn(ctx, e, env)
}

// deployedOn is deployed with the engine already connected.
func (b *Berth) deployedOn(ctx context.Context, e Engine, env string) (*deployedEnv, error) {
	if err := spec.ValidateName(env); err != nil {
		return nil, fmt.Errorf("environment name: %w", err)
	}
	d := &deployedEnv{e: e}
	revHash := ""
	cur, err := b.current(ctx, env)
	if err != nil {
		return nil, err
	}
	if cur != nil {
		revHash, d.def = cur.Revision, cur.Definition
	}
	if revHash == "" || d.def == "" {
		// Not recorded here: the containers' labels say what runs. (A
		// recorded environment is found on the engine by Live instead.)
		o, err := e.ObserveProject(ctx, env)
		if err != nil {
			return nil, err
		}
		if len(o.Containers)+len(o.Networks)+len(o.Volumes) == 0 {
			return nil, envGone(ctx, e, env)
		}
		d.o = o
	}
	o := d.o
	if d.def == "" {
		d.def = definitionOf(o, env)
	}
	if revHash == "" {
		for _, c := range o.Containers {
			if r := c.Labels[reconcile.LabelRevision]; r != "" && c.Managed {
				revHash = r
				break
			}
		}
	}
	if revHash == "" || b.revs == nil {
		p, err := b.loadGranted(ctx, env, d.def, nil)
		if err != nil {
			return nil, err
		}
		d.p = p
		if revHash != "" {
			d.notes = append(d.notes, "no definitions repo: files and upstream not checked")
		}
		return d, nil
	}
	rev, err := b.revs.Resolve(ctx, revHash)
	if err != nil {
		return nil, fmt.Errorf("deployed revision %s: %w", shortRev(revHash), err)
	}
	d.rev = &rev
	if d.dir, err = b.revs.Materialise(ctx, rev, d.def); err != nil {
		return nil, fmt.Errorf("definition %q at %s: %w", d.def, rev.Short, err)
	}
	fd, _ := b.revs.(FileDrifter)
	if fd != nil {
		if d.files, err = fd.Changes(ctx, rev, d.def, d.dir); err != nil {
			return nil, fmt.Errorf("comparing the workspace of %s with %s: %w", env, rev.Short, err)
		}
	} else {
		d.notes = append(d.notes, "the definitions repo cannot compare workspaces: files not checked")
	}
	key := env + "\x00" + d.def + "\x00" + rev.Hash
	if p := b.drift.cached(key); p != nil {
		d.p = p
		return d, nil
	}
	if len(d.files) == 0 || fd == nil {
		d.p, err = b.loadGranted(ctx, env, d.def, &rev)
	} else {
		d.p, err = b.loadPristine(ctx, fd, env, d.def, rev, d.dir)
	}
	if err != nil {
		return nil, err
	}
	b.drift.store(key, d.p)
	return d, nil
}

// loadPristine loads def at rev from a fresh copy of the commit and
// points its paths at the workspace dir, so that edits in the workspace
// do not change what is desired.
func (b *Berth) loadPristine(ctx context.Context, fd FileDrifter, env, def string, rev Revision, dir string) (*spec.Project, error) {
	clean, release, err := fd.Pristine(ctx, rev, def)
	if err != nil {
		return nil, err
	}
	defer release()
	opts, _, err := b.loadOptions(ctx, env, def, &rev)
	if err != nil {
		return nil, err
	}
	opts.Revision = rev.Hash
	p, err := spec.LoadDefinition(ctx, clean, opts)
	if err != nil {
		return nil, fmt.Errorf("definition %q at %s: %w", def, rev.Short, err)
	}
	if len(p.Blocked) > 0 {
		return nil, b.untrusted(ctx, p, def, &rev)
	}
	p.Definition = def
	rebase := func(path string) string {
		if rel, err := filepath.Rel(clean, path); err == nil && filepath.IsLocal(rel) {
			return filepath.Join(dir, rel)
		}
		if path == clean {
			return dir
		}
		return path
	}
	p.Dir = dir
	for i, f := range p.ComposeFiles {
		p.ComposeFiles[i] = rebase(f)
	}
	for i := range p.Services {
		s := &p.Services[i]
		for j := range s.Mounts {
			if s.Mounts[j].Type == spec.MountBind {
				s.Mounts[j].Source = rebase(s.Mounts[j].Source)
			}
		}
		if s.Build != nil {
			s.Build.Context = rebase(s.Build.Context)
		}
	}
	return p, nil
}

// Check reports env's drift: runtime, files, upstream and local changes.
// It changes nothing.
func (b *Berth) Check(ctx context.Context, env string) (*DriftReport, error) {
	d, err := b.deployed(ctx, env)
	if err != nil {
		return nil, err
	}
	return b.check(ctx, env, d)
}

func (b *Berth) check(ctx context.Context, env string, d *deployedEnv) (*DriftReport, error) {
	live, err := liveOf(ctx, d, false)
	if err != nil {
		return nil, err
	}
	return b.checkWith(ctx, env, d, live, nil)
}

// liveOf reads d's live details; fresh reads everything anew from the
// engine (what acts on them, such as a heal, does not trust kept inspects).
func liveOf(ctx context.Context, d *deployedEnv, fresh bool) (drift.Live, error) {
	if lb, ok := d.e.(LiveBatchObserver); ok {
		m, err := lb.LiveMany(ctx, []*spec.Project{d.p}, fresh)
		return m[d.p.Name], err
	}
	lo, ok := d.e.(LiveObserver)
	if !ok {
		return drift.Live{}, errors.New("the engine adapter does not report live details")
	}
	return lo.Live(ctx, d.p)
}

// localMemo shares LocalChanges answers between the checks of one round
// (environments of one definition ask the same question).
type localMemo struct {
	mu sync.Mutex
	m  map[string]*localAnswer
}

type localAnswer struct {
	once sync.Once
	fs   []FileChange
	err  error
}

func (m *localMemo) get(ctx context.Context, us UpstreamSource, def string) ([]FileChange, error) {
	if m == nil {
		return us.LocalChanges(ctx, def)
	}
	m.mu.Lock()
	if m.m == nil {
		m.m = map[string]*localAnswer{}
	}
	a := m.m[def]
	if a == nil {
		a = &localAnswer{}
		m.m[def] = a
	}
	m.mu.Unlock()
	a.once.Do(func() { a.fs, a.err = us.LocalChanges(ctx, def) })
	return a.fs, a.err
}

// CheckMany checks several environments in one round: their live details
// come from one round of engine calls (when the adapter can), and what
// several of them share is looked up once. fresh reads everything anew
// from the engine (see LiveBatchObserver). Each environment gets a report
// or an error.
func (b *Berth) CheckMany(ctx context.Context, envs []string, fresh bool) (map[string]*DriftReport, map[string]error) {
	reps, errs := map[string]*DriftReport{}, map[string]error{}
	e, err := b.eng(ctx)
	if err != nil {
		for _, env := range envs {
			errs[env] = err
		}
		return reps, errs
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	ds := map[string]*deployedEnv{}
	sem := make(chan struct{}, 4)
	for _, env := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			d, err := b.deployedOn(ctx, e, env)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[env] = err
				return
			}
			ds[env] = d
		}()
	}
	wg.Wait()
	lives := map[string]drift.Live{}
	if lb, ok := e.(LiveBatchObserver); ok && len(ds) > 0 {
		ps := make([]*spec.Project, 0, len(ds))
		for _, d := range ds {
			ps = append(ps, d.p)
		}
		m, err := lb.LiveMany(ctx, ps, fresh)
		if err != nil {
			for env := range ds {
				errs[env] = err
			}
			return reps, errs
		}
		lives = m
	} else if lo, ok := e.(LiveObserver); ok {
		for env, d := range ds {
			l, err := lo.Live(ctx, d.p)
			if err != nil {
				errs[env] = err
				delete(ds, env)
				continue
			}
			lives[d.p.Name] = l
		}
	} else {
		for env := range ds {
			errs[env] = errors.New("the engine adapter does not report live details")
		}
		return reps, errs
	}
	memo := &localMemo{}
	for env, d := range ds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := b.checkWith(ctx, env, d, lives[d.p.Name], memo)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[env] = err
				return
			}
			reps[env] = r
		}()
	}
	wg.Wait()
	return reps, errs
}

// checkWith makes env's report from d and its live details.
func (b *Berth) checkWith(ctx context.Context, env string, d *deployedEnv, live drift.Live, memo *localMemo) (*DriftReport, error) {
	r := &DriftReport{Env: env, Definition: d.def, Policy: d.p.Drift.PolicyFor(""), Runtime: []drift.Item{}, Files: []FileChange{},
		Local: []FileChange{}, Workspace: d.dir, Notes: d.notes, CheckedAt: b.now()}
	if d.rev != nil {
		r.Revision = d.rev.Hash
		r.Files = append(r.Files, d.files...)
	}
	if len(live.Containers) == 0 && len(live.Networks) == 0 && len(d.o.Containers)+len(d.o.Networks)+len(d.o.Volumes) == 0 {
		return nil, envGone(ctx, d.e, env)
	}
	res := drift.Runtime(d.p, live)
	r.raw, r.Runtime, r.Ignored = res.Items, maskItems(d.p, res.Items), res.Ignored
	if r.Policy == spec.DriftIgnore {
		r.Ignored += len(r.Files)
		r.Files = []FileChange{}
	}
	if us, ok := b.revs.(UpstreamSource); ok {
		if d.rev != nil {
			up, err := b.upstream(ctx, us, *d.rev, d.def)
			if err != nil {
				r.Notes = append(r.Notes, "upstream not checked: "+err.Error())
			} else {
				r.Upstream = &up
			}
		}
		local, err := memo.get(ctx, us, d.def)
		if err != nil {
			r.Notes = append(r.Notes, "local changes not checked: "+err.Error())
		}
		r.Local = append(r.Local, local...)
	}
	r.InSync = len(r.Runtime) == 0 && len(r.Files) == 0 && len(r.Local) == 0 && (r.Upstream == nil || r.Upstream.Behind == 0)
	return r, nil
}

// SyncResult is what Sync did.
type SyncResult struct {
	Result
	ID int64 `json:"id"`
	// Restored lists the workspace files put back to the commit.
	Restored []FileChange `json:"restored"`
	// After is the drift left once the plan was applied.
	After *DriftReport `json:"after,omitempty"`
}

// PlanSync returns what Sync would do, without doing it.
func (b *Berth) PlanSync(ctx context.Context, env string) (*SyncResult, error) {
	d, err := b.deployed(ctx, env)
	if err != nil {
		return nil, err
	}
	plan, err := b.healPlan(ctx, d)
	if err != nil {
		return nil, err
	}
	return &SyncResult{Result: Result{Env: env, Plan: plan, Warnings: d.p.Warnings}, Restored: d.files}, nil
}

// healPlan is reconcile's plan for d plus the recreations that undo
// changes made in place.
func (b *Berth) healPlan(ctx context.Context, d *deployedEnv) (reconcile.Plan, error) {
	o, err := d.e.Observe(ctx, d.p)
	if err != nil {
		return reconcile.Plan{}, err
	}
	plan, err := reconcile.Up(d.p, o)
	if err != nil {
		return reconcile.Plan{}, err
	}
	_, batch := d.e.(LiveBatchObserver)
	if _, ok := d.e.(LiveObserver); !ok && !batch {
		return plan, nil
	}
	live, err := liveOf(ctx, d, true)
	if err != nil {
		return reconcile.Plan{}, err
	}
	return drift.Heal(plan, drift.Runtime(d.p, live).Items), nil
}

// Sync heals env: the workspace files are put back to the deployed
// commit, then the plan that brings the containers back to the desired
// state (shown first in an event; a destructive one is applied only when
// yes or confirm says so) is applied and recorded as a heal. Containers
// Berth did not create are never touched: a name taken by one is a
// conflict to resolve by hand.
func (b *Berth) Sync(ctx context.Context, env string, yes bool, confirm Confirm, emit Emit) (*SyncResult, error) {
	start := b.now()
	release, _, err := b.acquire(ctx, env, KindHeal, emit)
	if err != nil {
		return nil, err
	}
	defer release()
	return b.sync(ctx, env, yes, confirm, emit, start)
}

func (b *Berth) sync(ctx context.Context, env string, yes bool, confirm Confirm, emit Emit, start time.Time) (*SyncResult, error) {
	d, err := b.deployed(ctx, env)
	if err != nil {
		return nil, err
	}
	// Healing runs the definition again: only a trusted one.
	if _, err := b.loadTrusted(ctx, env, d.def, d.rev); err != nil {
		return nil, err
	}
	res := &SyncResult{Result: Result{Env: env, Warnings: d.p.Warnings}, Restored: []FileChange{}}
	plan, err := b.healPlan(ctx, d)
	if err != nil {
		return nil, err
	}
	res.Plan = plan
	emit.send(Event{Env: env, Kind: "plan", Plan: &plan})
	if len(d.files) > 0 {
		emit.send(Event{Env: env, Kind: "message", Detail: fmt.Sprintf("restoring %d workspace file(s) to %s", len(d.files), d.rev.Short)})
	}
	if plan.Destructive() && !yes {
		dp := DeployPlan{Env: env, Kind: KindHeal, Result: &res.Result}
		if d.rev != nil {
			dp.Revision = *d.rev
		}
		if confirm == nil || !confirm(dp) {
			return res, fmt.Errorf("sync of %s not applied: the plan replaces containers and was not confirmed (use --yes): %w", env, ErrConfirm)
		}
	}
	if len(d.files) > 0 {
		fd := b.revs.(FileDrifter) // files are only found through it
		restored, err := fd.Restore(ctx, *d.rev, d.def, d.dir)
		if err != nil {
			return res, err
		}
		res.Restored = append(res.Restored, restored...)
	}
	if !plan.Empty() {
		rev := ""
		if d.rev != nil {
			rev = d.rev.Hash
		}
		planJSON, _ := json.Marshal(plan)
		id, err := b.begin(ctx, Deployment{Kind: KindHeal, Env: env, Definition: d.def, Revision: rev, Plan: planJSON})
		if err != nil {
			return res, err
		}
		res.ID = id
		err = d.e.Apply(ctx, d.p, plan, ApplyOptions{Wait: true, WaitTimeout: d.p.Health.TimeoutOrDefault()}, progressTo(env, emit))
		if ferr := b.finish(ctx, id, outcome(err, b.digests(ctx, d.e, d.p))); ferr != nil && err == nil {
			err = ferr
		}
		if err != nil {
			res.Duration = b.now().Sub(start)
			return res, err
		}
	}
	res.Duration = b.now().Sub(start)
	// Read anew: the events of what was just applied may still be on
	// their way.
	if after, errs := b.CheckMany(ctx, []string{env}, true); errs[env] == nil {
		res.After = after[env]
	}
	return res, nil
}

// Discard puts env's workspace files back to the deployed commit (in
// place, so bind-mounted files change under the containers) and returns
// what it put back.
func (b *Berth) Discard(ctx context.Context, env string, emit Emit) ([]FileChange, error) {
	release, _, err := b.acquire(ctx, env, KindHeal, emit)
	if err != nil {
		return nil, err
	}
	defer release()
	d, err := b.deployed(ctx, env)
	if err != nil {
		return nil, err
	}
	if d.rev == nil {
		return nil, fmt.Errorf("environment %q was not deployed from a revision: it has no workspace to discard", env)
	}
	fd, ok := b.revs.(FileDrifter)
	if !ok {
		return nil, errors.New("the definitions repo cannot restore workspaces")
	}
	out, err := fd.Restore(ctx, *d.rev, d.def, d.dir)
	if out == nil {
		out = []FileChange{}
	}
	return out, err
}

// AdoptRequest asks to turn env's drift into a commit.
type AdoptRequest struct {
	Env string
	// Branch is the new branch (default berth/adopt-<env>-<time>).
	Branch string
}

// AdoptResult is the commit adopt made.
type AdoptResult struct {
	Env    string   `json:"env"`
	Branch string   `json:"branch"`
	Commit Revision `json:"commit"`
	// Files are the definition's files the commit changes.
	Files []string `json:"files"`
	// Adopted are the runtime differences written into the Compose file.
	Adopted []drift.Item `json:"adopted"`
	// Left are runtime differences that do not map onto Compose.
	Left []drift.Item `json:"left"`
	// Refused says what was not written into Git because it looks
	// secret: a variable with a secret name or an interpolated value, an
	// edited file that sets one.
	Refused []string `json:"refused,omitempty"`
}

// Adopt turns env's drift into a commit on a new branch of the
// definitions repo, based on the deployed revision: the workspace's
// edited files, and runtime changes that map cleanly onto the Compose
// file (an environment variable, an image tag). The commit carries the
// user's Git identity and is never pushed. The environment is not
// changed.
func (b *Berth) Adopt(ctx context.Context, req AdoptRequest) (*AdoptResult, error) {
	d, err := b.deployed(ctx, req.Env)
	if err != nil {
		return nil, err
	}
	if d.rev == nil {
		return nil, fmt.Errorf("environment %q was not deployed from a revision: nothing to base a commit on", req.Env)
	}
	cm, ok := b.revs.(Committer)
	if !ok {
		return nil, errors.New("the definitions repo cannot make commits")
	}
	rep, err := b.check(ctx, req.Env, d)
	if err != nil {
		return nil, err
	}
	// The workspace is read through an os.Root: a file a container
	// replaced with a symlink to one of the user's files is refused, never
	// committed.
	ws, err := os.OpenRoot(d.dir)
	if err != nil {
		return nil, err
	}
	defer ws.Close()
	res := &AdoptResult{Env: req.Env, Adopted: []drift.Item{}, Left: []drift.Item{}}
	committed, release := b.pristineReader(ctx, d)
	defer release()
	files := map[string][]byte{}
	for _, f := range d.files {
		if f.Kind == "deleted" {
			files[f.Path] = nil
			continue
		}
		data, err := ws.ReadFile(filepath.FromSlash(f.Path))
		if err != nil {
			return nil, fmt.Errorf("reading %s in %s: %w", f.Path, d.dir, err)
		}
		// A secret typed into a workspace file stays out of Git.
		if found := newSecrets(committed(f.Path), data); len(found) > 0 {
			res.Refused = append(res.Refused, fmt.Sprintf("%s: %s, which looks secret: the file is not committed (keep secrets out of Git: a local env file or your environment)", f.Path, strings.Join(found, ", ")))
			continue
		}
		files[f.Path] = data
	}
	var edits []spec.ComposeEdit
	seen := map[string]bool{}
	byEdit := map[string]drift.Item{}
	for i, it := range rep.raw {
		mappable := (it.Kind == drift.KindChanged || it.Kind == drift.KindAdded || it.Kind == drift.KindRemoved) &&
			(strings.HasPrefix(it.Path, "/environment/") || it.Path == "/image")
		if !mappable {
			if it.Kind != drift.KindReplaced {
				res.Left = append(res.Left, rep.Runtime[i])
			}
			continue
		}
		if it.Kind != drift.KindRemoved && secretItem(d.p, it) {
			res.Refused = append(res.Refused, fmt.Sprintf("services.%s%s: the live value looks secret (its name, its value, or a value from your environment): not written into Git", it.Service, strings.ReplaceAll(it.Path, "/", ".")))
			continue
		}
		k := it.Service + it.Path
		if seen[k] {
			continue
		}
		seen[k] = true
		edits = append(edits, spec.ComposeEdit{Service: it.Service, Path: it.Path, Value: it.Live})
		byEdit[k] = it
	}
	// The last Compose file wins in a merge: edit from the last one back.
	for i := len(d.p.ComposeFiles) - 1; i >= 0 && len(edits) > 0; i-- {
		rel, err := filepath.Rel(d.dir, d.p.ComposeFiles[i])
		if err != nil || !filepath.IsLocal(rel) {
			continue
		}
		rel = filepath.ToSlash(rel)
		data, ok := files[rel]
		if !ok {
			if data, err = ws.ReadFile(filepath.FromSlash(rel)); err != nil {
				return nil, err
			}
		}
		out, applied, err := spec.EditCompose(data, edits)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		if len(applied) == 0 {
			continue
		}
		files[rel] = out
		done := map[string]bool{}
		for _, a := range applied {
			done[a.Service+a.Path] = true
			res.Adopted = append(res.Adopted, maskItems(d.p, []drift.Item{byEdit[a.Service+a.Path]})[0])
		}
		var rest []spec.ComposeEdit
		for _, e := range edits {
			if !done[e.Service+e.Path] {
				rest = append(rest, e)
			}
		}
		edits = rest
	}
	for _, e := range edits {
		res.Left = append(res.Left, maskItems(d.p, []drift.Item{byEdit[e.Service+e.Path]})[0])
	}
	if len(files) == 0 && len(res.Refused) > 0 {
		return nil, fmt.Errorf("environment %q: nothing adopted; refused: %s", req.Env, strings.Join(res.Refused, "; "))
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("environment %q: %w to adopt (edited workspace files, or environment variables and image tags changed on its containers)", req.Env, ErrNoDrift)
	}
	branch := req.Branch
	if branch == "" {
		branch = "berth/adopt-" + req.Env + "-" + b.now().UTC().Format("20060102-150405")
	}
	for p := range files {
		res.Files = append(res.Files, p)
	}
	sort.Strings(res.Files)
	msg := fmt.Sprintf("Adopt the drift of %s (from %s)\n\n", req.Env, d.rev.Short)
	for _, f := range res.Files {
		msg += "- " + f + "\n"
	}
	for _, it := range res.Adopted {
		msg += "- " + it.Service + " " + it.Path + " as it runs\n"
	}
	c, err := cm.Commit(ctx, *d.rev, d.def, branch, files, msg)
	if err != nil {
		return nil, err
	}
	res.Branch, res.Commit = branch, c
	return res, nil
}
