package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Snapshot is a catalogued point-in-time copy of an environment's database
// volume.
type Snapshot struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Env     string    `json:"env"`
	Service string    `json:"service"` // the database service
	Volume  string    `json:"volume"`  // the volume holding the copy
	Size    int64     `json:"size"`    // bytes
	Created time.Time `json:"created"`
	// DeploymentID is the deployment it went with (0: none).
	DeploymentID int64 `json:"deploymentId,omitempty"`
}

// AddSnapshot catalogues a snapshot (Created defaults to now) and returns
// its id. Names are unique within an environment.
func (s *Store) AddSnapshot(ctx context.Context, sn Snapshot) (int64, error) {
	if sn.Env == "" || sn.Name == "" {
		return 0, errors.New("store: add snapshot: environment and name are required")
	}
	if sn.Created.IsZero() {
		sn.Created = s.now()
	}
	var dep any
	if sn.DeploymentID != 0 {
		dep = sn.DeploymentID
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO snapshots (engine, name, env, service, volume, size, created_at, deployment_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, s.engine, sn.Name, sn.Env, sn.Service, sn.Volume, sn.Size, sn.Created.UnixMilli(), dep)
	if err != nil {
		return 0, fmt.Errorf("store: add snapshot %s of %s: %w", sn.Name, sn.Env, err)
	}
	return res.LastInsertId()
}

// Snapshots returns env's snapshots (every environment's when env is
// empty), newest first.
func (s *Store) Snapshots(ctx context.Context, env string) ([]Snapshot, error) {
	q := "SELECT id, name, env, service, volume, size, created_at, deployment_id FROM snapshots WHERE engine = ?"
	args := []any{s.engine}
	if env != "" {
		q += " AND env = ?"
		args = append(args, env)
	}
	q += " ORDER BY created_at DESC, id DESC"
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: snapshots of %q: %w", env, err)
	}
	defer rows.Close()
	var out []Snapshot
	for rows.Next() {
		var sn Snapshot
		var created int64
		var dep sql.NullInt64
		if err := rows.Scan(&sn.ID, &sn.Name, &sn.Env, &sn.Service, &sn.Volume, &sn.Size, &created, &dep); err != nil {
			return nil, fmt.Errorf("store: snapshots of %q: %w", env, err)
		}
		sn.Created = time.UnixMilli(created)
		sn.DeploymentID = dep.Int64
		out = append(out, sn)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: snapshots of %q: %w", env, err)
	}
	return out, nil
}

// RemoveSnapshot removes snapshot id from the catalogue (the volume is the
// caller's to remove).
func (s *Store) RemoveSnapshot(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM snapshots WHERE id = ? AND engine = ?", id, s.engine)
	if err != nil {
		return fmt.Errorf("store: remove snapshot %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: remove snapshot %d: %w", id, ErrNotFound)
	}
	return nil
}
