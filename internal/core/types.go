package core

import (
	"time"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// Environment states.
const (
	StateRunning = "running" // every desired container runs (and is healthy where checked)
	StatePartial = "partial" // some run, some do not
	StateStopped = "stopped" // containers exist, none runs
	StateFailed  = "failed"  // a container exited with an error or is unhealthy
	StateAbsent  = "absent"  // nothing of it exists on the engine
)

// Listing is what `berth ls` shows: the definitions of the definitions repo
// and the environments on the target.
type Listing struct {
	Target       Target        `json:"target"`
	Definitions  []Definition  `json:"definitions"`
	Environments []Environment `json:"environments"`
}

// Target is the engine Berth talks to.
type Target struct {
	Context       string `json:"context"`
	Host          string `json:"host"`
	ServerVersion string `json:"serverVersion,omitempty"`
	APIVersion    string `json:"apiVersion,omitempty"`
	// Error says why the engine could not be reached; the rest of a
	// listing (definitions) is still filled in.
	Error string `json:"error,omitempty"`
}

// Definition is one definition folder of the definitions repo.
type Definition struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Dir         string `json:"dir"`
	Error       string `json:"error,omitempty"` // why it cannot be loaded
	// Variants are the manifest's variants, sorted by name.
	Variants []VariantInfo `json:"variants,omitempty"`
	// Secrets are the secrets the manifest declares (Set is filled in by
	// List when a secret store is there).
	Secrets []SecretStatus `json:"secrets,omitempty"`
}

// VariantInfo names one variant of a definition.
type VariantInfo struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Environment is one environment on the target.
type Environment struct {
	Name       string    `json:"name"`
	Definition string    `json:"definition"`
	Revision   string    `json:"revision,omitempty"`
	State      string    `json:"state"`
	Services   []Service `json:"services,omitempty"`
	Running    int       `json:"running"`
	Containers int       `json:"containers"`
	// Variant is the definition's variant it runs as.
	Variant string `json:"variant,omitempty"`
	// PortMoves are its published ports moved off the declared ones
	// (status only).
	PortMoves []spec.PortMove `json:"portMoves,omitempty"`
}

// Service is one service of an environment with its containers' state.
type Service struct {
	Name       string                    `json:"name"`
	State      string                    `json:"state"`            // as for environments
	Health     string                    `json:"health,omitempty"` // of the worst container
	Image      string                    `json:"image"`
	Replicas   int                       `json:"replicas"` // desired, when known
	Containers []reconcile.Container     `json:"containers"`
	Ports      []reconcile.PublishedPort `json:"ports,omitempty"`
}

// EventKind says what an Event carries.
type EventKind string

// Event kinds.
const (
	EventPlan    EventKind = "plan"    // the whole plan, before it is applied
	EventOp      EventKind = "op"      // one op's progress
	EventMessage EventKind = "message" // a line for people
	EventWarning EventKind = "warning" // a line for people, worth attention
	EventDB      EventKind = "db"      // a database step's progress
)

// Event is one thing that happened during an operation, for live progress
// in the CLI and the UI.
type Event struct {
	Time time.Time `json:"time"`
	Env  string    `json:"env"`
	Kind EventKind `json:"kind"`
	// Plan is the whole plan, sent once before it is applied ("plan").
	Plan   *reconcile.Plan  `json:"plan,omitempty"`
	Op     *reconcile.Op    `json:"op,omitempty"`
	Status reconcile.Status `json:"status,omitempty"`
	Detail string           `json:"detail,omitempty"`
	Error  string           `json:"error,omitempty"`
	// DB is the progress of a database step ("db").
	DB *DBProgress `json:"db,omitempty"`
}

// Emit receives events; nil is allowed and drops them.
type Emit func(Event)

func (e Emit) send(ev Event) {
	if e != nil {
		if ev.Time.IsZero() {
			ev.Time = time.Now()
		}
		e(ev)
	}
}

// UpRequest asks to bring an environment up from a definition.
type UpRequest struct {
	// Env is the environment name; Definition defaults to Env when Env is
	// not an existing environment (the usual case: `berth up shop`).
	Env        string
	Definition string
	Wait       bool // wait for running and healthy, like compose up --wait
	// WaitTimeout bounds the wait (0: 5 minutes).
	WaitTimeout time.Duration
	// Variant, when set, is the definition's variant to run ("" for
	// none); nil keeps the environment's (none for a new one).
	Variant *string
	// Profiles, when set, are Compose profiles to enable on top of the
	// definition's; nil keeps the environment's.
	Profiles []string
}

// settings are kept with the variant and profiles req names over them.
func (req UpRequest) settings(kept EnvSettings) EnvSettings {
	if req.Variant != nil {
		kept.Variant = *req.Variant
	}
	if req.Profiles != nil {
		kept.Profiles = req.Profiles
	}
	return kept
}

// Result is what an operation did.
type Result struct {
	Env      string         `json:"env"`
	Plan     reconcile.Plan `json:"plan"`
	Warnings []spec.Warning `json:"warnings,omitempty"`
	// PortMoves are the published ports moved off the declared ones
	// because they were taken.
	PortMoves []spec.PortMove `json:"portMoves,omitempty"`
	// LocalFiles are files kept out of Git read from the user's checkout
	// (berth.yaml local:), not from the revision.
	LocalFiles []string      `json:"localFiles,omitempty"`
	Duration   time.Duration `json:"duration"`
	// Cleaned is true when a failed operation removed what it had created.
	Cleaned bool `json:"cleaned,omitempty"`
}

// DownRequest asks to remove an environment.
type DownRequest struct {
	Env     string
	Volumes bool // also remove its named volumes (data!)
}

// LogsRequest asks for an environment's logs.
type LogsRequest struct {
	Env      string
	Services []string
	Follow   bool
	Tail     int // -1: all
	Since    time.Time
}

// LogLine is one line of a container's output.
type LogLine struct {
	Service   string    `json:"service"`
	Container string    `json:"container"`
	Stream    string    `json:"stream"`
	Time      time.Time `json:"time"`
	Text      string    `json:"text"`
}
