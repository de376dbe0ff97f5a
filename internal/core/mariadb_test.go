package core

import (
	"cmp"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// TestMariaDBTarget: a MariaDB service's accounts come from its MARIADB_*
// (else MYSQL_*) variables; what Berth cannot know is refused clearly.
func TestMariaDBTarget(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want dbclone.Target // Engine, RootPassword, RandomRoot, RootHost, User, Password, Database
		err  string
	}{
		{"mariadb", map[string]string{"MARIADB_ROOT_PASSWORD": "r", "MARIADB_USER": "u", "MARIADB_PASSWORD": "p", "MARIADB_DATABASE": "d"},
			dbclone.Target{RootPassword: "r", User: "u", Password: "p", Database: "d"}, ""},
		{"mysql-names", map[string]string{"MYSQL_ROOT_PASSWORD": "r", "MYSQL_DATABASE": "d"},
			dbclone.Target{RootPassword: "r", Database: "d"}, ""},
		{"mariadb-first", map[string]string{"MARIADB_ROOT_PASSWORD": "a", "MYSQL_ROOT_PASSWORD": "b"},
			dbclone.Target{RootPassword: "a"}, ""},
		{"empty-root-allowed", map[string]string{"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "1"}, dbclone.Target{}, ""},
		{"empty-root-allowed-mysql", map[string]string{"MYSQL_ALLOW_EMPTY_PASSWORD": "yes"}, dbclone.Target{}, ""},
		{"random-root", map[string]string{"MARIADB_RANDOM_ROOT_PASSWORD": "1", "MARIADB_USER": "u", "MARIADB_PASSWORD": "p", "MARIADB_DATABASE": "d"},
			dbclone.Target{RandomRoot: true, User: "u", Password: "p", Database: "d"}, ""},
		{"random-root-mysql", map[string]string{"MYSQL_RANDOM_ROOT_PASSWORD": "yes"}, dbclone.Target{RandomRoot: true}, ""},
		{"random-wins-over-empty", map[string]string{"MARIADB_RANDOM_ROOT_PASSWORD": "1", "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "1"}, dbclone.Target{RandomRoot: true}, ""},
		{"root-host", map[string]string{"MARIADB_RANDOM_ROOT_PASSWORD": "1", "MARIADB_ROOT_HOST": "localhost"}, dbclone.Target{RandomRoot: true, RootHost: "localhost"}, ""},
		{"root-host-mysql", map[string]string{"MARIADB_ROOT_PASSWORD": "r", "MYSQL_ROOT_HOST": "10.%"}, dbclone.Target{RootPassword: "r", RootHost: "10.%"}, ""},
		{"random-and-given", map[string]string{"MARIADB_RANDOM_ROOT_PASSWORD": "1", "MYSQL_ROOT_PASSWORD": "r"}, dbclone.Target{},
			"both MYSQL_ROOT_PASSWORD and a random root password"},
		{"random-and-given-file", map[string]string{"MYSQL_RANDOM_ROOT_PASSWORD": "1", "MARIADB_ROOT_PASSWORD_FILE": "/run/secrets/root"}, dbclone.Target{},
			"both MARIADB_ROOT_PASSWORD_FILE and a random root password"},
		{"nothing", map[string]string{}, dbclone.Target{}, "set MARIADB_ROOT_PASSWORD, MARIADB_RANDOM_ROOT_PASSWORD or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD"},
		{"file", map[string]string{"MARIADB_ROOT_PASSWORD_FILE": "/run/secrets/root"}, dbclone.Target{},
			"MARIADB_ROOT_PASSWORD_FILE names a file inside the container (/run/secrets/root), which Berth cannot read"},
		{"user-file", map[string]string{"MARIADB_ROOT_PASSWORD": "r", "MYSQL_PASSWORD_FILE": "/run/secrets/pw"}, dbclone.Target{},
			"MYSQL_PASSWORD_FILE names a file inside the container (/run/secrets/pw), which Berth cannot read (it makes a clone's accounts before the server starts, and the file is none of the service's secrets or configs): put the value in a Compose secret mounted there, or set MYSQL_PASSWORD in the service's environment instead"},
		{"random-file", map[string]string{"MARIADB_RANDOM_ROOT_PASSWORD_FILE": "/run/secrets/r"}, dbclone.Target{},
			"MARIADB_RANDOM_ROOT_PASSWORD_FILE names a file inside the container"},
		{"root-host-file", map[string]string{"MARIADB_ROOT_PASSWORD": "r", "MARIADB_ROOT_HOST_FILE": "/h"}, dbclone.Target{},
			"set MARIADB_ROOT_HOST in the service's environment instead"},
		{"mariadb-file-before-mysql", map[string]string{"MARIADB_ROOT_PASSWORD_FILE": "/r", "MYSQL_ROOT_PASSWORD": "r"}, dbclone.Target{},
			"MARIADB_ROOT_PASSWORD_FILE names a file"},
		{"mysql-file-after-mariadb", map[string]string{"MARIADB_ROOT_PASSWORD": "r", "MYSQL_ROOT_PASSWORD_FILE": "/r"},
			dbclone.Target{RootPassword: "r"}, ""},
		{"value-and-file", map[string]string{"MARIADB_ROOT_PASSWORD": "r", "MARIADB_USER": "u", "MARIADB_USER_FILE": "/u"}, dbclone.Target{},
			"both MARIADB_USER and MARIADB_USER_FILE are set in the service's environment, and the image's entrypoint refuses to start with both"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &spec.Project{Name: "e", Services: []spec.Service{{Name: "db", Image: "mariadb:10.11", Environment: c.env}}}
			db := &spec.Database{Service: "db", Engine: spec.EngineMariaDB, Volume: "e_data", DataDir: spec.DefaultMariaDBData}
			got, err := target(p, db, reconcile.Observed{})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one saying %q", err, c.err)
				}
				if !strings.Contains(err.Error(), "database db of e: ") {
					t.Errorf("error %v does not name the database and environment", err)
				}
				// a copy of the environment's own data (snapshot,
				// restore) needs no accounts: it has none then
				got, err := dataTarget(p, db, reconcile.Observed{})
				want := dbclone.Target{Engine: dbclone.EngineMariaDB, Env: "e", Service: "db", Image: "mariadb:10.11", Volume: "e_data", MountDir: "/var/lib/mysql"}
				if err != nil || got != want {
					t.Errorf("dataTarget %+v, %v\nwant %+v", got, err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			want.Engine, want.Env, want.Service, want.Image, want.Volume, want.MountDir = dbclone.EngineMariaDB, "e", "db", "mariadb:10.11", "e_data", "/var/lib/mysql"
			if got != want {
				t.Errorf("target %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestPostgresTarget: a PostgreSQL service's accounts come from its
// POSTGRES_* variables; a *_FILE form is refused for clones (Berth would
// otherwise make the clone without a password, letting every connection
// in) but not for copies of the environment's own data.
func TestPostgresTarget(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want dbclone.Target // PGData, User, Password, Database, AuthMethod
		err  string
	}{
		{"given", map[string]string{"POSTGRES_USER": "u", "POSTGRES_PASSWORD": "p", "POSTGRES_DB": "d"},
			dbclone.Target{User: "u", Password: "p", Database: "d"}, ""},
		{"defaults", map[string]string{"POSTGRES_PASSWORD": "p"}, dbclone.Target{User: "postgres", Password: "p", Database: "postgres"}, ""},
		{"trust", map[string]string{"POSTGRES_HOST_AUTH_METHOD": "trust", "PGDATA": "/var/lib/postgresql/data/pg"},
			dbclone.Target{User: "postgres", Database: "postgres", AuthMethod: "trust", PGData: "/var/lib/postgresql/data/pg"}, ""},
		{"password-file", map[string]string{"POSTGRES_PASSWORD_FILE": "/run/secrets/pg"}, dbclone.Target{},
			"database db of e: POSTGRES_PASSWORD_FILE names a file inside the container (/run/secrets/pg), which Berth cannot read (it makes a clone's accounts before the server starts, and the file is none of the service's secrets or configs): put the value in a Compose secret mounted there, or set POSTGRES_PASSWORD in the service's environment instead"},
		{"user-file", map[string]string{"POSTGRES_PASSWORD": "p", "POSTGRES_USER_FILE": "/u"}, dbclone.Target{}, "set POSTGRES_USER in the service's environment instead"},
		{"db-file", map[string]string{"POSTGRES_PASSWORD": "p", "POSTGRES_DB_FILE": "/d"}, dbclone.Target{}, "set POSTGRES_DB in the service's environment instead"},
		{"value-and-file", map[string]string{"POSTGRES_PASSWORD": "p", "POSTGRES_PASSWORD_FILE": "/p"}, dbclone.Target{},
			"both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &spec.Project{Name: "e", Services: []spec.Service{{Name: "db", Image: "postgres:15", Environment: c.env}}}
			db := &spec.Database{Service: "db", Engine: spec.EnginePostgres, Volume: "e_pg", DataDir: "/var/lib/postgresql/data"}
			base := dbclone.Target{Env: "e", Service: "db", Image: "postgres:15", Volume: "e_pg", MountDir: "/var/lib/postgresql/data",
				PGData: cmp.Or(c.env["PGDATA"], "/var/lib/postgresql/data")}
			got, err := target(p, db, reconcile.Observed{})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one saying %q", err, c.err)
				}
				if got, err := dataTarget(p, db, reconcile.Observed{}); err != nil || got != base {
					t.Errorf("dataTarget %+v, %v\nwant %+v", got, err, base)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			want.Env, want.Service, want.Image, want.Volume, want.MountDir, want.PGData = base.Env, base.Service, base.Image, base.Volume, base.MountDir, base.PGData
			if got != want {
				t.Errorf("target %+v\nwant %+v", got, want)
			}
			if dt, err := dataTarget(p, db, reconcile.Observed{}); err != nil || dt != got {
				t.Errorf("dataTarget %+v, %v, want the target", dt, err)
			}
		})
	}
}

// TestAccountsFromSecrets: a *_FILE variable naming one of the service's
// secrets or configs is read from it (trailing newline dropped, as the
// entrypoints read it); one naming another file is still refused.
func TestAccountsFromSecrets(t *testing.T) {
	p := &spec.Project{Name: "e",
		Secrets: []spec.FileObject{{Key: "root", Content: []byte("s3cret\n")}},
		Configs: []spec.FileObject{{Key: "user", Content: []byte("app")}},
		Services: []spec.Service{{Name: "db", Image: "mariadb:10.11",
			Environment: map[string]string{"MARIADB_ROOT_PASSWORD_FILE": "/run/secrets/root", "MARIADB_USER_FILE": "/etc/db/user", "MARIADB_PASSWORD": "p"},
			Secrets:     []spec.FileMount{{Source: "root", Target: "/run/secrets/root", Mode: 0o400}},
			Configs:     []spec.FileMount{{Source: "user", Target: "/etc/db/user", Mode: 0o444}}}}}
	db := &spec.Database{Service: "db", Engine: spec.EngineMariaDB, Volume: "e_data", DataDir: spec.DefaultMariaDBData}
	got, err := target(p, db, reconcile.Observed{})
	if err != nil {
		t.Fatal(err)
	}
	if got.RootPassword != "s3cret" || got.User != "app" || got.Password != "p" {
		t.Errorf("target %+v: want the root password from the secret and the user from the config", got)
	}
	if p.Services[0].Environment["MARIADB_ROOT_PASSWORD_FILE"] == "" {
		t.Error("the service's own environment was changed")
	}
	p.Services[0].Environment["MARIADB_ROOT_PASSWORD_FILE"] = "/run/secrets/other"
	if _, err := target(p, db, reconcile.Observed{}); err == nil || !strings.Contains(err.Error(), "none of the service's secrets or configs") {
		t.Errorf("a file that is no secret: %v", err)
	}
}
