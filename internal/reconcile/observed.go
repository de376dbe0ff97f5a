// Package reconcile holds the pure planner: it compares the desired state of
// an environment (spec.Project) with what the engine reports (Observed) and
// returns a Plan, an ordered list of operations each carrying its cause. It
// does no I/O; the engine adapter observes and applies.
package reconcile

import "time"

// Labels Berth puts on what it creates. The com.docker.compose.* ones make a
// Berth environment an ordinary Compose project for docker compose ls/ps/logs.
const (
	LabelProject        = "com.docker.compose.project"
	LabelService        = "com.docker.compose.service"
	LabelNumber         = "com.docker.compose.container-number"
	LabelOneOff         = "com.docker.compose.oneoff"
	LabelConfigHash     = "com.docker.compose.config-hash"
	LabelWorkingDir     = "com.docker.compose.project.working_dir"
	LabelConfigFiles    = "com.docker.compose.project.config_files"
	LabelNetwork        = "com.docker.compose.network"
	LabelVolume         = "com.docker.compose.volume"
	LabelComposeVersion = "com.docker.compose.version"
	LabelDependsOn      = "com.docker.compose.depends_on"
	LabelImage          = "com.docker.compose.image"

	LabelManaged     = "dev.berth.managed"
	LabelEnvironment = "dev.berth.environment"
	LabelDefinition  = "dev.berth.definition"
	LabelRevision    = "dev.berth.revision"
	LabelVariant     = "dev.berth.variant"
	LabelBuildHash   = "dev.berth.build-hash"
	LabelObjectHash  = "dev.berth.config-hash" // on networks and volumes
)

// Container states as the engine reports them.
const (
	StateCreated    = "created"
	StateRunning    = "running"
	StatePaused     = "paused"
	StateRestarting = "restarting"
	StateRemoving   = "removing"
	StateExited     = "exited"
	StateDead       = "dead"
)

// Health states; HealthNone means the container has no health check.
const (
	HealthNone      = ""
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Observed is the live state of one environment: every object carrying its
// project label, plus what the planner needs to know about names and images.
type Observed struct {
	Project    string      `json:"project"`
	Containers []Container `json:"containers"`
	Networks   []Object    `json:"networks"`
	Volumes    []Object    `json:"volumes"`
	// Images maps each image reference the desired state uses to what the
	// engine has under that reference; a missing key means no such image.
	Images map[string]Image `json:"images,omitempty"`
	// Foreign lists objects Berth did not create whose names collide with
	// names the desired state needs.
	Foreign []Foreign `json:"foreign,omitempty"`
}

// Container is one container of the environment.
type Container struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Service string `json:"service"`
	Number  int    `json:"number"`
	OneOff  bool   `json:"oneOff,omitempty"`
	// Managed is true when Berth created the container (dev.berth.managed).
	// A container of the project that Berth did not create is never changed.
	Managed    bool              `json:"managed"`
	ConfigHash string            `json:"configHash"`
	Image      string            `json:"image"`   // reference it was created from
	ImageID    string            `json:"imageID"` // what it runs
	State      string            `json:"state"`
	Health     string            `json:"health,omitempty"`
	ExitCode   int               `json:"exitCode"`
	Restarts   int               `json:"restarts"`
	Created    time.Time         `json:"created"`
	StartedAt  time.Time         `json:"startedAt,omitzero"`
	Ports      []PublishedPort   `json:"ports,omitempty"`
	Networks   []string          `json:"networks,omitempty"` // engine names
	Labels     map[string]string `json:"labels,omitempty"`
}

// PublishedPort is a port the engine publishes on the host.
type PublishedPort struct {
	HostIP        string `json:"hostIP"`
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// Object is a network or volume of the environment.
type Object struct {
	ID      string            `json:"id,omitempty"`
	Name    string            `json:"name"` // engine name
	Key     string            `json:"key"`  // name in the Compose file (from the label)
	Hash    string            `json:"hash,omitempty"`
	Managed bool              `json:"managed"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// Image is what the engine holds under one reference.
type Image struct {
	ID        string `json:"id"`
	BuildHash string `json:"buildHash,omitempty"` // dev.berth.build-hash label
}

// Foreign kinds.
const (
	KindContainer = "container"
	KindNetwork   = "network"
	KindVolume    = "volume"
)

// Foreign is an object with a name Berth needs that Berth did not create
// (or that belongs to another project).
type Foreign struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	ID      string `json:"id"`
	Project string `json:"project,omitempty"` // its Compose project, if any
}
