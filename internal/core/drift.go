package core

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
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
