package core

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

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

// dbErr marks the cloner's "not found" as core's, for the exit code.
func dbErr(err error) error {
	if err != nil && errors.Is(err, dbclone.ErrNotFound) && !errors.Is(err, ErrNotFound) {
		return notFoundError{err}
	}
	return err
}

type notFoundError struct{ err error }

func (e notFoundError) Error() string { return e.err.Error() }

func (e notFoundError) Unwrap() error { return e.err }

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
		emit.send(Event{Env: env, Kind: EventDB, Detail: p.Step, DB: &DBProgress{Service: service, Step: p.Step, Done: p.Done, Total: p.Total}})
	}
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
	strategy, err := d.dbe.Strategy(ctx, d.p.Service(db.Service).Image, d.p.Name)
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
	emit.send(Event{Env: d.p.Name, Kind: EventMessage, Detail: fmt.Sprintf("kept what the %s replaces as snapshot %s", op, res.Snapshot.Name)})
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
