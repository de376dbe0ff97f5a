package core

import (
	"context"
	"time"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// Observer reports the live state of environments.
type Observer interface {
	// Observe reports the objects of p's environment and what the engine
	// knows of the images and names p needs.
	Observe(ctx context.Context, p *spec.Project) (reconcile.Observed, error)
	// ObserveProject reports the objects of the named environment.
	ObserveProject(ctx context.Context, name string) (reconcile.Observed, error)
	// Environments lists every environment Berth manages on the engine.
	Environments(ctx context.Context) ([]reconcile.Observed, error)
}

// Applier executes a plan; it decides nothing.
type Applier interface {
	Apply(ctx context.Context, p *spec.Project, plan reconcile.Plan, opts ApplyOptions, progress func(reconcile.Progress)) error
}

// ApplyOptions tune how a plan is applied.
type ApplyOptions struct {
	Wait        bool
	WaitTimeout time.Duration
}

// LogReader streams containers' output.
type LogReader interface {
	Logs(ctx context.Context, req LogsRequest, out func(LogLine)) error
}

// EventStream reports what happens to the containers of every
// environment Berth manages.
type EventStream interface {
	// Events streams container events until ctx ends (then it returns
	// nil) or the stream fails (then it returns the error). out is called
	// from one goroutine.
	Events(ctx context.Context, out func(ContainerEvent)) error
}

// ContainerEvent is something that happened to a container of an
// environment, as the engine reports it.
type ContainerEvent struct {
	Time      time.Time
	Env       string // the environment (Compose project)
	Service   string
	Container string
	Action    string // create, start, die, stop, health_status, destroy
}

// Engine is everything core asks of a container engine. The composition
// root adapts the Docker adapter to it.
type Engine interface {
	Observer
	Applier
	LogReader
	EventStream
	// Target says which engine this is.
	Target(ctx context.Context) Target
}

// EngineSource hands out a connected engine, connecting (again) when
// needed, so that Berth starts without an engine and recovers when one
// comes up.
type EngineSource func(ctx context.Context) (Engine, error)

// Definitions finds and loads definitions from the definitions repo.
type Definitions interface {
	List(ctx context.Context) ([]Definition, error)
	Load(ctx context.Context, definition string, opts spec.LoadOptions) (*spec.Project, error)
}
