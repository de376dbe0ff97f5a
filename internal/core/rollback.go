package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
)

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
	def, rev, ctx, err := b.rollbackTo(ctx, req)
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

// PlanRollback returns what Rollback would do, like PlanDeploy.
func (b *Berth) PlanRollback(ctx context.Context, req RollbackRequest) (*DeployPlan, error) {
	if req.Env == "" {
		return nil, errors.New("no environment named")
	}
	if err := b.needRepo(); err != nil {
		return nil, err
	}
	def, rev, ctx, err := b.rollbackTo(ctx, req)
	if err != nil {
		return nil, err
	}
	return b.planAt(ctx, KindRollback, req.Env, def, rev)
}

// rollbackTo resolves where a rollback goes: req.To with the environment's
// definition, or else the last good revision before the current one with
// the definition it ran.
//
// Going back to the last good deployment also goes back to the variant it
// ran: the returned ctx asks the loads for it.
func (b *Berth) rollbackTo(ctx context.Context, req RollbackRequest) (def string, rev Revision, _ context.Context, err error) {
	def = b.definitionFor(ctx, req.Env, "")
	to := req.To
	if to == "" {
		t, err := b.rollbackTarget(ctx, req.Env)
		if err != nil {
			return "", Revision{}, ctx, err
		}
		to, def = t.Revision, cmp.Or(t.Definition, def)
		ctx = b.asVariant(ctx, req.Env, t.Variant)
	}
	rev, err = b.revs.Resolve(ctx, to)
	if err != nil {
		return "", Revision{}, ctx, err
	}
	return def, rev, ctx, nil
}

// asVariant is ctx asking the loads of env for variant, its other
// settings kept.
func (b *Berth) asVariant(ctx context.Context, env, variant string) context.Context {
	es := b.loadSettings(ctx, env)
	if es.Variant == variant {
		return ctx
	}
	es.Variant = variant
	return withLoadAs(ctx, env, es)
}
