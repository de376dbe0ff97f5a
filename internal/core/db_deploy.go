package core

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

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
		if src.Kind == dbclone.SourceSeed || src.Kind == dbclone.SourceURL {
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
		emit.send(Event{Env: p.Name, Kind: EventMessage, Detail: fmt.Sprintf("database %s: a new clone from %s", db.Service, src.Name)})
		res, err := dbe.Clone(ctx, src, t, dbProgress(p.Name, db.Service, emit))
		if err != nil {
			return fmt.Errorf("database %s of %s: cloning from %s: %w", db.Service, p.Name, src.Name, err)
		}
		emit.send(Event{Env: p.Name, Kind: EventMessage, Detail: fmt.Sprintf("database %s cloned (%s) in %s", db.Service, res.Strategy, res.Duration.Round(time.Millisecond))})
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
			if strategy, err := dbe.Strategy(ctx, s.Image, p.Name); err != nil || strategy != dbclone.StrategyReflink {
				continue
			}
		}
		name := fmt.Sprintf("deploy-%d", id)
		if len(p.Databases) > 1 {
			name = db.Service + "-" + name
		}
		res, err := b.snapshot(ctx, d, db, name, id, emit)
		if err != nil {
			emit.send(Event{Env: p.Name, Kind: EventWarning, Detail: "no snapshot before the deploy: " + err.Error()})
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
