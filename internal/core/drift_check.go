package core

import (
	"context"
	"errors"
	"sync"

	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/spec"
)

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
	// What a watch syncs into the containers is the developer's work in
	// progress, not drift (develop.go).
	r.Files, r.Local = b.dev.withoutSynced(env, r.Files), b.dev.withoutSynced(env, r.Local)
	r.InSync = len(r.Runtime) == 0 && len(r.Files) == 0 && len(r.Local) == 0 && (r.Upstream == nil || r.Upstream.Behind == 0)
	return r, nil
}
