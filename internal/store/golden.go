package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// GoldenUse is a golden copy this installation used: loaded, cloned or
// reset from.
type GoldenUse struct {
	Volume    string    `json:"volume"`
	Source    string    `json:"source"`
	FirstUsed time.Time `json:"firstUsed"`
	LastUsed  time.Time `json:"lastUsed"`
	// Clones are the databases whose latest clone from a golden copy came
	// from this one.
	Clones []GoldenClone `json:"clones,omitempty"`
}

// GoldenClone is an environment's database service.
type GoldenClone struct {
	Env     string `json:"env"`
	Service string `json:"service"`
}

// UseGolden records that the golden copy in volume is being used now, for
// the database service of env (both "" when no environment's database is
// meant).
func (s *Store) UseGolden(ctx context.Context, volume, source, env, service string) error {
	if volume == "" {
		return errors.New("store: use golden copy: a volume is required")
	}
	now := s.now().UnixMilli()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: use golden copy %s: %w", volume, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO golden_copies (engine, volume, source, first_used, last_used) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (engine, volume) DO UPDATE SET last_used = max(last_used, excluded.last_used), source = excluded.source`,
		s.engine, volume, source, now, now); err != nil {
		return fmt.Errorf("store: use golden copy %s: %w", volume, err)
	}
	if env != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO golden_clones (engine, env, service, volume, used_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (engine, env, service) DO UPDATE SET volume = excluded.volume, used_at = excluded.used_at`,
			s.engine, env, service, volume, now); err != nil {
			return fmt.Errorf("store: use golden copy %s: %w", volume, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: use golden copy %s: %w", volume, err)
	}
	return nil
}

// GoldenUses returns the golden copies recorded, least recently used first.
func (s *Store) GoldenUses(ctx context.Context) ([]GoldenUse, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT volume, source, first_used, last_used FROM golden_copies WHERE engine = ? ORDER BY last_used, volume", s.engine)
	if err != nil {
		return nil, fmt.Errorf("store: golden copies: %w", err)
	}
	defer rows.Close()
	var out []GoldenUse
	for rows.Next() {
		var g GoldenUse
		var first, last int64
		if err := rows.Scan(&g.Volume, &g.Source, &first, &last); err != nil {
			return nil, fmt.Errorf("store: golden copies: %w", err)
		}
		g.FirstUsed, g.LastUsed = time.UnixMilli(first), time.UnixMilli(last)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: golden copies: %w", err)
	}
	rows.Close()
	clones, err := s.db.QueryContext(ctx, "SELECT volume, env, service FROM golden_clones WHERE engine = ? ORDER BY env, service", s.engine)
	if err != nil {
		return nil, fmt.Errorf("store: golden copies: %w", err)
	}
	defer clones.Close()
	byVolume := map[string][]GoldenClone{}
	for clones.Next() {
		var v string
		var c GoldenClone
		if err := clones.Scan(&v, &c.Env, &c.Service); err != nil {
			return nil, fmt.Errorf("store: golden copies: %w", err)
		}
		byVolume[v] = append(byVolume[v], c)
	}
	if err := clones.Err(); err != nil {
		return nil, fmt.Errorf("store: golden copies: %w", err)
	}
	for i := range out {
		out[i].Clones = byVolume[out[i].Volume]
	}
	return out, nil
}

// ForgetGolden removes the record of a golden copy (one that is gone).
func (s *Store) ForgetGolden(ctx context.Context, volume string) error {
	for _, q := range []string{"DELETE FROM golden_clones WHERE volume = ? AND engine = ?", "DELETE FROM golden_copies WHERE volume = ? AND engine = ?"} {
		if _, err := s.db.ExecContext(ctx, q, volume, s.engine); err != nil {
			return fmt.Errorf("store: forget golden copy %s: %w", volume, err)
		}
	}
	return nil
}
