package core

import (
	"fmt"
	"maps"
	"path"
	"strings"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// target describes db of p for the cloner; the container is looked up in
// o. It is an error when Berth cannot know the service's accounts (see
// envSetting): a clone made from a seed or URL would not match them.
func target(p *spec.Project, db *spec.Database, o reconcile.Observed) (dbclone.Target, error) {
	t, accounts, err := targetOf(p, db, o)
	if err != nil {
		return dbclone.Target{}, err
	}
	if accounts != nil {
		return dbclone.Target{}, accounts
	}
	return t, nil
}

// dataTarget is target for copies that move an environment's accounts
// with its data (snapshots, restores, a source environment): when Berth
// cannot know the accounts, the target has none, and the copy leaves them
// as the data holds them.
func dataTarget(p *spec.Project, db *spec.Database, o reconcile.Observed) (dbclone.Target, error) {
	t, _, err := targetOf(p, db, o)
	return t, err
}

// withFileVars is the service's environment with each VAR_FILE that names
// one of its secrets or configs replaced by VAR set to that file's content
// (trailing newlines dropped, as the images' entrypoints read it): a
// clone's accounts are made before its server starts, from what Berth
// knows. A VAR_FILE naming any other file stays, and the clone says so.
func withFileVars(p *spec.Project, s *spec.Service) map[string]string {
	files := map[string][]byte{}
	for _, m := range s.Secrets {
		if o := p.Secret(m.Source); o != nil {
			files[m.Target] = o.Content
		}
	}
	for _, m := range s.Configs {
		if o := p.Config(m.Source); o != nil {
			files[m.Target] = o.Content
		}
	}
	if len(files) == 0 {
		return s.Environment
	}
	out := maps.Clone(s.Environment)
	for k, v := range s.Environment {
		name, ok := strings.CutSuffix(k, "_FILE")
		content, known := files[path.Clean(v)]
		if !ok || !known || name == "" {
			continue
		}
		if _, both := s.Environment[name]; both {
			continue // the entrypoint refuses both; AccountsFromEnv says so
		}
		delete(out, k)
		out[name] = strings.TrimRight(string(content), "\n")
	}
	return out
}

// targetOf describes db of p; accounts is why the service's accounts
// cannot be known (t then has none).
func targetOf(p *spec.Project, db *spec.Database, o reconcile.Observed) (t dbclone.Target, accounts, err error) {
	if db.Volume == "" {
		return t, nil, fmt.Errorf("database %s of %s: the service mounts no named volume at its data folder: %w", db.Service, p.Name, ErrNoDatabases)
	}
	s := p.Service(db.Service)
	if s == nil {
		return t, nil, fmt.Errorf("environment %q has no service %q: %w", p.Name, db.Service, ErrNotFound)
	}
	engine := dbclone.EnginePostgres
	if db.Engine == spec.EngineMariaDB {
		engine = dbclone.EngineMariaDB
	}
	t, accounts = dbclone.AccountsFromEnv(engine, p.Name, db.Service, db.DataDir, withFileVars(p, s))
	t.Env, t.Service, t.Image, t.Volume, t.MountDir = p.Name, db.Service, s.Image, db.Volume, db.DataDir
	for _, c := range o.Containers {
		if c.Service == db.Service && c.Managed && !c.OneOff {
			t.Container = c.Name
			break
		}
	}
	return t, accounts, nil
}
