package root

import (
	"context"
	"errors"
	"fmt"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/engine"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// engineAdapter fits the Docker adapter to core's Engine port.
type engineAdapter struct {
	e       *engine.Engine
	dbState // dbclone.go
}

func (a *engineAdapter) Observe(ctx context.Context, p *spec.Project) (reconcile.Observed, error) {
	return a.e.Observe(ctx, p)
}

func (a *engineAdapter) ObserveProject(ctx context.Context, name string) (reconcile.Observed, error) {
	return a.e.ObserveProject(ctx, name)
}

func (a *engineAdapter) Environments(ctx context.Context) ([]reconcile.Observed, error) {
	ps, err := a.e.Projects(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.Observed, 0, len(ps))
	for _, p := range ps {
		o, err := a.e.ObserveProject(ctx, p.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func (a *engineAdapter) Apply(ctx context.Context, p *spec.Project, plan reconcile.Plan, opts core.ApplyOptions, progress func(reconcile.Progress)) error {
	return a.e.Apply(ctx, p, plan, engine.ApplyOptions{Wait: opts.Wait, WaitTimeout: opts.WaitTimeout}, progress)
}

func (a *engineAdapter) Logs(ctx context.Context, req core.LogsRequest, out func(core.LogLine)) error {
	opts := engine.LogOptions{Services: req.Services, Follow: req.Follow, Tail: req.Tail, Since: req.Since, Timestamps: true}
	return a.e.Logs(ctx, req.Env, opts, func(l engine.LogLine) {
		out(core.LogLine{Service: l.Service, Container: l.Container, Stream: l.Stream, Time: l.Time, Text: l.Text})
	})
}

func (a *engineAdapter) Events(ctx context.Context, out func(core.ContainerEvent)) error {
	return a.e.AllEvents(ctx, func(ev engine.Event) { out(containerEvent(ev)) })
}

func containerEvent(ev engine.Event) core.ContainerEvent {
	return core.ContainerEvent{Time: ev.Time, Env: ev.Project, Network: ev.Network, Service: ev.Service, Container: ev.Container, Action: ev.Action}
}

func (a *engineAdapter) Target(ctx context.Context) core.Target {
	ep := a.e.Endpoint()
	return core.Target{Context: ep.Context, Host: ep.Host, ServerVersion: ep.ServerVersion, APIVersion: ep.APIVersion}
}

// connectError hands a connection failure to core, which marks it as
// core.ErrEngine whatever its cause.
func connectError(err error) error {
	if errors.Is(err, engine.ErrUnreachable) {
		return err
	}
	return fmt.Errorf("connecting to the Docker engine: %w", err)
}

// Live gives core the engine's live details (core.LiveObserver).
func (a *engineAdapter) Live(ctx context.Context, p *spec.Project) (drift.Live, error) {
	return a.e.Live(ctx, p)
}

// DriftEvents passes the engine's finer events to core
// (core.DriftEventStream).
func (a *engineAdapter) DriftEvents(ctx context.Context, out func(core.ContainerEvent)) error {
	return a.e.DriftEvents(ctx, func(ev engine.Event) { out(containerEvent(ev)) })
}

// LiveMany gives core several environments' live details in one round
// (core.LiveBatchObserver).
func (a *engineAdapter) LiveMany(ctx context.Context, ps []*spec.Project, fresh bool) (map[string]drift.Live, error) {
	return a.e.LiveMany(ctx, ps, fresh)
}

// PublishedPorts gives core the host ports in use (core.PortUser).
func (a *engineAdapter) PublishedPorts(ctx context.Context) ([]core.PortUse, error) {
	uses, err := a.e.PublishedPorts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]core.PortUse, len(uses))
	for i, u := range uses {
		out[i] = core.PortUse{Env: u.Project, Container: u.Container, HostIP: u.HostIP, Port: u.Port, Protocol: u.Protocol}
	}
	return out, nil
}

// LocalHost says whether the engine is on this machine.
func (a *engineAdapter) LocalHost() bool { return a.e.LocalHost() }

// CopyFiles, RemoveFiles and RestartContainer give core live development
// (core.Syncer).
func (a *engineAdapter) CopyFiles(ctx context.Context, id string, files []core.SyncFile) error {
	list := make([]engine.SyncFile, len(files))
	for i, f := range files {
		list[i] = engine.SyncFile{Host: f.Host, Container: f.Container}
	}
	return a.e.CopyFiles(ctx, id, list)
}

func (a *engineAdapter) RemoveFiles(ctx context.Context, id string, paths []string) error {
	err := a.e.RemoveFiles(ctx, id, paths)
	if errors.Is(err, engine.ErrNoRemover) {
		return fmt.Errorf("%w: %w", core.ErrNoRemover, err)
	}
	return err
}

func (a *engineAdapter) RestartContainer(ctx context.Context, id string) error {
	return a.e.RestartContainer(ctx, id)
}

// RunningContainers lists a service's running containers in one engine
// call (core.ServiceContainers).
func (a *engineAdapter) RunningContainers(ctx context.Context, env, service string) (map[string]string, error) {
	return a.e.RunningContainers(ctx, env, service)
}

// Shell gives core berth exec (core.Sheller).
func (a *engineAdapter) Shell(ctx context.Context, id string, req core.ExecRequest) (int, error) {
	var resize chan engine.Size
	if req.Resize != nil {
		resize = make(chan engine.Size, 1)
		go func() {
			defer close(resize)
			for {
				select {
				case <-ctx.Done():
					return
				case sz, ok := <-req.Resize:
					if !ok {
						return
					}
					select {
					case resize <- engine.Size{Rows: sz.Rows, Cols: sz.Cols}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	return a.e.Attach(ctx, id, engine.Session{Cmd: req.Cmd, TTY: req.TTY, Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr,
		Size: engine.Size{Rows: req.Size.Rows, Cols: req.Size.Cols}, Resize: resize})
}

// Facts and ImageState answer the preflight (core.EngineInspector).
func (a *engineAdapter) Facts(ctx context.Context) (core.EngineFacts, error) {
	f, err := a.e.Facts(ctx)
	return core.EngineFacts(f), err
}

func (a *engineAdapter) ImageState(ctx context.Context, ref string) (core.ImageState, error) {
	present, size, pullErr, err := a.e.ImageState(ctx, ref)
	return core.ImageState{Present: present, Size: size, PullErr: pullErr}, err
}
