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
	// Variant is the manifest's variant it was loaded as ("": none).
	Variant string `json:"variant,omitempty"`
	// SecretNames are the stored secrets the load used (names only).
	SecretNames []string `json:"secretNames,omitempty"`
	// PortMoves are the published ports moved off the declared host port
	// (LoadOptions.PortMap); PinnedPorts the manifest's ports that never
	// move.
	PortMoves []PortMove `json:"portMoves,omitempty"`
	// LocalFiles are the manifest's local files read from the user's
	// checkout, not from the revision (LoadOptions.LocalDir).
	LocalFiles  []string      `json:"localFiles,omitempty"`
	PinnedPorts *PortSettings `json:"-"`

	Services []Service `json:"services"` // sorted by name
	Networks []Network `json:"networks"` // sorted by key
	Volumes  []Volume  `json:"volumes"`  // sorted by key
	// Secrets and Configs are the project's file objects that services
	// use, sorted by key.
	Secrets []FileObject `json:"secrets,omitempty"`
	Configs []FileObject `json:"configs,omitempty"`

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

	// NetworkMode is host, none, bridge, service:NAME or container:NAME;
	// empty when the service joins the project's networks (Networks).
	NetworkMode string `json:"networkMode,omitempty"`
	// Pid, Ipc, Uts, UsernsMode and Cgroup are the namespace modes, as in
	// Compose (host, private, shareable, service:NAME...); empty: the engine's.
	Pid        string `json:"pid,omitempty"`
	Ipc        string `json:"ipc,omitempty"`
	Uts        string `json:"uts,omitempty"`
	UsernsMode string `json:"usernsMode,omitempty"`
	Cgroup     string `json:"cgroup,omitempty"`
	// Links are "service:alias" pairs (alias = service when not given).
	Links []string `json:"links,omitempty"`
	// VolumesFrom are "service:NAME[:ro|:rw]" or "container:NAME[:ro|:rw]":
	// the volumes of another service's (or container's) container.
	VolumesFrom []string `json:"volumesFrom,omitempty"`
	// ContainerName is the Compose container_name: Berth names containers
	// itself (several environments come from one definition), and gives
	// the name as a network alias so that whoever reached it by that name
	// still does.
	ContainerName string `json:"containerName,omitempty"`
	DomainName    string `json:"domainName,omitempty"`

	ShmSize     int64             `json:"shmSize,omitempty"` // bytes
	Devices     []Device          `json:"devices,omitempty"`
	Ulimits     map[string]Ulimit `json:"ulimits,omitempty"`
	Sysctls     map[string]string `json:"sysctls,omitempty"`
	DNS         []string          `json:"dns,omitempty"`
	DNSSearch   []string          `json:"dnsSearch,omitempty"`
	DNSOptions  []string          `json:"dnsOptions,omitempty"`
	Logging     *Logging          `json:"logging,omitempty"`
	Platform    string            `json:"platform,omitempty"`
	Runtime     string            `json:"runtime,omitempty"`
	SecurityOpt []string          `json:"securityOpt,omitempty"`
	GroupAdd    []string          `json:"groupAdd,omitempty"`
	// Expose are the container ports exposed without publishing them
	// ("8080/tcp"), sorted.
	Expose []string `json:"expose,omitempty"`
	// Resources merge mem_limit, cpus, pids_limit and the like with
	// deploy.resources (which wins, as in Compose).
	Resources *Resources `json:"resources,omitempty"`

	// Secrets and Configs are files put into the container before it
	// starts, from the project's Secrets and Configs (sorted by target).
	Secrets []FileMount `json:"secrets,omitempty"`
	Configs []FileMount `json:"configs,omitempty"`

	// Watch is the service's develop.watch: what berth up --watch does
	// when files change. Not part of the hash (as in Compose).
	Watch []WatchRule `json:"watch,omitempty"`

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

// Device is one host device given to a service.
type Device struct {
	Source      string `json:"source"`
	Target      string `json:"target"`
	Permissions string `json:"permissions,omitempty"` // rwm by default
}

// Ulimit is one ulimit; Soft and Hard are equal for a single value.
type Ulimit struct {
	Soft int64 `json:"soft"`
	Hard int64 `json:"hard"`
}

// Logging is a service's log driver and its options.
type Logging struct {
	Driver  string            `json:"driver,omitempty"`
	Options map[string]string `json:"options,omitempty"`
}

// Resources are a service's resource limits and reservations, in the
// engine's units; zero is unset.
type Resources struct {
	MemoryLimit       int64  `json:"memoryLimit,omitempty"`       // bytes
	MemoryReservation int64  `json:"memoryReservation,omitempty"` // bytes
	MemorySwap        int64  `json:"memorySwap,omitempty"`        // bytes, -1 unlimited
	MemorySwappiness  *int64 `json:"memorySwappiness,omitempty"`
	NanoCPUs          int64  `json:"nanoCPUs,omitempty"`
	CPUShares         int64  `json:"cpuShares,omitempty"`
	CPUPeriod         int64  `json:"cpuPeriod,omitempty"`
	CPUQuota          int64  `json:"cpuQuota,omitempty"`
	CpusetCpus        string `json:"cpusetCpus,omitempty"`
	PidsLimit         int64  `json:"pidsLimit,omitempty"`
	OomKillDisable    bool   `json:"oomKillDisable,omitempty"`
	OomScoreAdj       int    `json:"oomScoreAdj,omitempty"`
	// GPUs are device requests (deploy.resources.reservations.devices and gpus).
	GPUs []DeviceRequest `json:"gpus,omitempty"`
}

// DeviceRequest asks the engine for devices of a driver (GPUs).
type DeviceRequest struct {
	Driver       string            `json:"driver,omitempty"`
	Count        int               `json:"count,omitempty"` // -1 all
	DeviceIDs    []string          `json:"deviceIDs,omitempty"`
	Capabilities []string          `json:"capabilities,omitempty"`
	Options      map[string]string `json:"options,omitempty"`
}

// FileMount puts a project secret or config into a container as a file.
type FileMount struct {
	Source string `json:"source"` // key in Project.Secrets or Project.Configs
	Target string `json:"target"` // absolute path in the container
	UID    string `json:"uid,omitempty"`
	GID    string `json:"gid,omitempty"`
	Mode   uint32 `json:"mode"`
	// Digest is the keyed digest of the content (LoadOptions.DigestKey), so
	// that a changed secret changes the service's hash; the content itself
	// is never serialised.
	Digest string `json:"digest"`
}

// FileObject is a project-level secret or config: where its content
// comes from, and the content, read at load time. Content is never
// serialised, logged or stored.
type FileObject struct {
	Key string `json:"key"`
	// File is the absolute path of a file source; Env the variable of an
	// environment source; an inline config (content:) has neither.
	File    string `json:"file,omitempty"`
	Env     string `json:"env,omitempty"`
	Inline  bool   `json:"inline,omitempty"`
	Content []byte `json:"-"`
	Digest  string `json:"digest"`
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
	// Bind options: propagation (rprivate, shared...) and the SELinux
	// relabelling (z or Z).
	Propagation string `json:"propagation,omitempty"`
	SELinux     string `json:"selinux,omitempty"`
	// Volume options: do not copy the image's files into a new volume, and
	// mount a sub-path of the volume (Docker 26, API 1.45).
	NoCopy  bool   `json:"noCopy,omitempty"`
	Subpath string `json:"subpath,omitempty"`
	// Tmpfs options: size in bytes and mode.
	TmpfsSize int64  `json:"tmpfsSize,omitempty"`
	TmpfsMode uint32 `json:"tmpfsMode,omitempty"`
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
	Key        string            `json:"key"`  // the name in the Compose file
	Name       string            `json:"name"` // the engine name, <project>_<key> unless set
	Driver     string            `json:"driver,omitempty"`
	DriverOpts map[string]string `json:"driverOpts,omitempty"`
	External   bool              `json:"external,omitempty"`
	Internal   bool              `json:"internal,omitempty"`
	Attachable bool              `json:"attachable,omitempty"`
	EnableIPv6 bool              `json:"enableIPv6,omitempty"`
	IPAM       *IPAM             `json:"ipam,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Hash       string            `json:"hash"`
}

// IPAM is a network's address management.
type IPAM struct {
	Driver string       `json:"driver,omitempty"`
	Config []IPAMConfig `json:"config,omitempty"`
}

// IPAMConfig is one address pool of a network.
type IPAMConfig struct {
	Subnet  string `json:"subnet,omitempty"`
	Gateway string `json:"gateway,omitempty"`
	IPRange string `json:"ipRange,omitempty"`
}

// Volume is one named volume of the project.
type Volume struct {
	Key        string            `json:"key"`
	Name       string            `json:"name"` // the engine name, <project>_<key> unless set
	Driver     string            `json:"driver,omitempty"`
	DriverOpts map[string]string `json:"driverOpts,omitempty"`
	External   bool              `json:"external,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Hash       string            `json:"hash"`
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
	// unsupported marks a key Berth does not act on: an error unless the
	// definition asked for warnings.
	unsupported bool
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

// Secret returns the secret with the given key, or nil.
func (p *Project) Secret(key string) *FileObject { return findObject(p.Secrets, key) }

// Config returns the config with the given key, or nil.
func (p *Project) Config(key string) *FileObject { return findObject(p.Configs, key) }

func findObject(list []FileObject, key string) *FileObject {
	for i := range list {
		if list[i].Key == key {
			return &list[i]
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
