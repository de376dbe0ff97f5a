package core

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/reconcile"
)

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
	emit.send(Event{Env: env, Kind: EventPlan, Plan: &plan})
	if len(d.files) > 0 {
		emit.send(Event{Env: env, Kind: EventMessage, Detail: fmt.Sprintf("restoring %d workspace file(s) to %s", len(d.files), d.rev.Short)})
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
