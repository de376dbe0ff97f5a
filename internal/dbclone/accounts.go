package dbclone

// A database service's accounts, read from its environment as the image's
// entrypoint reads them (this is the flavours' knowledge: PostgreSQL's
// POSTGRES_*, MariaDB's MARIADB_* and MYSQL_*).

import (
	"cmp"
	"fmt"
)

// AccountsFromEnv describes a database service's accounts for a clone:
// engine's, of service in environment env, whose data folder is dataDir,
// from the service's environment vars. accounts, when not nil, says why
// the accounts cannot be known (t then has none: a copy that moves the
// accounts with the data can still be made).
func AccountsFromEnv(engine, env, service, dataDir string, vars map[string]string) (t Target, accounts error) {
	if engine == EngineMariaDB {
		return mariadbTarget(env, service, vars)
	}
	return postgresTarget(env, service, dataDir, vars)
}

// mariadbTarget reads a MariaDB service's accounts from its environment
// as the image's entrypoint does (MARIADB_*, else MYSQL_*). A clone is
// made with them, so they must be known here: one read from a file (the
// *_FILE forms) is an error (see envSetting), and the target then has no
// accounts. A random root password (MARIADB_RANDOM_ROOT_PASSWORD) is
// Berth's to make, for each clone.
func mariadbTarget(env, service string, vars map[string]string) (Target, error) {
	none := Target{Engine: EngineMariaDB}
	t := none
	var random, root, allowEmpty string
	if err := mariadbSettings(env, service, vars, []mariadbSetting{
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
					service, env, n)
			}
		}
		t.RandomRoot = true
	}
	if err := mariadbSettings(env, service, vars, []mariadbSetting{
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
			service, env)
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
func mariadbSettings(env, service string, vars map[string]string, settings []mariadbSetting) error {
	for _, s := range settings {
		v, err := envSetting(env, service, vars, s.names...)
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
func postgresTarget(env, service, dataDir string, vars map[string]string) (Target, error) {
	var user, password, database string
	for _, s := range []struct {
		dst  *string
		name string
	}{{&user, "POSTGRES_USER"}, {&password, "POSTGRES_PASSWORD"}, {&database, "POSTGRES_DB"}} {
		v, err := envSetting(env, service, vars, s.name)
		if err != nil {
			return Target{PGData: cmp.Or(vars["PGDATA"], dataDir)}, err
		}
		*s.dst = v
	}
	user = cmp.Or(user, "postgres")
	return Target{PGData: cmp.Or(vars["PGDATA"], dataDir), User: user, Password: password,
		Database: cmp.Or(database, user), AuthMethod: vars["POSTGRES_HOST_AUTH_METHOD"]}, nil
}

// envSetting is a database service's setting as the image's entrypoint
// reads it: the first of names that is set, from the variable itself or
// from the file its NAME_FILE form names. Such a file lives inside the
// container (a compose secret, a bind mount, the image), where Berth,
// which makes a clone's accounts before its server starts, cannot read
// it: that is an error saying what to set instead, as is a variable set
// together with its _FILE form (the entrypoint refuses to start then).
func envSetting(env, service string, vars map[string]string, names ...string) (string, error) {
	for _, n := range names {
		f := n + "_FILE"
		switch {
		case vars[n] != "" && vars[f] != "":
			return "", fmt.Errorf("database %s of %s: both %s and %s are set in the service's environment, and the image's entrypoint refuses to start with both: keep one (%s, for a clone)",
				service, env, n, f, n)
		case vars[n] != "":
			return vars[n], nil
		case vars[f] != "":
			return "", fmt.Errorf("database %s of %s: %s names a file inside the container (%s), which Berth cannot read (it makes a clone's accounts before the server starts, and the file is none of the service's secrets or configs): put the value in a Compose secret mounted there, or set %s in the service's environment instead (from your environment with ${VAR}, or an env_file kept out of Git)",
				service, env, f, vars[f], n)
		}
	}
	return "", nil
}
