package spec

import "time"

// Project is the desired state of one environment: a definition loaded with
// compose-go, merged with the manifest and local settings, and normalised so
// that two loads of the same files give equal values and equal hashes.
//
// It is the only shape of a Compose project the rest of Berth sees: the engine
// adapter translates it into Docker API calls and the planner compares it with
// what runs. Nothing outside this package imports compose-go.
type Project struct {
	// Name is the environment name; it is also the Compose project name.
	Name string `json:"name"`
	// Definition is the name of the definition the environment comes from.
	Definition string `json:"definition"`
	// Dir is the absolute path of the definition folder; relative paths in
	// the Compose files resolve against it.
	Dir string `json:"dir"`
	// ComposeFiles are the absolute paths of the Compose files, in load order.
	ComposeFiles []string `json:"composeFiles"`
	// Revision is the commit the definition was read from, when known.
	Revision string   `json:"revision,omitempty"`
	Profiles []string `json:"profiles,omitempty"`
	// Description is the manifest's description.
	Description string `json:"description,omitempty"`

	Services []Service `json:"services"` // sorted by name
	Networks []Network `json:"networks"` // sorted by key
	Volumes  []Volume  `json:"volumes"`  // sorted by key

	// Databases are the services the manifest says hold databases.
	Databases []Database `json:"databases,omitempty"`
	// Warnings name what Berth read but does not act on yet (file:line).
	Warnings []Warning `json:"warnings,omitempty"`
	// Capabilities are what the definition can do on the user's machine
	// beyond running its own containers (see Capability).
	Capabilities []Capability `json:"capabilities,omitempty"`
	// HostEnv are the variables of the user's environment this load was
	// given (granted ones only): a database url source reads its URL
	// here. Never serialised.
	HostEnv map[string]string `json:"-"`
	// Blocked lists files outside the definition's folder the load needed
	// and did not read, because they were not granted: the project is
	// incomplete and must not run until they are.
	Blocked []string `json:"blocked,omitempty"`

	// Health and Drift are the manifest's settings, nil when not set:
	// HealthSettings.TimeoutOrDefault and DriftSettings.PolicyFor give the
	// defaults.
	Health *HealthSettings `json:"health,omitempty"`
	Drift  *DriftSettings  `json:"drift,omitempty"`
}

// Service is one Compose service, normalised.
type Service struct {
	Name string `json:"name"`
	// Image is the reference to run. For a service with Build it is the tag
	// the build produces (the Compose default is <project>-<service>).
	Image      string `json:"image"`
	Build      *Build `json:"build,omitempty"`
	PullPolicy string `json:"pullPolicy,omitempty"` // missing (default), always, never, build
	Replicas   int    `json:"replicas"`

	DependsOn []Dependency `json:"dependsOn,omitempty"` // sorted by service

	Entrypoint  []string          `json:"entrypoint,omitempty"` // nil: the image's
	Command     []string          `json:"command,omitempty"`    // nil: the image's
	Environment map[string]string `json:"environment,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"` // the user's labels only

	Ports    []Port           `json:"ports,omitempty"`
	Mounts   []Mount          `json:"mounts,omitempty"`   // sorted by target
	Networks []ServiceNetwork `json:"networks,omitempty"` // sorted by network key

	Healthcheck *Healthcheck `json:"healthcheck,omitempty"`
	Restart     string       `json:"restart,omitempty"` // no, always, on-failure[:N], unless-stopped

	Init       *bool    `json:"init,omitempty"`
	User       string   `json:"user,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	Hostname   string   `json:"hostname,omitempty"`
	Tmpfs      []string `json:"tmpfs,omitempty"`
	ExtraHosts []string `json:"extraHosts,omitempty"` // "host:ip", sorted
	CapAdd     []string `json:"capAdd,omitempty"`
	CapDrop    []string `json:"capDrop,omitempty"`
	ReadOnly   bool     `json:"readOnly,omitempty"`
	Privileged bool     `json:"privileged,omitempty"`
	Tty        bool     `json:"tty,omitempty"`
	StdinOpen  bool     `json:"stdinOpen,omitempty"`

	StopSignal      string         `json:"stopSignal,omitempty"`
	StopGracePeriod *time.Duration `json:"stopGracePeriod,omitempty"`

	// Interpolated are the environment variables whose values came from
	// interpolation or from the user's environment: masked wherever Berth
	// shows them, like those with secret names. Not part of the hash.
	Interpolated []string `json:"-"`

	// Hash is the configuration hash of everything above that shapes the
	// container (not Replicas, Build or PullPolicy). It is stored on the
	// container as com.docker.compose.config-hash; a container whose label
	// differs is recreated.
	Hash string `json:"hash"`
	// BuildHash is the hash of the build context content, Dockerfile and
	// args; empty for services without Build. An image carrying another
	// build hash is rebuilt.
	BuildHash string `json:"buildHash,omitempty"`
}

// Build says how to build a service's image.
type Build struct {
	Context    string `json:"context"`    // absolute path
	Dockerfile string `json:"dockerfile"` // relative to Context
	// DockerfileInline is the Dockerfile itself when the Compose file
	// writes it out (dockerfile_inline); Dockerfile is then not read.
	DockerfileInline string            `json:"dockerfileInline,omitempty"`
	Args             map[string]string `json:"args,omitempty"`
	Target           string            `json:"target,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
	// Network is the network of the build's RUN steps: "" (the
	// builder's default), "none" or "host".
	Network string `json:"network,omitempty"`
	NoCache bool   `json:"noCache,omitempty"` // build every step again
	Pull    bool   `json:"pull,omitempty"`    // look for newer base images
	// CacheFrom and CacheTo are the build caches to read and write.
	CacheFrom []BuildCache `json:"cacheFrom,omitempty"`
	CacheTo   []BuildCache `json:"cacheTo,omitempty"`
	// AdditionalContexts are named contexts (FROM name, COPY --from=name):
	// an absolute folder, or docker-image://ref.
	AdditionalContexts map[string]string `json:"additionalContexts,omitempty"`
	Secrets            []BuildSecret     `json:"secrets,omitempty"` // sorted by ID
	SSH                []BuildSSH        `json:"ssh,omitempty"`     // sorted by ID
}

// BuildCache is one cache_from or cache_to entry: its type (local,
// inline, registry...) and attributes, a local cache's src or dest made
// absolute.
type BuildCache struct {
	Type  string            `json:"type"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

// BuildSecret is a secret a build's RUN --mount=type=secret,id=ID
// reads: a file's content (File, absolute) or a variable's value (Env,
// its name). The value is taken from the load's variables, never
// serialised, printed or hashed: Value gives it to the builder.
type BuildSecret struct {
	ID   string `json:"id"`
	File string `json:"file,omitempty"`
	Env  string `json:"env,omitempty"`
	// value is the variable's value; a pointer, so that printing a
	// Build with %v shows an address, not the value.
	value *secretValue
}

type secretValue struct {
	v   string
	set bool
}

// BuildSSH is an ssh agent a build's RUN --mount=type=ssh,id=ID uses:
// Path empty is the user's agent ($SSH_AUTH_SOCK), else a key file or an
// agent socket (absolute).
type BuildSSH struct {
	ID   string `json:"id"`
	Path string `json:"path,omitempty"`
}

// Dependency conditions, as in Compose.
const (
	ConditionStarted   = "service_started"
	ConditionHealthy   = "service_healthy"
	ConditionCompleted = "service_completed_successfully"
)

// Dependency is one depends_on entry.
type Dependency struct {
	Service   string `json:"service"`
	Condition string `json:"condition"`
	Required  bool   `json:"required"`
	Restart   bool   `json:"restart,omitempty"`
}

// Port is one published or exposed port. HostPort may be a range "8000-8010"
// and is empty when the engine picks the host port.
type Port struct {
	HostIP        string `json:"hostIP,omitempty"`
	HostPort      string `json:"hostPort,omitempty"`
	ContainerPort uint32 `json:"containerPort"`
	Protocol      string `json:"protocol"` // tcp, udp, sctp
}

// Mount types.
const (
	MountBind   = "bind"
	MountVolume = "volume"
	MountTmpfs  = "tmpfs"
)

// Mount is one service volume entry. For a bind mount Source is an absolute
// host path (resolved against the definition folder); for a named volume it
// is the volume key in Project.Volumes; for an anonymous volume it is empty.
type Mount struct {
	Type     string `json:"type"`
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
	// CreateHostPath makes a missing bind source as a folder (Compose's
	// default for the short syntax).
	CreateHostPath bool `json:"createHostPath,omitempty"`
}

// ServiceNetwork attaches a service to a network of the project.
type ServiceNetwork struct {
	Network     string   `json:"network"` // key in Project.Networks
	Aliases     []string `json:"aliases,omitempty"`
	IPv4Address string   `json:"ipv4Address,omitempty"`
}

// Healthcheck is a service's health check; Test follows the Docker form
// (["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]).
type Healthcheck struct {
	Test          []string       `json:"test,omitempty"`
	Interval      *time.Duration `json:"interval,omitempty"`
	Timeout       *time.Duration `json:"timeout,omitempty"`
	StartPeriod   *time.Duration `json:"startPeriod,omitempty"`
	StartInterval *time.Duration `json:"startInterval,omitempty"`
	Retries       *uint64        `json:"retries,omitempty"`
	Disable       bool           `json:"disable,omitempty"`
}

// Network is one network of the project.
type Network struct {
	Key      string            `json:"key"`  // the name in the Compose file
	Name     string            `json:"name"` // the engine name, <project>_<key> unless set
	Driver   string            `json:"driver,omitempty"`
	External bool              `json:"external,omitempty"`
	Internal bool              `json:"internal,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Hash     string            `json:"hash"`
}

// Volume is one named volume of the project.
type Volume struct {
	Key      string            `json:"key"`
	Name     string            `json:"name"` // the engine name, <project>_<key> unless set
	Driver   string            `json:"driver,omitempty"`
	External bool              `json:"external,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Hash     string            `json:"hash"`
}

// Database is a service that holds a database, as declared in the manifest.
type Database struct {
	Service string `json:"service"`
	Engine  string `json:"engine"` // postgres or mariadb (mysql later)
	// Source is where a new clone's data comes from, nil when none is
	// declared. Its Seed is an absolute path here.
	Source *DatabaseSource `json:"source,omitempty"`
	// VolumeKey and Volume are the Compose key and the engine name of the
	// named volume holding the data, and DataDir where the service mounts
	// it; empty when the service mounts no named volume there.
	VolumeKey string `json:"volumeKey,omitempty"`
	Volume    string `json:"volume,omitempty"`
	DataDir   string `json:"dataDir,omitempty"`
}

// DefaultPGData is where PostgreSQL images keep their data unless PGDATA
// says otherwise.
const DefaultPGData = "/var/lib/postgresql/data"

// DefaultMariaDBData is where MariaDB images keep their data.
const DefaultMariaDBData = "/var/lib/mysql"

// Database returns the database held by service, or nil.
func (p *Project) Database(service string) *Database {
	for i := range p.Databases {
		if p.Databases[i].Service == service {
			return &p.Databases[i]
		}
	}
	return nil
}

// Warning is something Berth read and does not act on, with where it was.
type Warning struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (w Warning) String() string {
	return formatPos(w.File, w.Line, w.Field) + ": " + w.Message
}

// Service returns the service with the given name, or nil.
func (p *Project) Service(name string) *Service {
	for i := range p.Services {
		if p.Services[i].Name == name {
			return &p.Services[i]
		}
	}
	return nil
}

// Network returns the network with the given key, or nil.
func (p *Project) Network(key string) *Network {
	for i := range p.Networks {
		if p.Networks[i].Key == key {
			return &p.Networks[i]
		}
	}
	return nil
}

// Volume returns the volume with the given key, or nil.
func (p *Project) Volume(key string) *Volume {
	for i := range p.Volumes {
		if p.Volumes[i].Key == key {
			return &p.Volumes[i]
		}
	}
	return nil
}
