package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Trust decisions.
const (
	TrustGranted = "granted"
	TrustRevoked = "revoked"
)

// TrustRecord is one decision of the user about a definition of a repo:
// granted (for one capability list, by its digest) or revoked (every
// grant before it). Records are never changed: the audit trail of who
// trusted what, when and how.
type TrustRecord struct {
	ID         int64  `json:"id"`
	Repo       string `json:"repo"`
	Definition string `json:"definition"`
	Decision   string `json:"decision"`
	// Digest is the capability list's digest (empty for a revoke).
	Digest string `json:"digest,omitempty"`
	// Capabilities is the list granted, as JSON: kinds, subjects (names,
	// paths) and plain words, never a value.
	Capabilities json.RawMessage `json:"capabilities,omitempty"`
	// How says how the decision was made: "prompt", "--trust", "app",
	// "berth trust".
	How       string    `json:"how,omitempty"`
	Who       Who       `json:"who"`
	DecidedAt time.Time `json:"decidedAt"`
}

// RecordTrust adds a decision (now, by r.Who with the OS user and host
// filled in) and returns its id.
func (s *Store) RecordTrust(ctx context.Context, r TrustRecord) (int64, error) {
	switch {
	case r.Repo == "" || r.Definition == "":
		return 0, errors.New("store: trust: a repo and a definition are required")
	case r.Decision == TrustGranted && r.Digest == "":
		return 0, errors.New("store: trust: a grant needs the capability digest")
	case r.Decision != TrustGranted && r.Decision != TrustRevoked:
		return 0, fmt.Errorf("store: trust: unknown decision %q", r.Decision)
	}
	who := CurrentUser(r.Who)
	var caps any
	if len(r.Capabilities) > 0 {
		caps = string(r.Capabilities)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO trust (repo, definition, decision, digest, capabilities, how, git_name, git_email, os_user, user_host, decided_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Repo, r.Definition, r.Decision, r.Digest, caps, r.How, who.GitName, who.GitEmail, who.OSUser, who.Host, s.now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: trust: %w", err)
	}
	return res.LastInsertId()
}

// TrustRecords returns the decisions about a definition of a repo that
// still count, newest first: the grants made after the latest revoke, and
// that revoke itself (so callers can say it was revoked). A definition
// never decided on has none.
func (s *Store) TrustRecords(ctx context.Context, repo, definition string) ([]TrustRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, repo, definition, decision, digest, capabilities, how, git_name, git_email, os_user, user_host, decided_at
		FROM trust WHERE repo = ? AND definition = ? ORDER BY decided_at DESC, id DESC`, repo, definition)
	if err != nil {
		return nil, fmt.Errorf("store: trust: %w", err)
	}
	defer rows.Close()
	var out []TrustRecord
	for rows.Next() {
		r, err := scanTrust(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		if r.Decision == TrustRevoked {
			break
		}
	}
	return out, rows.Err()
}

// TrustDecisions returns the latest decision of every repo and definition
// decided on, sorted by repo and definition.
func (s *Store) TrustDecisions(ctx context.Context) ([]TrustRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, repo, definition, decision, digest, capabilities, how, git_name, git_email, os_user, user_host, decided_at
		FROM trust t WHERE id = (SELECT id FROM trust u WHERE u.repo = t.repo AND u.definition = t.definition ORDER BY decided_at DESC, id DESC LIMIT 1)
		ORDER BY repo, definition`)
	if err != nil {
		return nil, fmt.Errorf("store: trust: %w", err)
	}
	defer rows.Close()
	var out []TrustRecord
	for rows.Next() {
		r, err := scanTrust(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanTrust(rows interface{ Scan(...any) error }) (TrustRecord, error) {
	var r TrustRecord
	var caps *string
	var at int64
	if err := rows.Scan(&r.ID, &r.Repo, &r.Definition, &r.Decision, &r.Digest, &caps, &r.How,
		&r.Who.GitName, &r.Who.GitEmail, &r.Who.OSUser, &r.Who.Host, &at); err != nil {
		return r, fmt.Errorf("store: trust: %w", err)
	}
	if caps != nil {
		r.Capabilities = json.RawMessage(*caps)
	}
	r.DecidedAt = time.UnixMilli(at)
	return r, nil
}
