// Package store is Berth's embedded state: the deployment records (the audit
// trail of every up, down, deploy, rollback and heal) and the snapshots
// catalogue, kept in one SQLite file in WAL mode.
//
// It is the only importer of the SQLite driver. The file is safe to use from
// several processes at once (the CLI and the desktop app): every write is a
// single statement or an immediate transaction, and a writer that finds the
// file busy waits up to BusyTimeout instead of failing.
//
// Nothing secret belongs here. Callers record plans (ops and their causes),
// revisions, image digests and identities; they must never put environment
// values, passwords or database URLs with credentials into a record.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// BusyTimeout is how long a statement waits for another connection or
// process that holds the write lock before it fails.
const BusyTimeout = 5 * time.Second

// DefaultLease is how long a running record written on another host counts as
// alive without a Heartbeat; after it, Unfinished reports the record.
const DefaultLease = 10 * time.Minute

// ErrNewerSchema is returned by Open when the file was migrated by a newer
// Berth than this one.
var ErrNewerSchema = errors.New("the store was written by a newer Berth")

// ErrNotFound is returned when a record asked for does not exist.
var ErrNotFound = errors.New("not found")

// Store is an open store file. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
	// Lease is how long a running record from another host stays alive
	// after its last heartbeat (DefaultLease unless changed before use).
	Lease time.Duration
	// now is the clock; tests replace it.
	now func() time.Time

	// engine and endpoint scope the records of deployments, snapshots,
	// golden copies and environment settings to one engine (On); trust
	// decisions and workspaces in use are not an engine's.
	engine, endpoint string
	claim            *sync.Once
}

// On is the store seen from one engine: engine is its ID (stable across
// restarts and addresses), endpoint how it was reached (shown in history).
// The first call in a process gives the records written before stores had
// engines to this engine: in practice the one the user worked with.
func (s *Store) On(ctx context.Context, engine, endpoint string) *Store {
	s.claim.Do(func() {
		for _, t := range []string{"deployments", "snapshots", "golden_copies", "golden_clones", "env_settings"} {
			q := "UPDATE " + t + " SET engine = ? WHERE engine = ''"
			if t == "deployments" {
				q = "UPDATE deployments SET engine = ?, engine_endpoint = ? WHERE engine = ''"
				_, _ = s.db.ExecContext(ctx, q, engine, endpoint)
				continue
			}
			_, _ = s.db.ExecContext(ctx, q, engine)
		}
	})
	c := *s
	c.engine, c.endpoint = engine, endpoint
	return &c
}

// DefaultPath returns the store's usual place, berth/berth.db under the
// user's configuration folder, creating the folder (0700) when missing.
func DefaultPath() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("store: find the configuration folder: %w", err)
	}
	dir := filepath.Join(base, "berth")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return filepath.Join(dir, "berth.db"), nil
}

// Open opens (creating it when missing, mode 0600) the store at path and
// brings its schema up to date.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: empty path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: path %q: '?' and '#' are not allowed in a store path", path)
	}
	// Create the file ourselves so that it (and the -wal and -shm files,
	// which SQLite creates with the database file's mode) is private. Only
	// when it does not exist: closing a descriptor of a file drops every
	// POSIX lock this process holds on it, and SQLite's locks are POSIX
	// locks, so opening and closing an existing store file while another
	// Store of this process has it open would let other processes
	// checkpoint under that Store's feet.
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		switch {
		case err == nil:
			f.Close()
		case !errors.Is(err, fs.ErrExist):
			return nil, fmt.Errorf("store: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}

	// Every connection gets the same pragmas (driver_*.go): busy_timeout,
	// WAL, synchronous NORMAL, foreign keys, and transactions that take the
	// write lock when they begin, so a writer waits for another
	// (busy_timeout) instead of failing when it upgrades from a stale read
	// snapshot.
	db, err := sql.Open(driverName, dsn(path))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path, Lease: DefaultLease, now: time.Now, claim: &sync.Once{}}
	ctx, cancel := context.WithTimeout(context.Background(), 4*BusyTimeout)
	defer cancel()
	if err := s.check(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// check makes sure the file is an SQLite database in WAL mode.
func (s *Store) check(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("store: open %s: %w", s.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("store: open %s: journal mode is %q, not WAL", s.path, mode)
	}
	return nil
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// SchemaVersion is the schema version of the open file.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// migrate applies, in one immediate transaction, the migrations the file has
// not had yet. Two processes opening a new file at once serialise on the
// transaction; the second finds nothing left to do.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&have); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if have > len(migrations) {
		return fmt.Errorf("store: %s: %w (schema version %d; this Berth knows up to %d): upgrade Berth", s.path, ErrNewerSchema, have, len(migrations))
	}
	if have == len(migrations) {
		return nil
	}
	for i := have; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("store: migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", i+1, s.now().UnixMilli()); err != nil {
			return fmt.Errorf("store: migration %d: %w", i+1, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}
