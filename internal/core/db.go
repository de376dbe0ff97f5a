package core

// Database clones: each environment's private copy of its databases, made
// from the source its manifest declares (or one asked for), snapshots of
// it, restore and reset. The copying itself is internal/dbclone's; core
// decides what is copied where, locks the environment, catalogues
// snapshots and reports progress.

import (
	"context"
	"errors"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/spec"
)

// DBCloner is what core asks of the database cloner of the connected
// engine (internal/dbclone through the composition root).
type DBCloner interface {
	Golden(ctx context.Context, src dbclone.Source, t dbclone.Target, progress func(dbclone.Progress)) (dbclone.Volume, bool, error)
	Clone(ctx context.Context, src dbclone.Source, t dbclone.Target, progress func(dbclone.Progress)) (dbclone.Result, error)
	Snapshot(ctx context.Context, t dbclone.Target, name string, progress func(dbclone.Progress)) (dbclone.Volume, dbclone.Result, error)
	Restore(ctx context.Context, from string, t dbclone.Target, progress func(dbclone.Progress)) (dbclone.Result, error)
	RemoveSnapshot(ctx context.Context, volume string) error
	Strategy(ctx context.Context, image, env string) (string, error)
	FindGolden(ctx context.Context, src dbclone.Source, t dbclone.Target) (dbclone.Volume, bool, error)
	// RemoveHelpers kills and removes the helpers of env a killed
	// operation left running.
	RemoveHelpers(ctx context.Context, env string) (int, error)
	// Settle finishes or undoes a copy a killed helper left in t's volume.
	Settle(ctx context.Context, t dbclone.Target) (dbclone.Settled, error)
	// StartServer starts t's database container (stopped for a copy).
	StartServer(ctx context.Context, t dbclone.Target) error
}

// DatabaseEngine is the cloner together with what Up needs to put a clone
// into a volume before the database starts.
type DatabaseEngine interface {
	DBCloner
	// CreateProjectVolume creates volume key of p as applying a plan
	// would (same name and labels).
	CreateProjectVolume(ctx context.Context, p *spec.Project, key string) error
}

// DatabaseSource hands out the database engine of the connected engine.
type DatabaseSource func(ctx context.Context) (DatabaseEngine, error)

// SnapshotCatalog is the store's catalogue of snapshots.
type SnapshotCatalog interface {
	AddSnapshot(ctx context.Context, s DBSnapshot) (int64, error)
	Snapshots(ctx context.Context, env string) ([]DBSnapshot, error)
	RemoveSnapshot(ctx context.Context, id int64) error
}

// WithDatabases gives core database clones and the snapshot catalogue.
func WithDatabases(src DatabaseSource, cat SnapshotCatalog) Option {
	return func(b *Berth) { b.dbs, b.snaps = src, cat }
}

// Snapshot-before-deploy modes.
const (
	// DeploySnapshotsAuto snapshots before each deploy where the volume
	// store copies on write (a snapshot costs next to nothing there).
	DeploySnapshotsAuto = "auto"
	// DeploySnapshotsAlways snapshots before every deploy, copying when it
	// must.
	DeploySnapshotsAlways = "always"
	// DeploySnapshotsNever takes none.
	DeploySnapshotsNever = "never"
)

// WithDeploySnapshots sets when a deploy snapshots the databases first
// (default auto; an unknown mode counts as auto).
func WithDeploySnapshots(mode string) Option {
	return func(b *Berth) { b.deploySnaps = mode }
}

// ErrNoDatabases: database clones are not available (no cloner or store),
// or the environment declares no database.
var ErrNoDatabases = errors.New("no database clones")

// DBGolden is the golden copy an environment's clones come from.
type DBGolden struct {
	Volume   string    `json:"volume"`
	Source   string    `json:"source"`
	Size     int64     `json:"size,omitempty"`
	LoadedAt time.Time `json:"loadedAt,omitzero"`
}

// DBInfo is one database of an environment, for `berth db ls` and the
// Databases view.
type DBInfo struct {
	Env     string `json:"env"`
	Service string `json:"service"`
	Engine  string `json:"engine"`
	// Volume holds the data; Exists says whether it exists yet.
	Volume string `json:"volume"`
	Exists bool   `json:"exists"`
	// Container is the database container, when there is one.
	Container string `json:"container,omitempty"`
	// Source is where clones come from ("seed db/seed.sql", "url $X",
	// "env shop", "snapshot s1"), empty when the manifest declares none.
	Source string `json:"source,omitempty"`
	// Golden is the source's golden copy when it is loaded (seed and URL
	// sources).
	Golden *DBGolden `json:"golden,omitempty"`
	// Strategy is how a copy would be made on this engine now.
	Strategy  string       `json:"strategy,omitempty"`
	Snapshots []DBSnapshot `json:"snapshots"`
}

// DBProgress is the progress of a long database step (in Event.DB).
type DBProgress struct {
	Service string `json:"service"`
	Step    string `json:"step"`
	Done    int64  `json:"done,omitempty"`
	Total   int64  `json:"total,omitempty"` // 0: unknown
}

// DBResult is what a clone, snapshot, restore or reset did.
type DBResult struct {
	Env     string `json:"env"`
	Service string `json:"service"`
	// Op is clone, snapshot, restore or reset.
	Op string `json:"op"`
	// From says what was copied (a source, a snapshot, the golden copy).
	From         string        `json:"from"`
	Strategy     string        `json:"strategy"`
	Duration     time.Duration `json:"duration"`
	Bytes        int64         `json:"bytes,omitempty"`
	GoldenLoaded bool          `json:"goldenLoaded,omitempty"`
	// Snapshot is the snapshot taken (snapshot) or restored (restore).
	Snapshot *DBSnapshot `json:"snapshot,omitempty"`
	// Safety is the snapshot a restore or reset kept of what it replaced
	// (copy-on-write stores only).
	Safety string `json:"safety,omitempty"`
}

// DBCloneRequest asks to replace an environment's database with a copy
// of a source.
type DBCloneRequest struct {
	Env     string
	Service string // "" : the environment's only database
	// From is the source, nil for the manifest's (spec.ParseDatabaseSource
	// reads one as a person gives it). A relative seed path is in the
	// definition's folder; a URL variable named here is read because the
	// user asked for it.
	From *spec.DatabaseSource
}

// DBSnapshotRequest asks for a snapshot of an environment's database.
type DBSnapshotRequest struct {
	Env, Service string
	Name         string // "" : a name from the time
}

// DBRestoreRequest asks to put a snapshot (name or id) back.
type DBRestoreRequest struct {
	Env, Snapshot string
}

// DBResetRequest asks to put the golden copy of the manifest's source back.
type DBResetRequest struct {
	Env, Service string
}

// DBRemoveRequest asks to remove a snapshot (name or id).
type DBRemoveRequest struct {
	Env, Snapshot string
}
