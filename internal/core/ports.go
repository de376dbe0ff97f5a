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
	// Action is create, start, die, stop, health_status or destroy from
	// Events; DriftEvents also reports other actions (update, rename,
	// kill...) and network connect and disconnect.
	Action string
	// Network names the network a container was connected to or
	// disconnected from (DriftEvents); Env is then empty.
	Network string
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

// RevisionSource is the definitions repo seen as revisions.
type RevisionSource interface {
	// Resolve turns a revision (sha, branch, tag; "" means the tracked
	// branch's head, fetched first when the repo is a clone) into a
	// commit. A revision that names nothing wraps ErrNotFound.
	Resolve(ctx context.Context, rev string) (Revision, error)
	// Log lists the commits that touch a definition, newest first, at
	// most limit (0: all), each with its DefinitionTree.
	Log(ctx context.Context, definition string, limit int) ([]Revision, error)
	// DefinitionTree is the tree hash of the definition's folder at rev;
	// a definition missing at rev wraps ErrNotFound.
	DefinitionTree(ctx context.Context, rev Revision, definition string) (string, error)
	// Materialise writes the definition folder at rev into an immutable,
	// read-only workspace and returns its folder.
	Materialise(ctx context.Context, rev Revision, definition string) (string, error)
}

// Recorder records deployments as they start and end.
type Recorder interface {
	// Begin records an operation that starts now (status running) and
	// returns its id. The recorder fills in who runs it.
	Begin(ctx context.Context, d Deployment) (int64, error)
	// Finish records how operation id ended.
	Finish(ctx context.Context, id int64, o Outcome) error
	// History returns env's deployments, newest first.
	History(ctx context.Context, env string, f HistoryFilter) ([]Deployment, error)
}

// Recovery finds operations whose process was killed before it finished.
type Recovery interface {
	// Unfinished returns env's records that say running but whose
	// process is gone.
	Unfinished(ctx context.Context, env string) ([]Deployment, error)
	// MarkInterrupted records that operation id was killed.
	MarkInterrupted(ctx context.Context, id int64) error
}

// Store is what core asks of the embedded store.
type Store interface {
	Recorder
	Recovery
}

// Locker gives one operation at a time per environment.
type Locker interface {
	// Lock takes env's lock for the operation what, or fails at once with
	// an error that Is ErrBusy and names the holder. release gives it up.
	Lock(ctx context.Context, env, what string) (release func(), err error)
}
