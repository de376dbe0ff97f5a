package reconcile

import (
	"encoding/json"
	"fmt"
	"strings"
)

// OpKind is what an operation does.
type OpKind string

// Operation kinds. The executor runs each as told; it makes no decisions.
const (
	OpCreateNetwork   OpKind = "create-network"
	OpRemoveNetwork   OpKind = "remove-network"
	OpCreateVolume    OpKind = "create-volume"
	OpRemoveVolume    OpKind = "remove-volume"
	OpPullImage       OpKind = "pull-image"
	OpBuildImage      OpKind = "build-image"
	OpCreateContainer OpKind = "create-container" // create and start a new container
	OpRecreate        OpKind = "recreate-container"
	OpStartContainer  OpKind = "start-container"
	OpStopContainer   OpKind = "stop-container"
	// OpRestartContainer restarts a running container whose dependency
	// changed (depends_on restart: true).
	OpRestartContainer OpKind = "restart-container"
	OpRemoveContainer  OpKind = "remove-container"
)

// Destructive reports whether the operation loses a container or data.
func (k OpKind) Destructive() bool {
	switch k {
	case OpRemoveVolume, OpRemoveContainer, OpRecreate, OpRemoveNetwork, OpStopContainer:
		return true
	}
	return false
}

// Await is a condition on another service that must hold before an
// operation starts (depends_on with its condition).
type Await struct {
	Service   string `json:"service"`
	Condition string `json:"condition"` // spec.Condition*
	Required  bool   `json:"required"`
}

// Op is one operation of a plan.
type Op struct {
	ID   int    `json:"id"`
	Kind OpKind `json:"kind"`
	// Resource is the engine name of the object the op acts on: the
	// container, network or volume name, or the image reference.
	Resource string `json:"resource"`
	Service  string `json:"service,omitempty"`
	Number   int    `json:"number,omitempty"`
	// Key is the network or volume key in the Compose file.
	Key string `json:"key,omitempty"`
	// ContainerID is the existing container for recreate, start, stop, remove.
	ContainerID string `json:"containerID,omitempty"`
	// RemoveVolumes, on remove-container, also removes the container's
	// anonymous volumes (never named ones): down --volumes.
	RemoveVolumes bool `json:"removeVolumes,omitempty"`
	// Cause says why the op is in the plan.
	Cause string `json:"cause"`
	// After lists ops (by ID) that must have finished first.
	After []int `json:"after,omitempty"`
	// Await lists service conditions that must hold first.
	Await []Await `json:"await,omitempty"`
}

// MarshalJSON writes the op with "destructive": true when its kind loses a
// container or data, so that the app marks it by the rule above instead of
// a copy of it.
func (o Op) MarshalJSON() ([]byte, error) {
	type plain Op
	return json.Marshal(struct {
		plain
		Destructive bool `json:"destructive,omitempty"`
	}{plain(o), o.Kind.Destructive()})
}

// Plan is an ordered list of operations for one environment. An empty plan
// means the environment is in sync with its desired state.
type Plan struct {
	Project string `json:"project"`
	Ops     []Op   `json:"ops"`
}

// Empty reports whether the plan has nothing to do.
func (p Plan) Empty() bool { return len(p.Ops) == 0 }

// Destructive reports whether any op loses a container or data.
func (p Plan) Destructive() bool {
	for _, op := range p.Ops {
		if op.Kind.Destructive() {
			return true
		}
	}
	return false
}

// Render writes the plan as text, one op a line, the way tests golden it and
// the CLI shows it:
//
//	1 create-network  shop_back                  network missing
//	4 create-container shop-db-1                 container missing  (after 1,2)
func (p Plan) Render() string {
	if p.Empty() {
		return fmt.Sprintf("%s: nothing to do\n", p.Project)
	}
	var b strings.Builder
	kindW, resW := 0, 0
	for _, op := range p.Ops {
		kindW = max(kindW, len(op.Kind))
		resW = max(resW, len(op.Resource))
	}
	for _, op := range p.Ops {
		fmt.Fprintf(&b, "%2d %-*s %-*s  %s", op.ID, kindW, op.Kind, resW, op.Resource, op.Cause)
		var extra []string
		if len(op.After) > 0 {
			ids := make([]string, len(op.After))
			for i, id := range op.After {
				ids[i] = fmt.Sprint(id)
			}
			extra = append(extra, "after "+strings.Join(ids, ","))
		}
		for _, a := range op.Await {
			extra = append(extra, "await "+a.Service+" "+strings.TrimPrefix(a.Condition, "service_"))
		}
		if op.RemoveVolumes {
			extra = append(extra, "with its anonymous volumes")
		}
		if len(extra) > 0 {
			fmt.Fprintf(&b, "  (%s)", strings.Join(extra, "; "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Status of an op while a plan is applied.
type Status string

// Progress statuses.
const (
	StatusStarted  Status = "started"
	StatusProgress Status = "progress" // Detail says how far (build step, pull layers)
	StatusDone     Status = "done"
	StatusFailed   Status = "failed"
	StatusSkipped  Status = "skipped" // a dependency failed
	StatusWaiting  Status = "waiting" // waiting for an await condition
)

// Progress reports one step of applying a plan.
type Progress struct {
	Op     Op     `json:"op"`
	Status Status `json:"status"`
	Detail string `json:"detail,omitempty"`
	Err    error  `json:"-"`
}
