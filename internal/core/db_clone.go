package core

import (
	"context"
	"fmt"
)

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
	emit.send(Event{Env: req.Env, Kind: EventMessage, Detail: fmt.Sprintf("cloning %s of %s from %s", db.Service, req.Env, src.Name)})
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
