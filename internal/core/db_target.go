package core

import (
	"cmp"
	"fmt"

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
	switch db.Engine {
	case spec.EngineMariaDB:
		t, accounts = mariadbTarget(p.Name, db, s.Environment)
	default:
		t, accounts = postgresTarget(p.Name, db, s.Environment)
	}
	t.Env, t.Service, t.Image, t.Volume, t.MountDir = p.Name, db.Service, s.Image, db.Volume, db.DataDir
	for _, c := range o.Containers {
		if c.Service == db.Service && c.Managed && !c.OneOff {
			t.Container = c.Name
			break
		}
	}
	return t, accounts, nil
}

// mariadbTarget reads a MariaDB service's accounts from its environment
// as the image's entrypoint does (MARIADB_*, else MYSQL_*). A clone is
// made with them, so they must be known here: one read from a file (the
// *_FILE forms) is an error (see envSetting), and the target then has no
// accounts. A random root password (MARIADB_RANDOM_ROOT_PASSWORD) is
// Berth's to make, for each clone.
func mariadbTarget(env string, db *spec.Database, vars map[string]string) (dbclone.Target, error) {
	none := dbclone.Target{Engine: dbclone.EngineMariaDB}
	t := none
	var random, root, allowEmpty string
	if err := mariadbSettings(env, db, vars, []mariadbSetting{
		{&random, []string{"MARIADB_RANDOM_ROOT_PASSWORD", "MYSQL_RANDOM_ROOT_PASSWORD"}},
	}); err != nil {
		return none, err
	}
	if random != "" {
		// The official image then makes a random password even when one
		// is given, the local Debian one uses the given one: a clone could
		// match only one of them.
		for _, n := range []string{"MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD", "MARIADB_ROOT_PASSWORD_FILE", "MYSQL_ROOT_PASSWORD_FILE"} {
			if vars[n] != "" {
				return none, fmt.Errorf("database %s of %s: both %s and a random root password (MARIADB_RANDOM_ROOT_PASSWORD or MYSQL_RANDOM_ROOT_PASSWORD) are set, and images disagree about which wins: keep one",
					db.Service, env, n)
			}
		}
		t.RandomRoot = true
	}
	if err := mariadbSettings(env, db, vars, []mariadbSetting{
		{&root, []string{"MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD"}},
		{&allowEmpty, []string{"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "MYSQL_ALLOW_EMPTY_PASSWORD", "MYSQL_ALLOW_EMPTY_ROOT_PASSWORD"}},
		{&t.RootHost, []string{"MARIADB_ROOT_HOST", "MYSQL_ROOT_HOST"}},
		{&t.User, []string{"MARIADB_USER", "MYSQL_USER"}},
		{&t.Password, []string{"MARIADB_PASSWORD", "MYSQL_PASSWORD"}},
		{&t.Database, []string{"MARIADB_DATABASE", "MYSQL_DATABASE"}},
	}); err != nil {
		return none, err
	}
	if !t.RandomRoot && root == "" && allowEmpty == "" {
		return none, fmt.Errorf("database %s of %s: set MARIADB_ROOT_PASSWORD, MARIADB_RANDOM_ROOT_PASSWORD or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD in the service's environment: a clone's root account is made as the image's entrypoint would make it",
			db.Service, env)
	}
	t.RootPassword = root
	return t, nil
}

// mariadbSetting is where one setting goes and the names it is read from,
// the first set one winning.
type mariadbSetting struct {
	dst   *string
	names []string
}

// mariadbSettings reads settings with envSetting.
func mariadbSettings(env string, db *spec.Database, vars map[string]string, settings []mariadbSetting) error {
	for _, s := range settings {
		v, err := envSetting(env, db, vars, s.names...)
		if err != nil {
			return err
		}
		*s.dst = v
	}
	return nil
}

// postgresTarget reads a PostgreSQL service's accounts from its
// environment as the image's entrypoint does; the *_FILE forms are
// refused (see envSetting): without the password, a clone would be made
// with none and would let every connection in.
func postgresTarget(env string, db *spec.Database, vars map[string]string) (dbclone.Target, error) {
	var user, password, database string
	for _, s := range []struct {
		dst  *string
		name string
	}{{&user, "POSTGRES_USER"}, {&password, "POSTGRES_PASSWORD"}, {&database, "POSTGRES_DB"}} {
		v, err := envSetting(env, db, vars, s.name)
		if err != nil {
			return dbclone.Target{PGData: cmp.Or(vars["PGDATA"], db.DataDir)}, err
		}
		*s.dst = v
	}
	user = cmp.Or(user, "postgres")
	return dbclone.Target{PGData: cmp.Or(vars["PGDATA"], db.DataDir), User: user, Password: password,
		Database: cmp.Or(database, user), AuthMethod: vars["POSTGRES_HOST_AUTH_METHOD"]}, nil
}

// envSetting is a database service's setting as the image's entrypoint
// reads it: the first of names that is set, from the variable itself or
// from the file its NAME_FILE form names. Such a file lives inside the
// container (a compose secret, a bind mount, the image), where Berth,
// which makes a clone's accounts before its server starts, cannot read
// it: that is an error saying what to set instead, as is a variable set
// together with its _FILE form (the entrypoint refuses to start then).
func envSetting(env string, db *spec.Database, vars map[string]string, names ...string) (string, error) {
	for _, n := range names {
		f := n + "_FILE"
		switch {
		case vars[n] != "" && vars[f] != "":
			return "", fmt.Errorf("database %s of %s: both %s and %s are set in the service's environment, and the image's entrypoint refuses to start with both: keep one (%s, for a clone)",
				db.Service, env, n, f, n)
		case vars[n] != "":
			return vars[n], nil
		case vars[f] != "":
			return "", fmt.Errorf("database %s of %s: %s names a file inside the container (%s), which Berth cannot read (it makes a clone's accounts before the server starts, and compose secrets are not supported): set %s in the service's environment instead (from your environment with ${VAR}, or an env_file kept out of Git)",
				db.Service, env, f, vars[f], n)
		}
	}
	return "", nil
}
