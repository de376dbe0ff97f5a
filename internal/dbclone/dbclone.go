// Package dbclone makes database clones: it loads a source (a seed dump, a
// live database URL, another environment's database, a snapshot) once into
// a golden volume, and copies volumes into environments, snapshots and back,
// choosing the fastest strategy the engine's volume store allows
// (copy-on-write, a parallel file copy, or a logical dump and restore).
//
// Everything runs in short-lived helper containers made from the database
// service's own image, which mount the volumes involved; nothing reads or
// writes host paths, so it works the same on a remote engine. The package
// does not import the Docker client: Engine is the port it needs.
//
// PostgreSQL and MariaDB (see flavour); MariaDB golden copies come from
// plain SQL seeds or a live server (a mariadb:// or mysql:// URL).
package dbclone

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// Engine is what dbclone needs from a container engine. Every volume and
// container it creates must carry dev.berth.managed=true, and the adapter
// refuses to remove or stop what does not.
type Engine interface {
	// CreateVolume creates a volume with labels (driverOpts: the local
	// driver's options, nil for an ordinary volume); it fails when one of
	// that name exists.
	CreateVolume(ctx context.Context, name string, labels, driverOpts map[string]string) error
	// RemoveVolume removes a managed volume; a missing one is fine.
	RemoveVolume(ctx context.Context, name string) error
	// InspectVolume reports a volume; ok is false when none has that name.
	InspectVolume(ctx context.Context, name string) (v Volume, ok bool, err error)
	// Volumes lists managed volumes carrying all labels of match ("" values
	// match any value).
	Volumes(ctx context.Context, match map[string]string) ([]Volume, error)
	// RunHelper runs a helper container to its end and removes it.
	RunHelper(ctx context.Context, h Helper) (HelperResult, error)
	// StopContainer stops a managed container; StartContainer starts it.
	StopContainer(ctx context.Context, name string, timeout time.Duration) error
	StartContainer(ctx context.Context, name string) error
	// ContainerRunning reports whether a container exists and runs.
	ContainerRunning(ctx context.Context, name string) (exists, running bool, err error)
	// ImageID returns a local image's ID.
	ImageID(ctx context.Context, ref string) (string, error)
	// RemoveHelpers kills and removes the helper containers carrying every
	// label of match, and says how many.
	RemoveHelpers(ctx context.Context, match map[string]string) (int, error)
}

// Volume is a volume as the engine reports it.
type Volume struct {
	Name    string
	Labels  map[string]string
	Created time.Time
	Managed bool
}

// Mount mounts a volume into a helper.
type Mount struct {
	Volume   string
	Target   string
	ReadOnly bool
}

// Helper is a short-lived container: Cmd runs as its entrypoint, as root
// unless User says otherwise.
type Helper struct {
	Image  string
	Cmd    []string
	Env    []string
	User   string
	Mounts []Mount
	// Upload is a tar archive unpacked at UploadDir before Cmd starts.
	Upload    io.Reader
	UploadDir string
	// Network is the network the helper joins: NoNetwork (or "") a
	// private namespace with only loopback, SourceNetwork the engine's
	// default bridge. A helper never shares the engine host's namespace.
	Network string
	Labels  map[string]string
	Line    func(string)
}

// NoNetwork is Helper.Network for a helper that reaches nothing: a private
// network namespace with only loopback, so that a server it runs is
// reachable from nowhere else and nothing it runs (a seed's content among
// it) reaches anything. Every helper but a live source's load is one.
const NoNetwork = "none"

// SourceNetwork is Helper.Network for a helper that reads a live database
// (a url source): the engine's default bridge, from where the engine's
// containers reach other hosts.
const SourceNetwork = "bridge"

// HelperResult is how a helper ended: its exit code and output (the tail).
type HelperResult struct {
	ExitCode int
	Output   string
}

// Labels dbclone puts on its volumes.
const (
	LabelRole      = "dev.berth.db-role"      // golden or snapshot
	LabelKey       = "dev.berth.golden-key"   // what a golden copy was loaded from (a hash)
	LabelSource    = "dev.berth.db-source"    // a description of the source, without secrets
	LabelEnv       = "dev.berth.db-env"       // the environment a snapshot (or helper) is of
	LabelService   = "dev.berth.db-service"   // the database service
	LabelSnapshot  = "dev.berth.snapshot"     // the snapshot's name
	LabelSize      = "dev.berth.db-size"      // bytes, when known at creation
	LabelPGMajor   = "dev.berth.pg-major"     // the server's major version of the data (PostgreSQL 15; MariaDB 10.11)
	LabelImage     = "dev.berth.db-image"     // the image the data was made with
	LabelLoadedAt  = "dev.berth.db-loaded-at" // RFC 3339
	RoleGolden     = "golden"
	RoleSnapshot   = "snapshot"
	RoleProbe      = "probe" // the volume store's copy-on-write probe (Reflink)
	labelManaged   = "dev.berth.managed"
	stageDir       = ".berth-new"
	oldDir         = ".berth-old"
	swapJournal    = ".berth-swap"
	progressPrefix = "berth-progress "
)

// Strategies, fastest first.
const (
	StrategyReflink = "copy-on-write" // cp --reflink=always
	StrategyCopy    = "copy"          // a parallel file copy
	StrategyLogical = "logical"       // pg_dump -Fd | pg_restore -j; mariadb-dump | mariadb
)

// Errors callers tell apart (errors.Is).
var (
	// ErrSource: the source cannot be read (corrupt, truncated, wrong
	// checksum, newer major version, unreachable, refused credentials).
	ErrSource = errors.New("database source unusable")
	// ErrNoSpace: a volume ran out of space.
	ErrNoSpace = errors.New("no space left on the volume")
	// ErrNotFound: no such snapshot or volume.
	ErrNotFound = errors.New("not found")
)

// Target is an environment's database: where its data lives and how its
// server is reached.
type Target struct {
	Env     string
	Service string
	Image   string
	// Engine is the database engine: EnginePostgres ("" too) or
	// EngineMariaDB.
	Engine string
	// Volume is the engine name of the data volume, mounted at MountDir;
	// PGData is the data folder inside the container (MountDir or below).
	Volume   string
	MountDir string
	PGData   string
	// Container is the database container ("" when there is none yet); it
	// is stopped while its volume is copied or replaced and started again.
	Container string
	// Restart starts Container after the copy even when it does not run
	// now: an interrupted operation stopped it and never started it again.
	Restart bool
	// User, Password and Database are the service's POSTGRES_USER,
	// POSTGRES_PASSWORD and POSTGRES_DB; AuthMethod its
	// POSTGRES_HOST_AUTH_METHOD. For MariaDB they are MARIADB_USER,
	// MARIADB_PASSWORD and MARIADB_DATABASE, and RootPassword is
	// MARIADB_ROOT_PASSWORD (root@localhost and root@RootHost).
	User, Password, Database, AuthMethod string
	RootPassword                         string
	// RandomRoot is MARIADB_RANDOM_ROOT_PASSWORD: root's password is one
	// nobody is told (RootPassword is not used). Berth makes a strong
	// random one for each golden copy and gives each clone a new one (see
	// Clone); none is ever shown, logged or stored.
	RandomRoot bool
	// RootHost is MARIADB_ROOT_HOST, where root may connect from besides
	// localhost ("" is the image's default, "%"; "localhost" makes no
	// other root account).
	RootHost string
}

// SourceKind is where a copy comes from.
type SourceKind string

// Source kinds.
const (
	SourceSeed     SourceKind = "seed"     // a dump file
	SourceURL      SourceKind = "url"      // a live database, by its URL
	SourceEnv      SourceKind = "env"      // another environment's database volume
	SourceSnapshot SourceKind = "snapshot" // a snapshot volume
	SourceGolden   SourceKind = "golden"   // a golden copy volume
)

// Source is a resolved database source.
type Source struct {
	Kind SourceKind
	// Seed is the dump's absolute path; SHA256 its expected checksum.
	Seed, SHA256 string
	// URL is the live database's URL (a secret: never logged or stored);
	// URLName is the variable it came from, for messages.
	URL, URLName string
	// Volume is the volume to copy (env, snapshot, golden); Container the
	// other environment's database container, stopped during the copy.
	Volume, Container string
	// Name describes the source for humans, without secrets.
	Name string
}

// Progress is one step of a long operation. Total is 0 when unknown.
type Progress struct {
	Step  string `json:"step"`
	Done  int64  `json:"done,omitempty"`
	Total int64  `json:"total,omitempty"`
}

// Result says what a clone, restore or snapshot did.
type Result struct {
	Strategy string        `json:"strategy"`
	Duration time.Duration `json:"duration"`
	Bytes    int64         `json:"bytes,omitempty"`
	// From is the volume copied from.
	From string `json:"from"`
	// Golden says whether a golden copy was loaded in this run (false:
	// reused).
	GoldenLoaded bool `json:"goldenLoaded,omitempty"`
}

// Cloner makes clones on one engine.
type Cloner struct {
	eng Engine
	now func() time.Time

	mu      sync.Mutex
	reflink map[string]bool // image → the probe's answer
	// Force, when set, makes every copy use this strategy (benchmarks and
	// tests); the automatic choice otherwise.
	Force string
	// SeedLimit is the most a compressed seed may unpack to; 0:
	// DefaultSeedLimit.
	SeedLimit int64
	// DriverOpts are the local driver options for volumes dbclone creates
	// (tests use a size-limited tmpfs); nil for ordinary volumes.
	DriverOpts map[string]string
	// Used, when set, is told of each golden copy a clone, reset or load
	// uses (found or just loaded) and for which target, before anything is
	// copied from it: the installation's record of what it uses, for its
	// clean-up.
	Used func(ctx context.Context, v Volume, t Target)
}

// New returns a Cloner over eng.
func New(eng Engine) *Cloner {
	return &Cloner{eng: eng, now: time.Now, reflink: map[string]bool{}}
}

func send(progress func(Progress), p Progress) {
	if progress != nil {
		progress(p)
	}
}
