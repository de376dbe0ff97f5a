package core

import (
	"context"
	"fmt"
)

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
	emit.send(Event{Env: d.p.Name, Kind: EventMessage, Detail: fmt.Sprintf("restoring snapshot %s into %s of %s", sn.Name, db.Service, d.p.Name)})
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
