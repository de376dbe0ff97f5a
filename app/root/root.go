// Package root is Berth's composition root: it builds the adapters from
// settings and hands them to core. The desktop app, the CLI and the web
// dashboard all start here, so every operation exists in all three.
package root

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/engine"
	"github.com/berthdev/berth/internal/store"
)

// Config says where the definitions are and which engine to use.
type Config struct {
	// DefinitionsDir is the folder holding <name>/berth.yaml definitions.
	DefinitionsDir string
	// DockerHost and DockerContext override the user's Docker context.
	DockerHost    string
	DockerContext string
	// StateDir is the data folder (berth.db, locks/, workspaces/,
	// repos/); empty: BERTH_STATE_DIR, else the store's default folder.
	StateDir string
	// Repo is the definitions repo, a path or a URL; empty: the Git repo
	// around the definitions folder or the current directory.
	Repo string
	// Branch is the branch to track; empty: the repo's default branch.
	Branch string
}

// DefaultConfig reads the environment: BERTH_DEFINITIONS, else the
// environments/ folder of the current directory or the nearest parent
// that has one.
func DefaultConfig() Config {
	return Config{DefinitionsDir: DefaultDefinitionsDir()}
}

// DefaultDefinitionsDir is where Berth looks for definitions by default.
func DefaultDefinitionsDir() string {
	if d := os.Getenv("BERTH_DEFINITIONS"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return "environments"
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, "environments")
		if fi, err := os.Stat(cand); err == nil && fi.IsDir() {
			return cand
		}
		if filepath.Dir(dir) == dir {
			return filepath.Join(wd, "environments")
		}
	}
}

// Open builds the core API. It does not need the engine to answer: the
// engine is connected on first use and again after a failure. Saved
// settings are not read; see New.
func Open(cfg Config) *core.Berth {
	if cfg.DefinitionsDir == "" {
		cfg.DefinitionsDir = DefaultDefinitionsDir()
	}
	src := &engineSource{opts: engine.Options{Host: cfg.DockerHost, Context: cfg.DockerContext}}
	return core.New(src.get, &definitions{dir: cfg.DefinitionsDir})
}

// engineSource connects lazily and keeps a connection that works. It can
// be re-pointed at another engine.
type engineSource struct {
	mu   sync.Mutex
	opts engine.Options
	e    *engineAdapter
	// goldenUsed records each golden copy the cloner uses (the store's).
	goldenUsed func(ctx context.Context, v dbclone.Volume, t dbclone.Target)
	// ids are the engine IDs last seen at each address (engineid.go).
	ids *engineIDs
}

func (s *engineSource) get(ctx context.Context) (core.Engine, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.e != nil {
		if err := s.e.e.Ping(ctx); err == nil {
			// A failed ping means the engine went away; connect again.
			return s.e, nil
		}
		s.e.e.Close()
		s.e = nil
	}
	e, err := engine.Connect(ctx, s.opts)
	if err != nil {
		return nil, connectError(err)
	}
	s.e = &engineAdapter{e: e}
	return s.e, nil
}

// point makes the next use connect to the engine opts name, closing the
// current connection when the target changes (which also ends its event
// streams: watchers reconnect to the new one).
func (s *engineSource) point(opts engine.Options) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if opts == s.opts {
		return
	}
	s.opts = opts
	if s.e != nil {
		s.e.e.Close()
		s.e = nil
	}
}

// StateDir is Berth's data folder (berth.db, locks/, workspaces/, repos/):
// dir when given, else BERTH_STATE_DIR, else the folder of
// store.DefaultPath.
func StateDir(dir string, getenv func(string) string) (string, error) {
	if dir == "" {
		dir = getenv("BERTH_STATE_DIR")
	}
	if dir == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return "", err
		}
		return filepath.Dir(p), nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("state folder: %w", err)
	}
	return abs, nil
}
