package core

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// PlanRecreate returns what Recreate would do, without doing it.
func (b *Berth) PlanRecreate(ctx context.Context, env, service string) (*Result, error) {
	_, p, plan, err := b.prepareRecreate(ctx, env, service)
	if err != nil {
		return nil, err
	}
	return &Result{Env: env, Plan: plan, Warnings: p.Warnings}, nil
}

// Recreate replaces the containers of one service of an environment (and
// nothing else), from the environment's definition: the plan's ops say
// "recreate asked".
// It holds env's lock and is recorded in its history.
func (b *Berth) Recreate(ctx context.Context, env, service string, emit Emit) (*Result, error) {
	start := b.now()
	release, _, err := b.acquire(ctx, env, KindRecreate, emit)
	if err != nil {
		return nil, err
	}
	defer release()
	e, p, plan, err := b.prepareRecreate(ctx, env, service)
	if err != nil {
		return nil, err
	}
	emit.send(Event{Env: env, Kind: EventPlan, Plan: &plan})
	planJSON, err := json.Marshal(plan)
	if err != nil {
		return nil, err
	}
	id, err := b.begin(ctx, Deployment{Kind: KindRecreate, Env: env, Definition: p.Definition, Revision: p.Revision, Plan: planJSON,
		Detail: mustJSON(DBDetail{Service: service})})
	if err != nil {
		return nil, err
	}
	err = e.Apply(ctx, p, plan, ApplyOptions{Wait: false}, progressTo(env, emit))
	if ferr := b.finish(ctx, id, outcome(err, b.digests(ctx, e, p))); ferr != nil && err == nil {
		err = ferr
	}
	return &Result{Env: env, Plan: plan, Warnings: p.Warnings, Duration: b.now().Sub(start)}, err
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	return b
}

func (b *Berth) prepareRecreate(ctx context.Context, env, service string) (Engine, *spec.Project, reconcile.Plan, error) {
	var none reconcile.Plan
	if env == "" || service == "" {
		return nil, nil, none, fmt.Errorf("recreate needs an environment and a service")
	}
	e, err := b.eng(ctx)
	if err != nil {
		return nil, nil, none, err
	}
	o, err := e.ObserveProject(ctx, env)
	if err != nil {
		return nil, nil, none, err
	}
	if len(o.Containers)+len(o.Networks)+len(o.Volumes) == 0 {
		return nil, nil, none, fmt.Errorf("environment %q: %w on %s", env, ErrNotFound, e.Target(ctx).Host)
	}
	def := definitionOf(o, env)
	l, err := b.loadTrusted(ctx, env, def, nil)
	if err != nil {
		return nil, nil, none, err
	}
	p := l.p
	if p.Service(service) == nil {
		return nil, nil, none, fmt.Errorf("environment %q has no service %q: %w", env, service, ErrNotFound)
	}
	if o, err = e.Observe(ctx, p); err != nil {
		return nil, nil, none, err
	}
	plan, err := reconcile.Recreate(p, o, service)
	if err != nil {
		return nil, nil, none, err
	}
	return e, p, plan, nil
}

// PlanDown returns what Down would do, without doing it.
func (b *Berth) PlanDown(ctx context.Context, req DownRequest) (*Result, error) {
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
	return &Result{Env: req.Env, Plan: reconcile.Down(o, req.Volumes)}, nil
}
