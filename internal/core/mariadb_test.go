package core

import (
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
		want dbclone.Target // Engine, RootPassword, User, Password, Database
		err  string
	}{
		{"mariadb", map[string]string{"MARIADB_ROOT_PASSWORD": "r", "MARIADB_USER": "u", "MARIADB_PASSWORD": "p", "MARIADB_DATABASE": "d"},
			dbclone.Target{RootPassword: "r", User: "u", Password: "p", Database: "d"}, ""},
		{"mysql-names", map[string]string{"MYSQL_ROOT_PASSWORD": "r", "MYSQL_DATABASE": "d"},
			dbclone.Target{RootPassword: "r", Database: "d"}, ""},
		{"mariadb-first", map[string]string{"MARIADB_ROOT_PASSWORD": "a", "MYSQL_ROOT_PASSWORD": "b"},
			dbclone.Target{RootPassword: "a"}, ""},
		{"empty-root-allowed", map[string]string{"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "1"}, dbclone.Target{}, ""},
		{"random-root", map[string]string{"MARIADB_RANDOM_ROOT_PASSWORD": "1"}, dbclone.Target{}, "set MARIADB_ROOT_PASSWORD"},
		{"nothing", map[string]string{}, dbclone.Target{}, "set MARIADB_ROOT_PASSWORD"},
		{"file", map[string]string{"MARIADB_ROOT_PASSWORD_FILE": "/run/secrets/root"}, dbclone.Target{}, "MARIADB_ROOT_PASSWORD_FILE is not supported"},
		{"user-file", map[string]string{"MARIADB_ROOT_PASSWORD": "r", "MYSQL_PASSWORD_FILE": "/run/secrets/pw"}, dbclone.Target{}, "MYSQL_PASSWORD_FILE is not supported"},
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
