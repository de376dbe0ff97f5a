// Package drift finds runtime drift: it compares the desired state of an
// environment (spec.Project) with the live details the engine reports of
// its containers and networks, and returns a field-level diff. It is pure:
// the engine adapter fills a Live, core decides what to do with the diff.
//
// Before comparing, normalisers strip what the engine and the image fill
// in (image ENV, CMD, ENTRYPOINT, labels and health check, Compose and
// Berth labels, generated hostnames and aliases, engine defaults), so that
// only what the definition declares, or what someone changed by hand, can
// drift: a freshly deployed environment shows no drift.
package drift

// Live is what the engine reports of one environment, in more detail than
// reconcile.Observed: enough to explain a difference field by field.
type Live struct {
	Project string `json:"project"`
	// Containers carry the project label, or hold a name the desired
	// state needs (a container recreated by hand under that name).
	Containers []Container `json:"containers"`
	// Networks are the project's networks (by label) and the networks the
	// desired state names, with what is attached to them.
	Networks []Network `json:"networks"`
	// Images maps each image reference the desired state uses to the image
	// ID the engine has under it now; a missing key means none.
	Images map[string]string `json:"images"`
}

// Container is one container's configuration as the engine reports it.
type Container struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Project string `json:"project,omitempty"` // its Compose project label
	Service string `json:"service,omitempty"` // its Compose service label
	Number  int    `json:"number,omitempty"`
	OneOff  bool   `json:"oneOff,omitempty"`
	// Managed is true when Berth created it (dev.berth.managed).
	Managed    bool   `json:"managed"`
	ConfigHash string `json:"configHash,omitempty"`

	State    string `json:"state"`
	ExitCode int    `json:"exitCode"`

	Image   string `json:"image"`   // the reference it was created from
	ImageID string `json:"imageID"` // the image it runs

	Env        []string          `json:"env,omitempty"` // KEY=VALUE, image ENV merged in
	Entrypoint []string          `json:"entrypoint,omitempty"`
	Cmd        []string          `json:"cmd,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	User       string            `json:"user,omitempty"`
	WorkingDir string            `json:"workingDir,omitempty"`
	Hostname   string            `json:"hostname,omitempty"`
	StopSignal string            `json:"stopSignal,omitempty"`
	// StopTimeout is in seconds; nil: the engine's default.
	StopTimeout *int    `json:"stopTimeout,omitempty"`
	Healthcheck *Health `json:"healthcheck,omitempty"`
	Tty         bool    `json:"tty,omitempty"`
	OpenStdin   bool    `json:"openStdin,omitempty"`

	// Ports are the configured port bindings (not the runtime ones).
	Ports      []Port            `json:"ports,omitempty"`
	Mounts     []Mount           `json:"mounts,omitempty"` // configured mounts and binds
	Tmpfs      map[string]string `json:"tmpfs,omitempty"`
	Restart    string            `json:"restart,omitempty"` // Compose form: no, always, on-failure[:N], unless-stopped
	Init       *bool             `json:"init,omitempty"`
	Privileged bool              `json:"privileged,omitempty"`
	ReadOnly   bool              `json:"readOnly,omitempty"`
	CapAdd     []string          `json:"capAdd,omitempty"`
	CapDrop    []string          `json:"capDrop,omitempty"`
	ExtraHosts []string          `json:"extraHosts,omitempty"`
	Resources  Resources         `json:"resources"`
	// Settings are the runtime settings beyond the basics.
	Settings Settings `json:"settings"`
	// Networks maps the engine name of each network the container is
	// attached to onto its endpoint.
	Networks map[string]Endpoint `json:"networks,omitempty"`

	// ImageConfig is what the image it runs fills in.
	ImageConfig ImageConfig `json:"imageConfig"`
}

// ImageConfig is the part of an image's configuration the engine merges
// into a container created from it.
type ImageConfig struct {
	Env         []string          `json:"env,omitempty"`
	Entrypoint  []string          `json:"entrypoint,omitempty"`
	Cmd         []string          `json:"cmd,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	User        string            `json:"user,omitempty"`
	WorkingDir  string            `json:"workingDir,omitempty"`
	StopSignal  string            `json:"stopSignal,omitempty"`
	Healthcheck *Health           `json:"healthcheck,omitempty"`
	// ExposedPorts are the ports the image exposes ("80/tcp").
	ExposedPorts []string `json:"exposedPorts,omitempty"`
	// Volumes are the image's VOLUME targets: the engine mounts an
	// anonymous volume at each the container does not mount otherwise.
	Volumes []string `json:"volumes,omitempty"`
}

// Health is a health check in the engine's form; durations in
// nanoseconds, 0 meaning unset.
type Health struct {
	Test          []string `json:"test,omitempty"`
	Interval      int64    `json:"interval,omitempty"`
	Timeout       int64    `json:"timeout,omitempty"`
	StartPeriod   int64    `json:"startPeriod,omitempty"`
	StartInterval int64    `json:"startInterval,omitempty"`
	Retries       int      `json:"retries,omitempty"`
}

// Port is one configured port binding.
type Port struct {
	HostIP        string `json:"hostIP,omitempty"`
	HostPort      string `json:"hostPort,omitempty"`
	ContainerPort uint32 `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

// Mount is one configured mount: for a volume, Source is the engine's
// volume name ("" for an anonymous one).
type Mount struct {
	Type     string `json:"type"`
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
	// Options are the mount's options in a canonical form (MountOptions).
	Options string `json:"options,omitempty"`
}

// Resources are the limits `docker update` can change; 0 means none.
type Resources struct {
	Memory            int64  `json:"memory,omitempty"`            // bytes
	MemoryReservation int64  `json:"memoryReservation,omitempty"` // bytes
	MemorySwap        int64  `json:"memorySwap,omitempty"`        // bytes
	MemorySwappiness  *int64 `json:"memorySwappiness,omitempty"`
	NanoCPUs          int64  `json:"nanoCPUs,omitempty"`
	CPUShares         int64  `json:"cpuShares,omitempty"`
	CPUQuota          int64  `json:"cpuQuota,omitempty"`
	CPUPeriod         int64  `json:"cpuPeriod,omitempty"`
	CpusetCpus        string `json:"cpusetCpus,omitempty"`
	PidsLimit         int64  `json:"pidsLimit,omitempty"`
	OomKillDisable    bool   `json:"oomKillDisable,omitempty"`
	OomScoreAdj       int    `json:"oomScoreAdj,omitempty"`
}

// Settings are a container's runtime settings as the engine reports
// them. A namespace mode shared with another container reads
// container:<ID>.
type Settings struct {
	NetworkMode  string            `json:"networkMode,omitempty"`
	PidMode      string            `json:"pidMode,omitempty"`
	IpcMode      string            `json:"ipcMode,omitempty"`
	UTSMode      string            `json:"utsMode,omitempty"`
	UsernsMode   string            `json:"usernsMode,omitempty"`
	CgroupnsMode string            `json:"cgroupnsMode,omitempty"`
	ShmSize      int64             `json:"shmSize,omitempty"`
	Devices      []string          `json:"devices,omitempty"` // source:target:permissions
	Ulimits      []string          `json:"ulimits,omitempty"` // name=soft:hard
	Sysctls      map[string]string `json:"sysctls,omitempty"`
	DNS          []string          `json:"dns,omitempty"`
	DNSSearch    []string          `json:"dnsSearch,omitempty"`
	DNSOptions   []string          `json:"dnsOptions,omitempty"`
	LogDriver    string            `json:"logDriver,omitempty"`
	LogOptions   map[string]string `json:"logOptions,omitempty"`
	Runtime      string            `json:"runtime,omitempty"`
	SecurityOpt  []string          `json:"securityOpt,omitempty"`
	GroupAdd     []string          `json:"groupAdd,omitempty"`
	Domainname   string            `json:"domainname,omitempty"`
	VolumesFrom  []string          `json:"volumesFrom,omitempty"` // as the engine holds them: <ID or name>[:ro|:rw]
	// ExposedPorts are the container's exposed ports ("8080/tcp"), the
	// image's and the published ones included.
	ExposedPorts []string `json:"exposedPorts,omitempty"`
}

// Endpoint is a container's attachment to a network.
type Endpoint struct {
	Aliases     []string `json:"aliases,omitempty"`
	IPv4Address string   `json:"ipv4Address,omitempty"` // configured (IPAM), not assigned
}

// Network is one network of the environment with what is attached to it.
type Network struct {
	ID      string `json:"id"`
	Name    string `json:"name"` // engine name
	Key     string `json:"key,omitempty"`
	Managed bool   `json:"managed"`
	// Attached lists the containers attached to it (ID and name).
	Attached []Attached `json:"attached,omitempty"`
}

// Attached is a container attached to a network.
type Attached struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}
