package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// EnvSettings are what an environment keeps from one up to the next.
type EnvSettings struct {
	// Variant is the definition's variant it runs as ("": none).
	Variant string
	// Profiles are the Compose profiles asked for on top of the
	// definition's.
	Profiles []string
	// Ports maps a published port's key to the host port it was moved to
	// (JSON, as core writes it).
	Ports json.RawMessage
}

// EnvSettings returns env's settings; the zero value when none are kept.
func (s *Store) EnvSettings(ctx context.Context, env string) (EnvSettings, error) {
	var out EnvSettings
	var ports, profiles sql.NullString
	err := s.db.QueryRowContext(ctx, "SELECT variant, profiles, ports FROM env_settings WHERE engine = ? AND env = ?", s.engine, env).Scan(&out.Variant, &profiles, &ports)
	if errors.Is(err, sql.ErrNoRows) {
		return EnvSettings{}, nil
	}
	if err != nil {
		return out, fmt.Errorf("store: settings of %s: %w", env, err)
	}
	if ports.Valid && ports.String != "" {
		out.Ports = json.RawMessage(ports.String)
	}
	if profiles.Valid && profiles.String != "" {
		if err := json.Unmarshal([]byte(profiles.String), &out.Profiles); err != nil {
			return out, fmt.Errorf("store: settings of %s: profiles: %w", env, err)
		}
	}
	return out, nil
}

// SaveEnvSettings replaces env's settings.
func (s *Store) SaveEnvSettings(ctx context.Context, env string, es EnvSettings) error {
	if len(es.Ports) > 0 && !json.Valid(es.Ports) {
		return errors.New("store: settings: the ports are not valid JSON")
	}
	var ports, profiles any
	if len(es.Ports) > 0 {
		ports = string(es.Ports)
	}
	if len(es.Profiles) > 0 {
		b, _ := json.Marshal(es.Profiles)
		profiles = string(b)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO env_settings (engine, env, variant, profiles, ports) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (engine, env) DO UPDATE SET variant = excluded.variant, profiles = excluded.profiles, ports = excluded.ports`, s.engine, env, es.Variant, profiles, ports)
	if err != nil {
		return fmt.Errorf("store: settings of %s: %w", env, err)
	}
	return nil
}

// ForgetEnvSettings removes env's settings (the environment is gone).
func (s *Store) ForgetEnvSettings(ctx context.Context, env string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM env_settings WHERE engine = ? AND env = ?", s.engine, env); err != nil {
		return fmt.Errorf("store: settings of %s: %w", env, err)
	}
	return nil
}
