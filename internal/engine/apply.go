package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berthdev/berth/internal/failpoint"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// ApplyOptions change how a plan is applied.
type ApplyOptions struct {
	// Wait makes Apply, after the ops, wait until every container of every
	// service runs (and is healthy where it has a health check).
	Wait bool
	// WaitTimeout bounds that wait; zero means until ctx ends.
	WaitTimeout time.Duration
}

// OpWait is the kind of the pseudo-op Apply reports progress for while it
// waits for the environment to be up (ApplyOptions.Wait). It is never part
// of a plan.
const OpWait reconcile.OpKind = "wait"

// OpError is the failure of one op of a plan.
type OpError struct {
	Op  reconcile.Op
	Err error
}

func (e *OpError) Error() string {
	return fmt.Sprintf("op %d %s %s: %v", e.Op.ID, e.Op.Kind, e.Op.Resource, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// Apply runs the plan's ops against the engine. It decides nothing: each op
// runs as stated, in parallel as soon as the ops in its After list are done
// and its Await conditions hold. When an op fails, the ops that depend on it
// are skipped, independent ones still run, and the returned error names
// every failed op, its resource and the cause (errors.Is finds ErrPortInUse,
// ErrImageNotFound, ErrNotManaged through it).
//
// progress, if not nil, is called for every step of every op, from one
// goroutine at a time.
func (e *Engine) Apply(ctx context.Context, p *spec.Project, plan reconcile.Plan, opts ApplyOptions, progress func(reconcile.Progress)) error {
	if plan.Project != "" && plan.Project != p.Name {
		return fmt.Errorf("plan is for environment %q, not %q", plan.Project, p.Name)
	}
	x := &executor{e: e, p: p, progress: progress, states: map[int]*opState{}}
	if err := x.prepare(plan); err != nil {
		return err
	}
	// Source copies no container mounts any more go (sources.go).
	defer e.sweepSources(ctx, p.Name)
	var wg sync.WaitGroup
	for _, op := range plan.Ops {
		wg.Go(func() { x.runOp(ctx, op) })
	}
	wg.Wait()

	var errs []error
	for _, op := range plan.Ops {
		if st := x.states[op.ID]; st.err != nil {
			errs = append(errs, &OpError{Op: op, Err: st.err})
		}
	}
	// Ops skipped because ctx ended are no failure of theirs, but the plan
	// did not complete: say so rather than report success.
	if err := ctx.Err(); err != nil {
		errs = append(errs, fmt.Errorf("applying the plan was interrupted: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if opts.Wait {
		return e.waitUp(ctx, p, opts.WaitTimeout, x.emit)
	}
	return nil
}

// translatable checks, before any op runs, that the container an op
// creates can be asked of this engine (a key its API is too old for, a
// restart policy it does not know): a plan that would fail there fails
// before it has changed anything. The containers of shared namespaces do
// not exist yet; stand-ins take their place.
func (x *executor) translatable(op reconcile.Op) error {
	if x.p == nil {
		return nil
	}
	s := x.p.Service(op.Service)
	if s == nil {
		return nil
	}
	pending := map[string]string{}
	for _, other := range x.p.Services {
		pending[other.Name] = "pending"
	}
	_, err := buildCreateRequest(x.p, s, max(op.Number, 1), "", "", x.e.endpoint.APIVersion, pending)
	return err
}

// opState is the outcome of one op; done is closed when it is known.
type opState struct {
	done    chan struct{}
	ok      bool
	skipped bool
	err     error
}

type executor struct {
	e        *Engine
	p        *spec.Project
	progress func(reconcile.Progress)
	emitMu   sync.Mutex

	states map[int]*opState
	// bringUp lists, per service, the ops that create or start its
	// containers; an Await on the service waits for them first.
	bringUp map[string][]int
}

func (x *executor) emit(pr reconcile.Progress) {
	if x.progress == nil {
		return
	}
	x.emitMu.Lock()
	defer x.emitMu.Unlock()
	x.progress(pr)
}

// prepare checks the plan's references and that it has no cycle (through
// After and through Await on a service whose ops are in the plan), which
// would otherwise hang.
func (x *executor) prepare(plan reconcile.Plan) error {
	x.bringUp = map[string][]int{}
	for _, op := range plan.Ops {
		if _, dup := x.states[op.ID]; dup {
			return fmt.Errorf("plan has two ops with id %d", op.ID)
		}
		x.states[op.ID] = &opState{done: make(chan struct{})}
		switch op.Kind {
		case reconcile.OpCreateContainer, reconcile.OpRecreate, reconcile.OpStartContainer, reconcile.OpRestartContainer:
			x.bringUp[op.Service] = append(x.bringUp[op.Service], op.ID)
		}
		if op.Kind == reconcile.OpCreateContainer || op.Kind == reconcile.OpRecreate {
			if err := x.translatable(op); err != nil {
				return err
			}
		}
	}
	edges := map[int][]int{}
	for _, op := range plan.Ops {
		for _, a := range op.After {
			if _, ok := x.states[a]; !ok {
				return fmt.Errorf("op %d %s %s comes after op %d, which is not in the plan", op.ID, op.Kind, op.Resource, a)
			}
			edges[op.ID] = append(edges[op.ID], a)
		}
		for _, aw := range op.Await {
			for _, id := range x.bringUp[aw.Service] {
				if id != op.ID {
					edges[op.ID] = append(edges[op.ID], id)
				}
			}
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := map[int]int{}
	var visit func(id int) error
	visit = func(id int) error {
		color[id] = grey
		for _, d := range edges[id] {
			switch color[d] {
			case grey:
				return fmt.Errorf("plan has a dependency cycle through ops %d and %d", id, d)
			case white:
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		color[id] = black
		return nil
	}
	for _, op := range plan.Ops {
		if color[op.ID] == white {
			if err := visit(op.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *executor) runOp(ctx context.Context, op reconcile.Op) {
	st := x.states[op.ID]
	defer close(st.done)

	skip := func(why string) {
		st.skipped = true
		x.emit(reconcile.Progress{Op: op, Status: reconcile.StatusSkipped, Detail: why})
	}
	fail := func(err error) {
		st.err = err
		x.emit(reconcile.Progress{Op: op, Status: reconcile.StatusFailed, Detail: err.Error(), Err: err})
	}

	for _, a := range op.After {
		dep := x.states[a]
		select {
		case <-dep.done:
		case <-ctx.Done():
			skip("cancelled: " + ctx.Err().Error())
			return
		}
		if !dep.ok {
			skip(fmt.Sprintf("op %d did not complete", a))
			return
		}
	}
	for _, aw := range op.Await {
		why, err := x.await(ctx, op, aw)
		if why != "" {
			skip(why)
			return
		}
		if err != nil {
			fail(err)
			return
		}
	}
	if err := ctx.Err(); err != nil {
		skip("cancelled: " + err.Error())
		return
	}

	x.emit(reconcile.Progress{Op: op, Status: reconcile.StatusStarted})
	detail := func(d string) { x.emit(reconcile.Progress{Op: op, Status: reconcile.StatusProgress, Detail: d}) }
	if err := x.exec(ctx, op, detail); err != nil {
		fail(err)
		return
	}
	st.ok = true
	failpoint.Hit(failpoint.OpDone)
	x.emit(reconcile.Progress{Op: op, Status: reconcile.StatusDone})
}

// await waits for the ops of the plan that bring the service up, then for
// its condition. It returns a reason to skip when those ops did not
// complete, or an error when the condition cannot hold. A condition that is
// not Required never blocks the op for good.
func (x *executor) await(ctx context.Context, op reconcile.Op, aw reconcile.Await) (skip string, err error) {
	x.emit(reconcile.Progress{Op: op, Status: reconcile.StatusWaiting, Detail: awaitText(aw)})
	for _, id := range x.bringUp[aw.Service] {
		if id == op.ID {
			continue
		}
		dep := x.states[id]
		select {
		case <-dep.done:
		case <-ctx.Done():
			return "cancelled: " + ctx.Err().Error(), nil
		}
		if !dep.ok && aw.Required {
			return fmt.Sprintf("dependency %s did not start (op %d did not complete)", aw.Service, id), nil
		}
	}
	err = x.e.awaitCondition(ctx, x.p.Name, aw)
	if err != nil && !aw.Required {
		x.emit(reconcile.Progress{Op: op, Status: reconcile.StatusProgress, Detail: "optional dependency: " + err.Error()})
		return "", nil
	}
	if err != nil && ctx.Err() != nil {
		return "cancelled: " + ctx.Err().Error(), nil
	}
	return "", err
}

func awaitText(aw reconcile.Await) string {
	switch aw.Condition {
	case spec.ConditionHealthy:
		return "waiting for " + aw.Service + " to be healthy"
	case spec.ConditionCompleted:
		return "waiting for " + aw.Service + " to complete successfully"
	default:
		return "waiting for " + aw.Service + " to start"
	}
}

// exec runs one op.
func (x *executor) exec(ctx context.Context, op reconcile.Op, detail func(string)) error {
	e, p := x.e, x.p
	switch op.Kind {
	case reconcile.OpCreateNetwork:
		return e.createNetwork(ctx, p, op, detail)
	case reconcile.OpRemoveNetwork:
		return e.removeNetwork(ctx, p.Name, op, detail)
	case reconcile.OpCreateVolume:
		return e.createVolume(ctx, p, op, detail)
	case reconcile.OpRemoveVolume:
		return e.removeVolume(ctx, p.Name, op, detail)
	case reconcile.OpPullImage:
		return e.pullImage(ctx, op.Resource, detail)
	case reconcile.OpBuildImage:
		s := p.Service(op.Service)
		if s == nil {
			return fmt.Errorf("service %q is not in the project", op.Service)
		}
		return e.buildImage(ctx, p, s, op.Resource, detail)
	case reconcile.OpCreateContainer:
		return e.createContainer(ctx, p, op, detail)
	case reconcile.OpRecreate:
		return e.recreateContainer(ctx, p, op, detail)
	case reconcile.OpStartContainer:
		return e.startContainer(ctx, p, op, detail)
	case reconcile.OpStopContainer:
		return e.stopContainer(ctx, p, op, detail)
	case reconcile.OpRestartContainer:
		return e.restartContainer(ctx, p, op, detail)
	case reconcile.OpRemoveContainer:
		return e.removeContainer(ctx, p, op, detail)
	default:
		return fmt.Errorf("unknown op kind %q", op.Kind)
	}
}
