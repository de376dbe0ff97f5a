package store

import (
	"context"
	"fmt"
)

// Use is a revision an environment needs, and why.
type Use struct {
	Env        string `json:"env"`
	Definition string `json:"definition,omitempty"`
	Revision   string `json:"revision"`
	// Why is "running" (an operation under way), "current" (the newest
	// operation, whatever its result: its containers may use the
	// revision), "last good" (the newest successful one) or "rollback
	// target" (the successful one before it with another revision).
	Why string `json:"why"`
}

// InUse lists, for every environment, the revisions whose workspaces must
// stay: those of its operations still running, of its newest up, deploy or
// rollback, of its newest successful one and of the successful one before
// that with another revision (what rollback goes back to). Records without
// a revision (an up of a folder, a down) name nothing.
func (s *Store) InUse(ctx context.Context) ([]Use, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT env, definition, revision, status FROM deployments
		WHERE revision != '' AND kind IN (?, ?, ?)
		ORDER BY env, started_at DESC, id DESC`, KindUp, KindDeploy, KindRollback)
	if err != nil {
		return nil, fmt.Errorf("store: revisions in use: %w", err)
	}
	defer rows.Close()
	var (
		out                  []Use
		env                  string
		current, good, other bool
		goodRev              string
	)
	for rows.Next() {
		var u Use
		var status string
		if err := rows.Scan(&u.Env, &u.Definition, &u.Revision, &status); err != nil {
			return nil, fmt.Errorf("store: revisions in use: %w", err)
		}
		if u.Env != env {
			env, current, good, other, goodRev = u.Env, false, false, false, ""
		}
		switch {
		case status == StatusRunning:
			u.Why = "running"
		case !current:
			u.Why = "current"
		case status != StatusSucceeded:
		case !good:
			u.Why = "last good"
		case !other && u.Revision != goodRev:
			u.Why = "rollback target"
		}
		if !current && status != StatusRunning {
			current = true
		}
		if status == StatusSucceeded {
			switch {
			case !good:
				good, goodRev = true, u.Revision
			case u.Revision != goodRev:
				other = true
			}
		}
		if u.Why != "" {
			out = append(out, u)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: revisions in use: %w", err)
	}
	return out, nil
}
