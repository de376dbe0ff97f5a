package core

// Database clones: each environment's private copy of its databases, made
// from the source its manifest declares (or one asked for), snapshots of
// it, restore and reset. The copying itself is internal/dbclone's; core
// decides what is copied where, locks the environment, catalogues
// snapshots and reports progress.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/reconcile"
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
	Strategy(ctx context.Context, image string) (string, error)
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

// DBSnapshot is a catalogued snapshot of an environment's database.
type DBSnapshot struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Env     string    `json:"env"`
	Service string    `json:"service"`
	Volume  string    `json:"volume"`
	Size    int64     `json:"size"` // bytes
	Created time.Time `json:"created"`
	// DeploymentID is the deployment it was taken before (0: by hand).
	DeploymentID int64 `json:"deploymentId,omitempty"`
}

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

// dbEnv is an environment's desired state and live state, with its
// database engine.
type dbEnv struct {
	e   Engine
	dbe DatabaseEngine
	p   *spec.Project
	o   reconcile.Observed
	// restart names the services whose server an interrupted operation
	// stopped: this operation's copy starts them at its end.
	restart map[string]bool
}

// lockedDBEnvironment takes env's lock for the operation what and loads
// env for a database operation; release gives the lock back (call it when
// err is nil).
func (b *Berth) lockedDBEnvironment(ctx context.Context, env, what string, emit Emit) (d *dbEnv, release func(), err error) {
	release, interrupted, err := b.acquire(ctx, env, what, emit)
	if err != nil {
		return nil, nil, err
	}
	if d, err = b.dbEnvironment(ctx, env); err != nil {
		release()
		return nil, nil, err
	}
	if len(interrupted) > 0 {
		if _, err := b.settleDatabases(ctx, d.p, d.o, emit); err != nil {
			release()
			return nil, nil, err
		}
		b.restartServers(d, interrupted)
	}
	return d, release, nil
}

func (b *Berth) dbEnvironment(ctx context.Context, env string) (*dbEnv, error) {
	if b.dbs == nil {
		return nil, fmt.Errorf("%w: this build has no database cloner", ErrNoDatabases)
	}
	e, err := b.eng(ctx)
	if err != nil {
		return nil, err
	}
	o, err := e.ObserveProject(ctx, env)
	if err != nil {
		return nil, err
	}
	p, err := b.desiredOf(ctx, env)
	if err != nil {
		return nil, err
	}
	if len(p.Databases) == 0 {
		return nil, fmt.Errorf("environment %q (definition %s) declares no databases in %s: %w", env, p.Definition, spec.ManifestFile, ErrNoDatabases)
	}
	dbe, err := b.dbs(ctx)
	if err != nil {
		return nil, err
	}
	return &dbEnv{e: e, dbe: dbe, p: p, o: o}, nil
}

// desiredOf loads env's definition as it runs: at its deployed revision
// when the records name one, else from the definitions folder.
func (b *Berth) desiredOf(ctx context.Context, env string) (*spec.Project, error) {
	def := b.definitionFor(ctx, env, "")
	if b.revs != nil {
		if cur, err := b.current(ctx, env); err == nil && cur != nil && cur.Revision != "" {
			if rev, err := b.revs.Resolve(ctx, cur.Revision); err == nil {
				return b.loadAt(ctx, env, cmp.Or(cur.Definition, def), rev)
			}
		}
	}
	l, err := b.loadTrusted(ctx, env, def, nil)
	if err != nil {
		return nil, err
	}
	p := l.p
	p.Definition = cmp.Or(p.Definition, def)
	return p, nil
}

// database picks the database service (the only one when service is "").
func (d *dbEnv) database(service string) (*spec.Database, error) {
	if service == "" {
		if len(d.p.Databases) > 1 {
			var names []string
			for _, db := range d.p.Databases {
				names = append(names, db.Service)
			}
			return nil, fmt.Errorf("environment %q has several databases (%s): name one", d.p.Name, strings.Join(names, ", "))
		}
		return &d.p.Databases[0], nil
	}
	db := d.p.Database(service)
	if db == nil {
		return nil, fmt.Errorf("environment %q has no database service %q: %w", d.p.Name, service, ErrNotFound)
	}
	return db, nil
}

// target describes db of p for the cloner; the container is looked up in
// o. It is an error when Berth cannot know the service's accounts (see
// envSetting): a clone made from a seed or URL would not match them.
func target(p *spec.Project, db *spec.Database, o reconcile.Observed) (dbclone.Target, error) {
	t, accounts, err := targetOf(p, db, o)
	if err != nil {
		return dbclone.Target{}, err
	}
	if accounts != nil {
		return dbclone.Target{}, accounts
	}
	return t, nil
}

// dataTarget is target for copies that move an environment's accounts
// with its data (snapshots, restores, a source environment): when Berth
// cannot know the accounts, the target has none, and the copy leaves them
// as the data holds them.
func dataTarget(p *spec.Project, db *spec.Database, o reconcile.Observed) (dbclone.Target, error) {
	t, _, err := targetOf(p, db, o)
	return t, err
}

// targetOf describes db of p; accounts is why the service's accounts
// cannot be known (t then has none).
func targetOf(p *spec.Project, db *spec.Database, o reconcile.Observed) (t dbclone.Target, accounts, err error) {
	if db.Volume == "" {
		return t, nil, fmt.Errorf("database %s of %s: the service mounts no named volume at its data folder: %w", db.Service, p.Name, ErrNoDatabases)
	}
	s := p.Service(db.Service)
	if s == nil {
		return t, nil, fmt.Errorf("environment %q has no service %q: %w", p.Name, db.Service, ErrNotFound)
	}
	switch db.Engine {
	case spec.EngineMariaDB:
		t, accounts = mariadbTarget(p.Name, db, s.Environment)
	default:
		t, accounts = postgresTarget(p.Name, db, s.Environment)
	}
	t.Env, t.Service, t.Image, t.Volume, t.MountDir = p.Name, db.Service, s.Image, db.Volume, db.DataDir
	for _, c := range o.Containers {
		if c.Service == db.Service && c.Managed && !c.OneOff {
			t.Container = c.Name
			break
		}
	}
	return t, accounts, nil
}

// mariadbTarget reads a MariaDB service's accounts from its environment
// as the image's entrypoint does (MARIADB_*, else MYSQL_*). A clone is
// made with them, so they must be known here: one read from a file (the
// *_FILE forms) is an error (see envSetting), and the target then has no
// accounts. A random root password (MARIADB_RANDOM_ROOT_PASSWORD) is
// Berth's to make, for each clone.
func mariadbTarget(env string, db *spec.Database, vars map[string]string) (dbclone.Target, error) {
	none := dbclone.Target{Engine: dbclone.EngineMariaDB}
	t := none
	var random, root, allowEmpty string
	if err := mariadbSettings(env, db, vars, []mariadbSetting{
		{&random, []string{"MARIADB_RANDOM_ROOT_PASSWORD", "MYSQL_RANDOM_ROOT_PASSWORD"}},
	}); err != nil {
		return none, err
	}
	if random != "" {
		// The official image then makes a random password even when one
		// is given, the local Debian one uses the given one: a clone could
		// match only one of them.
		for _, n := range []string{"MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD", "MARIADB_ROOT_PASSWORD_FILE", "MYSQL_ROOT_PASSWORD_FILE"} {
			if vars[n] != "" {
				return none, fmt.Errorf("database %s of %s: both %s and a random root password (MARIADB_RANDOM_ROOT_PASSWORD or MYSQL_RANDOM_ROOT_PASSWORD) are set, and images disagree about which wins: keep one",
					db.Service, env, n)
			}
		}
		t.RandomRoot = true
	}
	if err := mariadbSettings(env, db, vars, []mariadbSetting{
		{&root, []string{"MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD"}},
		{&allowEmpty, []string{"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "MYSQL_ALLOW_EMPTY_PASSWORD", "MYSQL_ALLOW_EMPTY_ROOT_PASSWORD"}},
		{&t.RootHost, []string{"MARIADB_ROOT_HOST", "MYSQL_ROOT_HOST"}},
		{&t.User, []string{"MARIADB_USER", "MYSQL_USER"}},
		{&t.Password, []string{"MARIADB_PASSWORD", "MYSQL_PASSWORD"}},
		{&t.Database, []string{"MARIADB_DATABASE", "MYSQL_DATABASE"}},
	}); err != nil {
		return none, err
	}
	if !t.RandomRoot && root == "" && allowEmpty == "" {
		return none, fmt.Errorf("database %s of %s: set MARIADB_ROOT_PASSWORD, MARIADB_RANDOM_ROOT_PASSWORD or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD in the service's environment: a clone's root account is made as the image's entrypoint would make it",
			db.Service, env)
	}
	t.RootPassword = root
	return t, nil
}

// mariadbSetting is where one setting goes and the names it is read from,
// the first set one winning.
type mariadbSetting struct {
	dst   *string
	names []string
}

// mariadbSettings reads settings with envSetting.
func mariadbSettings(env string, db *spec.Database, vars map[string]string, settings []mariadbSetting) error {
	for _, s := range settings {
		v, err := envSetting(env, db, vars, s.names...)
		if err != nil {
			return err
		}
		*s.dst = v
	}
	return nil
}

// postgresTarget reads a PostgreSQL service's accounts from its
// environment as the image's entrypoint does; the *_FILE forms are
// refused (see envSetting): without the password, a clone would be made
// with none and would let every connection in.
func postgresTarget(env string, db *spec.Database, vars map[string]string) (dbclone.Target, error) {
	var user, password, database string
	for _, s := range []struct {
		dst  *string
		name string
	}{{&user, "POSTGRES_USER"}, {&password, "POSTGRES_PASSWORD"}, {&database, "POSTGRES_DB"}} {
		v, err := envSetting(env, db, vars, s.name)
		if err != nil {
			return dbclone.Target{PGData: cmp.Or(vars["PGDATA"], db.DataDir)}, err
		}
		*s.dst = v
	}
	user = cmp.Or(user, "postgres")
	return dbclone.Target{PGData: cmp.Or(vars["PGDATA"], db.DataDir), User: user, Password: password,
		Database: cmp.Or(database, user), AuthMethod: vars["POSTGRES_HOST_AUTH_METHOD"]}, nil
}

// envSetting is a database service's setting as the image's entrypoint
// reads it: the first of names that is set, from the variable itself or
// from the file its NAME_FILE form names. Such a file lives inside the
// container (a compose secret, a bind mount, the image), where Berth,
// which makes a clone's accounts before its server starts, cannot read
// it: that is an error saying what to set instead, as is a variable set
// together with its _FILE form (the entrypoint refuses to start then).
func envSetting(env string, db *spec.Database, vars map[string]string, names ...string) (string, error) {
	for _, n := range names {
		f := n + "_FILE"
		switch {
		case vars[n] != "" && vars[f] != "":
			return "", fmt.Errorf("database %s of %s: both %s and %s are set in the service's environment, and the image's entrypoint refuses to start with both: keep one (%s, for a clone)",
				db.Service, env, n, f, n)
		case vars[n] != "":
			return vars[n], nil
		case vars[f] != "":
			return "", fmt.Errorf("database %s of %s: %s names a file inside the container (%s), which Berth cannot read (it makes a clone's accounts before the server starts, and compose secrets are not supported): set %s in the service's environment instead (from your environment with ${VAR}, or an env_file kept out of Git)",
				db.Service, env, f, vars[f], n)
		}
	}
	return "", nil
}

// source resolves a source: from (nil for the manifest's) for db of p.
func (b *Berth) source(ctx context.Context, p *spec.Project, db *spec.Database, from *spec.DatabaseSource) (dbclone.Source, error) {
	var ds spec.DatabaseSource
	switch {
	case from == nil:
		if db.Source == nil || db.Source.Kind() == "" {
			return dbclone.Source{}, fmt.Errorf("database %s of %s has no source in %s: give one (seed:PATH, url:VAR, env:NAME, snapshot:NAME)", db.Service, p.Name, spec.ManifestFile)
		}
		ds = *db.Source
	case from.Kind() == "":
		return dbclone.Source{}, errors.New("an empty database source")
	default:
		ds = *from
		if ds.Seed != "" && !filepath.IsAbs(ds.Seed) {
			ds.Seed = filepath.Join(p.Dir, ds.Seed)
		}
	}
	switch ds.Kind() {
	case "seed":
		return dbclone.Source{Kind: "seed", Seed: ds.Seed, SHA256: ds.SHA256, Name: "seed " + relTo(p.Dir, ds.Seed)}, nil
	case "url":
		// The manifest's variable is read only when granted (the load's
		// HostEnv); one the user names with --from is read because the
		// user asked.
		url := p.HostEnv[ds.URL]
		if from != nil && b.trust.Getenv != nil && !slices.Contains(b.reserved(), ds.URL) {
			url, _ = b.trust.Getenv(ds.URL)
		}
		return dbclone.Source{Kind: "url", URL: url, URLName: ds.URL, Name: "the database at $" + ds.URL}, nil
	case "env":
		if ds.Env == p.Name {
			return dbclone.Source{}, fmt.Errorf("environment %q cannot be cloned from itself", p.Name)
		}
		e, err := b.eng(ctx)
		if err != nil {
			return dbclone.Source{}, err
		}
		o, err := e.ObserveProject(ctx, ds.Env)
		if err != nil {
			return dbclone.Source{}, err
		}
		op, err := b.desiredOf(ctx, ds.Env)
		if err != nil {
			return dbclone.Source{}, fmt.Errorf("source environment %q: %w", ds.Env, err)
		}
		odb := op.Database(db.Service)
		if odb == nil && len(op.Databases) == 1 {
			odb = &op.Databases[0]
		}
		if odb == nil || odb.Volume == "" {
			return dbclone.Source{}, fmt.Errorf("source environment %q has no database %s with a data volume: %w", ds.Env, db.Service, ErrNotFound)
		}
		t, err := dataTarget(op, odb, o)
		if err != nil {
			return dbclone.Source{}, err
		}
		return dbclone.Source{Kind: "env", Volume: t.Volume, Container: t.Container, Name: "environment " + ds.Env}, nil
	case "snapshot":
		sn, err := b.findSnapshot(ctx, "", ds.Snapshot)
		if err != nil {
			return dbclone.Source{}, err
		}
		return dbclone.Source{Kind: "snapshot", Volume: sn.Volume, Name: "snapshot " + sn.Name + " of " + sn.Env}, nil
	}
	return dbclone.Source{}, errors.New("empty source")
}

// dbErr marks the cloner's "not found" as core's, for the exit code.
func dbErr(err error) error {
	if err != nil && errors.Is(err, dbclone.ErrNotFound) && !errors.Is(err, ErrNotFound) {
		return notFoundError{err}
	}
	return err
}

type notFoundError struct{ err error }

func (e notFoundError) Error() string        { return e.err.Error() }
func (e notFoundError) Unwrap() error        { return e.err }
func (e notFoundError) Is(target error) bool { return target == ErrNotFound }

func relTo(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return p
}

func sourceText(s *spec.DatabaseSource) string {
	switch s.Kind() {
	case "seed":
		return "seed " + s.Seed
	case "url":
		return "url $" + s.URL
	case "env":
		return "env " + s.Env
	case "snapshot":
		return "snapshot " + s.Snapshot
	}
	return ""
}

// findSnapshot finds a snapshot by name or id, in env (any environment
// when env is "": the name must then be unique).
func (b *Berth) findSnapshot(ctx context.Context, env, ref string) (*DBSnapshot, error) {
	if b.snaps == nil {
		return nil, fmt.Errorf("%w: no store for the snapshot catalogue", ErrNoDatabases)
	}
	all, err := b.snaps.Snapshots(ctx, env)
	if err != nil {
		return nil, err
	}
	id, _ := strconv.ParseInt(ref, 10, 64)
	var found []DBSnapshot
	for _, s := range all {
		if s.Name == ref || (id != 0 && s.ID == id) {
			found = append(found, s)
		}
	}
	switch {
	case len(found) == 0 && env == "":
		return nil, fmt.Errorf("snapshot %q: %w", ref, ErrNotFound)
	case len(found) == 0:
		return nil, fmt.Errorf("environment %q has no snapshot %q: %w", env, ref, ErrNotFound)
	case len(found) > 1:
		return nil, fmt.Errorf("snapshot %q is ambiguous: %d environments have one of that name; name it with its id", ref, len(found))
	}
	return &found[0], nil
}

func dbProgress(env, service string, emit Emit) func(dbclone.Progress) {
	return func(p dbclone.Progress) {
		emit.send(Event{Env: env, Kind: "db", Detail: p.Step, DB: &DBProgress{Service: service, Step: p.Step, Done: p.Done, Total: p.Total}})
	}
}

// DBList lists env's databases with their source, golden copy and
// snapshots.
func (b *Berth) DBList(ctx context.Context, env string) ([]DBInfo, error) {
	d, err := b.dbEnvironment(ctx, env)
	if err != nil {
		return nil, err
	}
	var snaps []DBSnapshot
	if b.snaps != nil {
		if snaps, err = b.snaps.Snapshots(ctx, env); err != nil {
			return nil, err
		}
	}
	vols := map[string]bool{}
	for _, v := range d.o.Volumes {
		vols[v.Name] = true
	}
	out := []DBInfo{}
	for i := range d.p.Databases {
		db := &d.p.Databases[i]
		info := DBInfo{Env: env, Service: db.Service, Engine: db.Engine, Volume: db.Volume, Exists: vols[db.Volume], Snapshots: []DBSnapshot{}}
		if db.Source != nil {
			src := *db.Source
			if src.Seed != "" {
				src.Seed = relTo(d.p.Dir, src.Seed)
			}
			info.Source = sourceText(&src)
		}
		if t, accounts, err := targetOf(d.p, db, d.o); err == nil {
			info.Container = t.Container
			info.Strategy, _ = d.dbe.Strategy(ctx, t.Image)
			if k := db.Source.Kind(); accounts == nil && (k == "seed" || k == "url") {
				if src, err := b.source(ctx, d.p, db, nil); err == nil {
					if g, ok, err := d.dbe.FindGolden(ctx, src, t); err == nil && ok {
						info.Golden = goldenInfo(g)
					}
				}
			}
		}
		for _, s := range snaps {
			if s.Service == db.Service {
				info.Snapshots = append(info.Snapshots, s)
			}
		}
		out = append(out, info)
	}
	return out, nil
}

func goldenInfo(v dbclone.Volume) *DBGolden {
	g := &DBGolden{Volume: v.Name, Source: v.Labels[dbclone.LabelSource]}
	g.Size, _ = strconv.ParseInt(v.Labels[dbclone.LabelSize], 10, 64)
	g.LoadedAt, _ = time.Parse(time.RFC3339, v.Labels[dbclone.LabelLoadedAt])
	return g
}

// DBClone replaces env's database with a copy of a source (the manifest's
// unless req.From names another). The database server is stopped during
// the copy and started again; its data is replaced only once the copy is
// complete.
func (b *Berth) DBClone(ctx context.Context, req DBCloneRequest, emit Emit) (*DBResult, error) {
	return b.dbClone(ctx, req, KindDBClone, emit)
}

// dbClone is DBClone recorded as kind (a clone, or a reset).
func (b *Berth) dbClone(ctx context.Context, req DBCloneRequest, kind string, emit Emit) (res *DBResult, err error) {
	d, release, err := b.lockedDBEnvironment(ctx, req.Env, kind, emit)
	if err != nil {
		return nil, err
	}
	defer release()
	db, err := d.database(req.Service)
	if err != nil {
		return nil, err
	}
	t, err := target(d.p, db, d.o)
	if err != nil {
		return nil, err
	}
	t.Restart = d.restart[db.Service]
	src, err := b.source(ctx, d.p, db, req.From)
	if err != nil {
		return nil, err
	}
	detail := DBDetail{Service: db.Service, Source: src.Name, Running: d.serverRunning(db.Service)}
	finish, err := b.recordDB(ctx, kind, d.p, detail)
	if err != nil {
		return nil, err
	}
	defer func() { err = finish(&detail, res, err) }()
	if kind == KindDBReset {
		if detail.Safety, err = b.safetySnapshot(ctx, d, db, "reset", emit); err != nil {
			return nil, err
		}
	}
	if err := d.ensureVolume(ctx, db); err != nil {
		return nil, err
	}
	emit.send(Event{Env: req.Env, Kind: "message", Detail: fmt.Sprintf("cloning %s of %s from %s", db.Service, req.Env, src.Name)})
	cr, err := d.dbe.Clone(ctx, src, t, dbProgress(req.Env, db.Service, emit))
	if err != nil {
		return nil, dbErr(fmt.Errorf("cloning %s of %s from %s: %w", db.Service, req.Env, src.Name, err))
	}
	op := "clone"
	if kind == KindDBReset {
		op = "reset"
	}
	return &DBResult{Env: req.Env, Service: db.Service, Op: op, From: src.Name, Strategy: cr.Strategy,
		Duration: cr.Duration, Bytes: cr.Bytes, GoldenLoaded: cr.GoldenLoaded, Safety: detail.Safety}, nil
}

// recordDB begins the history record of a database operation on p and
// returns how to finish it: with the detail (completed from the result)
// and the operation's error, which it returns (or the recording's).
func (b *Berth) recordDB(ctx context.Context, kind string, p *spec.Project, detail DBDetail) (func(*DBDetail, *DBResult, error) error, error) {
	raw, err := json.Marshal(detail)
	if err != nil {
		return nil, err
	}
	id, err := b.begin(ctx, Deployment{Kind: kind, Env: p.Name, Definition: p.Definition, Revision: p.Revision, Detail: raw})
	if err != nil {
		return nil, err
	}
	return func(d *DBDetail, res *DBResult, opErr error) error {
		if res != nil {
			d.Strategy, d.Bytes = res.Strategy, res.Bytes
			if res.Snapshot != nil && d.Snapshot == "" {
				d.Snapshot = res.Snapshot.Name
			}
		}
		raw, _ := json.Marshal(d)
		o := outcome(opErr, nil)
		o.Detail = raw
		if ferr := b.finish(ctx, id, o); ferr != nil && opErr == nil {
			return ferr
		}
		return opErr
	}, nil
}

// safetySnapshot keeps what a restore or reset is about to replace as a
// snapshot (before-OP-TIME) when the volume store copies on write, where
// it costs next to nothing; elsewhere (a full copy) none is taken. It
// returns the snapshot's name, "" for none.
func (b *Berth) safetySnapshot(ctx context.Context, d *dbEnv, db *spec.Database, op string, emit Emit) (string, error) {
	if b.snaps == nil {
		return "", nil
	}
	exists := false
	for _, v := range d.o.Volumes {
		exists = exists || v.Name == db.Volume
	}
	if !exists {
		return "", nil
	}
	strategy, err := d.dbe.Strategy(ctx, d.p.Service(db.Service).Image)
	if err != nil || strategy != dbclone.StrategyReflink {
		return "", nil
	}
	base := "before-" + op + "-" + b.now().UTC().Format("20060102-150405")
	if len(d.p.Databases) > 1 {
		base = db.Service + "-" + base
	}
	name := base
	for n := 2; ; n++ {
		if _, err := b.findSnapshot(ctx, d.p.Name, name); err != nil {
			break
		}
		name = fmt.Sprintf("%s-%d", base, n)
	}
	quiet := *d // the operation that follows starts the server, not this snapshot
	quiet.restart = nil
	res, err := b.snapshot(ctx, &quiet, db, name, 0, emit)
	if err != nil {
		return "", fmt.Errorf("keeping what the %s replaces: %w", op, err)
	}
	emit.send(Event{Env: d.p.Name, Kind: "message", Detail: fmt.Sprintf("kept what the %s replaces as snapshot %s", op, res.Snapshot.Name)})
	return res.Snapshot.Name, nil
}

// serverRunning says whether the service's container runs now.
func (d *dbEnv) serverRunning(service string) bool {
	for _, c := range d.o.Containers {
		if c.Service == service && c.Managed && !c.OneOff && (c.State == "running" || c.State == "restarting") {
			return true
		}
	}
	return false
}

// ensureVolume creates db's volume (as Up would) when it does not exist.
func (d *dbEnv) ensureVolume(ctx context.Context, db *spec.Database) error {
	for _, v := range d.o.Volumes {
		if v.Name == db.Volume {
			return nil
		}
	}
	return d.dbe.CreateProjectVolume(ctx, d.p, db.VolumeKey)
}

// DBSnapshot copies env's database into a new snapshot and catalogues it.
func (b *Berth) DBSnapshot(ctx context.Context, req DBSnapshotRequest, emit Emit) (res *DBResult, err error) {
	d, release, err := b.lockedDBEnvironment(ctx, req.Env, KindDBSnapshot, emit)
	if err != nil {
		return nil, err
	}
	defer release()
	db, err := d.database(req.Service)
	if err != nil {
		return nil, err
	}
	detail := DBDetail{Service: db.Service, Source: db.Volume, Snapshot: req.Name, Running: d.serverRunning(db.Service)}
	finish, err := b.recordDB(ctx, KindDBSnapshot, d.p, detail)
	if err != nil {
		return nil, err
	}
	defer func() { err = finish(&detail, res, err) }()
	return b.snapshot(ctx, d, db, req.Name, 0, emit)
}

func (b *Berth) snapshot(ctx context.Context, d *dbEnv, db *spec.Database, name string, deployment int64, emit Emit) (*DBResult, error) {
	if b.snaps == nil {
		return nil, fmt.Errorf("%w: no store for the snapshot catalogue", ErrNoDatabases)
	}
	t, err := dataTarget(d.p, db, d.o)
	if err != nil {
		return nil, err
	}
	t.Restart = d.restart[db.Service]
	if name == "" {
		name = b.now().UTC().Format("20060102-150405")
		if len(d.p.Databases) > 1 {
			name = db.Service + "-" + name
		}
	}
	if err := spec.ValidateName(name); err != nil {
		return nil, fmt.Errorf("snapshot name: %w", err)
	}
	if _, err := b.findSnapshot(ctx, d.p.Name, name); err == nil {
		return nil, fmt.Errorf("environment %q already has a snapshot %q", d.p.Name, name)
	}
	emit.send(Event{Env: d.p.Name, Kind: "message", Detail: fmt.Sprintf("snapshot %s of %s (%s)", name, db.Service, d.p.Name)})
	vol, res, err := d.dbe.Snapshot(ctx, t, name, dbProgress(d.p.Name, db.Service, emit))
	if err != nil {
		return nil, dbErr(fmt.Errorf("snapshot of %s of %s: %w", db.Service, d.p.Name, err))
	}
	sn := DBSnapshot{Name: name, Env: d.p.Name, Service: db.Service, Volume: vol.Name, Size: res.Bytes, Created: b.now(), DeploymentID: deployment}
	id, err := b.snaps.AddSnapshot(ctx, sn)
	if err != nil {
		_ = d.dbe.RemoveSnapshot(context.WithoutCancel(ctx), vol.Name)
		return nil, err
	}
	sn.ID = id
	return &DBResult{Env: d.p.Name, Service: db.Service, Op: "snapshot", From: db.Volume, Strategy: res.Strategy,
		Duration: res.Duration, Bytes: res.Bytes, Snapshot: &sn}, nil
}

// DBRestore puts a snapshot of env back into its database.
func (b *Berth) DBRestore(ctx context.Context, req DBRestoreRequest, emit Emit) (res *DBResult, err error) {
	d, release, err := b.lockedDBEnvironment(ctx, req.Env, KindDBRestore, emit)
	if err != nil {
		return nil, err
	}
	defer release()
	sn, err := b.findSnapshot(ctx, req.Env, req.Snapshot)
	if err != nil {
		return nil, err
	}
	detail := DBDetail{Service: sn.Service, Source: "snapshot " + sn.Name, Snapshot: sn.Name, Running: d.serverRunning(sn.Service)}
	finish, err := b.recordDB(ctx, KindDBRestore, d.p, detail)
	if err != nil {
		return nil, err
	}
	defer func() { err = finish(&detail, res, err) }()
	if db, derr := d.database(sn.Service); derr == nil {
		if detail.Safety, err = b.safetySnapshot(ctx, d, db, "restore", emit); err != nil {
			return nil, err
		}
	}
	res, err = b.restore(ctx, d, sn, emit)
	if res != nil {
		res.Safety = detail.Safety
	}
	return res, err
}

func (b *Berth) restore(ctx context.Context, d *dbEnv, sn *DBSnapshot, emit Emit) (*DBResult, error) {
	db, err := d.database(sn.Service)
	if err != nil {
		return nil, err
	}
	t, err := dataTarget(d.p, db, d.o)
	if err != nil {
		return nil, err
	}
	t.Restart = d.restart[db.Service]
	emit.send(Event{Env: d.p.Name, Kind: "message", Detail: fmt.Sprintf("restoring snapshot %s into %s of %s", sn.Name, db.Service, d.p.Name)})
	res, err := d.dbe.Restore(ctx, sn.Volume, t, dbProgress(d.p.Name, db.Service, emit))
	if err != nil {
		return nil, dbErr(fmt.Errorf("restoring snapshot %s of %s: %w", sn.Name, d.p.Name, err))
	}
	return &DBResult{Env: d.p.Name, Service: db.Service, Op: "restore", From: "snapshot " + sn.Name, Strategy: res.Strategy,
		Duration: res.Duration, Bytes: res.Bytes, Snapshot: sn}, nil
}

// DBReset puts the golden copy of the manifest's source back into env's
// database.
func (b *Berth) DBReset(ctx context.Context, req DBResetRequest, emit Emit) (*DBResult, error) {
	return b.dbClone(ctx, DBCloneRequest{Env: req.Env, Service: req.Service}, KindDBReset, emit)
}

// DBRemove removes a snapshot of env: its volume and its catalogue entry,
// holding env's lock and recorded in its history.
func (b *Berth) DBRemove(ctx context.Context, req DBRemoveRequest) (err error) {
	release, _, err := b.acquire(ctx, req.Env, KindDBRemove, nil)
	if err != nil {
		return err
	}
	defer release()
	sn, err := b.findSnapshot(ctx, req.Env, req.Snapshot)
	if err != nil {
		return err
	}
	if b.dbs == nil {
		return ErrNoDatabases
	}
	dbe, err := b.dbs(ctx)
	if err != nil {
		return err
	}
	detail := DBDetail{Service: sn.Service, Snapshot: sn.Name}
	finish, err := b.recordDB(ctx, KindDBRemove, &spec.Project{Name: req.Env, Definition: b.definitionFor(ctx, req.Env, "")}, detail)
	if err != nil {
		return err
	}
	defer func() { err = finish(&detail, nil, err) }()
	if err := dbe.RemoveSnapshot(ctx, sn.Volume); err != nil {
		return err
	}
	return b.snaps.RemoveSnapshot(ctx, sn.ID)
}

// cloneNewDatabases is Up's hook: each database with a source whose
// volume does not exist yet gets its volume created (as the plan would)
// and filled from the golden copy of its source, before any container
// starts. Databases without a source are left to the image to initialise.
//
// empty names volumes that exist but hold nothing because the clone into
// them never completed (settleDatabases after an interrupted operation):
// they are cloned into as new ones are.
func (b *Berth) cloneNewDatabases(ctx context.Context, p *spec.Project, o reconcile.Observed, empty map[string]bool, emit Emit) error {
	if b.dbs == nil {
		return nil
	}
	exists := map[string]bool{}
	for _, v := range o.Volumes {
		exists[v.Name] = !empty[v.Name]
	}
	var dbe DatabaseEngine
	for i := range p.Databases {
		db := &p.Databases[i]
		if db.Source == nil || db.Source.Kind() == "" || db.Volume == "" || exists[db.Volume] {
			continue
		}
		if dbe == nil {
			var err error
			if dbe, err = b.dbs(ctx); err != nil {
				return err
			}
		}
		t, err := target(p, db, o)
		if err != nil {
			return err
		}
		src, err := b.source(ctx, p, db, nil)
		if err != nil {
			return err
		}
		if src.Kind == "seed" || src.Kind == "url" {
			// Load (or find) the golden copy first: a source that cannot
			// be read fails before anything is created.
			if _, _, err := dbe.Golden(ctx, src, t, dbProgress(p.Name, db.Service, emit)); err != nil {
				return fmt.Errorf("database %s of %s: %s: %w", db.Service, p.Name, src.Name, err)
			}
		}
		if !empty[db.Volume] {
			if err := dbe.CreateProjectVolume(ctx, p, db.VolumeKey); err != nil {
				return err
			}
		}
		emit.send(Event{Env: p.Name, Kind: "message", Detail: fmt.Sprintf("database %s: a new clone from %s", db.Service, src.Name)})
		res, err := dbe.Clone(ctx, src, t, dbProgress(p.Name, db.Service, emit))
		if err != nil {
			return fmt.Errorf("database %s of %s: cloning from %s: %w", db.Service, p.Name, src.Name, err)
		}
		emit.send(Event{Env: p.Name, Kind: "message", Detail: fmt.Sprintf("database %s cloned (%s) in %s", db.Service, res.Strategy, res.Duration.Round(time.Millisecond))})
	}
	return nil
}

// snapshotsBeforeDeploy takes a snapshot of each database of p whose
// volume exists, before deployment id changes anything: by default when
// the volume store copies on write (where a snapshot costs next to
// nothing); WithDeploySnapshots says always or never instead. It
// returns the snapshots' ids; a failed snapshot is a warning, not a reason
// to refuse the deploy.
func (b *Berth) snapshotsBeforeDeploy(ctx context.Context, p *spec.Project, o reconcile.Observed, id int64, emit Emit) []int64 {
	if b.dbs == nil || b.snaps == nil || len(p.Databases) == 0 {
		return nil
	}
	dbe, err := b.dbs(ctx)
	if err != nil {
		return nil
	}
	exists := map[string]bool{}
	for _, v := range o.Volumes {
		exists[v.Name] = true
	}
	d := &dbEnv{dbe: dbe, p: p, o: o}
	var ids []int64
	for i := range p.Databases {
		db := &p.Databases[i]
		if db.Volume == "" || !exists[db.Volume] {
			continue
		}
		s := p.Service(db.Service)
		if s == nil {
			continue
		}
		switch b.deploySnaps {
		case DeploySnapshotsNever:
			return nil
		case DeploySnapshotsAlways:
		default:
			if strategy, err := dbe.Strategy(ctx, s.Image); err != nil || strategy != dbclone.StrategyReflink {
				continue
			}
		}
		name := fmt.Sprintf("deploy-%d", id)
		if len(p.Databases) > 1 {
			name = db.Service + "-" + name
		}
		res, err := b.snapshot(ctx, d, db, name, id, emit)
		if err != nil {
			emit.send(Event{Env: p.Name, Kind: "warning", Detail: "no snapshot before the deploy: " + err.Error()})
			continue
		}
		ids = append(ids, res.Snapshot.ID)
	}
	return ids
}

// DataSnapshots returns the snapshots taken before the newest deployment
// of env that left revision rev: the data env had at rev, which a rollback
// to rev can restore. None is not an error.
func (b *Berth) DataSnapshots(ctx context.Context, env, rev string) ([]DBSnapshot, error) {
	if b.store == nil || b.snaps == nil {
		return nil, nil
	}
	ds, err := b.store.History(ctx, env, HistoryFilter{})
	if err != nil {
		return nil, err
	}
	var out []DBSnapshot
	for _, d := range ds {
		if d.PreviousRevision == rev && len(d.SnapshotIDs) > 0 && (d.Kind == KindDeploy || d.Kind == KindRollback) {
			for _, id := range d.SnapshotIDs {
				sn, err := b.findSnapshot(ctx, env, strconv.FormatInt(id, 10))
				if err != nil {
					return nil, fmt.Errorf("the snapshot taken before deployment #%d: %w", d.ID, err)
				}
				out = append(out, *sn)
			}
			break
		}
	}
	return out, nil
}

// RestoreData puts back the data env had at revision rev (DataSnapshots),
// as rollback --with-data does after the code.
func (b *Berth) RestoreData(ctx context.Context, env, rev string, emit Emit) ([]DBResult, error) {
	release, _, err := b.acquire(ctx, env, "db restore", emit)
	if err != nil {
		return nil, err
	}
	defer release()
	return b.restoreWithData(ctx, env, rev, emit)
}

// restoreWithData puts back the snapshots taken before the newest
// deployment that left revision rev, so that a rollback to rev restores
// its data too.
func (b *Berth) restoreWithData(ctx context.Context, env, rev string, emit Emit) ([]DBResult, error) {
	if b.store == nil || b.snaps == nil {
		return nil, fmt.Errorf("%w: no store", ErrNoDatabases)
	}
	snaps, err := b.DataSnapshots(ctx, env, rev)
	if err != nil {
		return nil, err
	}
	if len(snaps) == 0 {
		return nil, fmt.Errorf("no snapshot was taken when %s left revision %s: the data is left as it is: %w", env, shortRev(rev), ErrNotFound)
	}
	d, err := b.dbEnvironment(ctx, env)
	if err != nil {
		return nil, err
	}
	var out []DBResult
	for i := range snaps {
		res, err := b.restore(ctx, d, &snaps[i], emit)
		if err != nil {
			return out, err
		}
		out = append(out, *res)
	}
	return out, nil
}
