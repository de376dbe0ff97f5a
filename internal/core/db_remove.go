package core

import (
	"context"

	"github.com/berthdev/berth/internal/spec"
)

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
