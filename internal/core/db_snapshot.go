package core

import (
	"context"
	"fmt"
	"time"

	"github.com/berthdev/berth/internal/spec"
)

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
	emit.send(Event{Env: d.p.Name, Kind: EventMessage, Detail: fmt.Sprintf("snapshot %s of %s (%s)", name, db.Service, d.p.Name)})
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
