package spec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/errdefs"
)

// TestDefinitionErrors loads each broken definition under testdata/errors
// and checks where its error points: file, line and field exactly, and a
// telling part of the message. testdata/errors.golden holds every message
// in full.
func TestDefinitionErrors(t *testing.T) {
	type want struct {
		file  string // relative to the case folder
		line  int
		field string
		msg   string // a substring of the message
	}
	cases := []struct {
		name string
		want []want
	}{
		// the manifest
		{"no-manifest", []want{{"", 0, "", "no berth.yaml (a definition folder needs one)"}}},
		{"manifest-unknown-key", []want{{"berth.yaml", 2, "descripton", `unknown key "descripton" in berth.yaml (did you mean "description"?)`}}},
		{"manifest-bad-name", []want{{"berth.yaml", 1, "name", `invalid name "My_Shop"`}}},
		{"manifest-no-name", []want{{"berth.yaml", 1, "name", "required"}}},
		{"manifest-syntax", []want{{"berth.yaml", 4, "", "invalid YAML: did not find expected '-' indicator"}}},
		{"manifest-db-undefined", []want{{"berth.yaml", 6, "databases[1].service", `service "dbx" is not defined in compose.yaml (did you mean "db"?)`}}},
		{"manifest-engine-mysql", []want{{"berth.yaml", 4, "databases[0].engine", `engine "mysql" is not supported yet`}}},
		{"manifest-engine-typo", []want{{"berth.yaml", 4, "databases[0].engine", `(did you mean "postgres"?)`}}},
		{"manifest-source-two", []want{{"berth.yaml", 7, "databases[0].source.url", "a database has one source, and seed is already given"}}},
		{"manifest-source-url-literal", []want{{"berth.yaml", 6, "databases[0].source.url", "must not be the URL itself"}}},
		{"manifest-seed-missing", []want{{"berth.yaml", 6, "databases[0].source.seed", `seed "db/seed.sql.gz" not found`}}},
		{"manifest-seed-outside", []want{{"berth.yaml", 6, "databases[0].source.seed", "is outside the definition folder"}}},
		{"manifest-db-volume", []want{{"berth.yaml", 5, "databases[0].volume", `service "db" mounts no named volume "dbdata" (did you mean "db-data"?)`}}},
		{"manifest-mariadb-seed-custom", []want{{"berth.yaml", 6, "databases[0].source.seed", `seed "seed.dump.gz" is a pg_dump custom-format archive: a mariadb database loads plain SQL`}}},
		{"manifest-mariadb-seed-dir", []want{{"berth.yaml", 6, "databases[0].source.seed", `seed "seed" is a pg_dump directory-format archive`}}},
		{"manifest-mariadb-no-volume", []want{{"berth.yaml", 5, "databases[0].source", `service "db" mounts no named volume at /var/lib/mysql`}}},
		{"manifest-db-no-volume", []want{{"berth.yaml", 5, "databases[0].source", `service "db" mounts no named volume at /var/lib/postgresql/data`}}},
		{"manifest-bad-timeout", []want{{"berth.yaml", 3, "health.timeout", `invalid duration "2 minutes"`}}},
		{"manifest-drift", []want{
			{"berth.yaml", 3, "drift.policy", `unknown policy "heel": use warn, heal or ignore (did you mean "heal"?)`},
			{"berth.yaml", 7, "drift.ignore[0].path", "must be a JSON pointer"},
		}},
		{"manifest-drift-service", []want{{"berth.yaml", 4, "drift.services.apx", `service "apx" is not defined in compose.yaml (did you mean "api"?)`}}},
		{"missing-compose", []want{{"berth.yaml", 4, "compose[1]", `Compose file "compose.local.yaml" not found`}}},
		{"no-default-compose", []want{{"berth.yaml", 1, "compose", "no Compose file: found none of compose.yaml"}}},

		// YAML syntax
		{"yaml-syntax", []want{{"compose.yaml", 4, "", "invalid YAML: did not find expected key"}}},
		{"yaml-tab", []want{{"compose.yaml", 3, "", "invalid YAML: found character that cannot start any token"}}},
		{"yaml-unclosed", []want{{"compose.yaml", 5, "", "invalid YAML: did not find expected ',' or ']'"}}},
		{"yaml-duplicate-key", []want{{"compose.yaml", 4, "", `mapping key "image" already defined at line 3`}}},
		{"not-a-mapping", []want{{"compose.yaml", 1, "", "a Compose file must be a mapping"}}},
		{"empty-compose", []want{{"compose.yaml", 0, "", "the Compose file is empty"}}},

		// the Compose schema
		{"unknown-service-key", []want{{"compose.yaml", 4, "services.api.enviroment", `unknown key "enviroment" in services.api (did you mean "environment"?)`}}},
		{"unknown-top-key", []want{{"compose.yaml", 4, "network", `unknown key "network" at the top level (did you mean "networks"?)`}}},
		{"anchor-unknown-key", []want{{"compose.yaml", 3, "services.api.restrat", `(did you mean "restart"?)`}}},
		{"wrong-type", []want{{"compose.yaml", 4, "services.api.environment", "must be a mapping"}}},
		{"wrong-enum", []want{{"compose.yaml", 8, "services.api.depends_on.db.condition", "value must be one of 'service_started'"}}},

		// references between services, networks, volumes
		{"depends-on-undefined", []want{{"compose.yaml", 8, "services.api.depends_on.dbx", `service "api" depends on undefined service "dbx" (did you mean "db"?)`}}},
		{"depends-on-undefined-override", []want{{"compose.override.yaml", 4, "services.api.depends_on.cache", `undefined service "cache"`}}},
		{"undefined-network", []want{{"compose.yaml", 6, "services.api.networks.frontt", `undefined network "frontt": declare it under the top-level networks: (did you mean "front"?)`}}},
		{"undefined-volume", []want{{"compose.yaml", 6, "services.db.volumes[1]", `undefined volume "db-dat": declare it under the top-level volumes: (did you mean "db-data"?)`}}},
		{"undefined-volume-long", []want{{"compose.yaml", 5, "services.db.volumes[0]", `undefined volume "dbdata"`}}},
		{"cycle", []want{{"compose.yaml", 4, "services.a.depends_on.b", "dependency cycle: a -> b -> a"}}},
		{"network-mode-conflict", []want{{"compose.yaml", 5, "services.api.network_mode", "mutually exclusive"}}},
		{"no-image", []want{{"compose.yaml", 2, "services.api", "needs an image or a build"}}},

		// files the Compose files name
		{"missing-env-file", []want{{"compose.yaml", 6, "services.api.env_file[1]", `env file "local.env" not found`}}},
		{"env-file-syntax", []want{{"api.env", 2, "", "key cannot contain a space"}}},
		{"dotenv-syntax", []want{{".env", 3, "", "key cannot contain a space"}}},
		{"build-context-missing", []want{{"compose.yaml", 4, "services.api.build.context", "build context"}}},
		{"dockerfile-missing", []want{{"compose.yaml", 5, "services.api.build.dockerfile", `Dockerfile "`}}},

		// interpolation
		{"interpolation-required", []want{{"compose.yaml", 6, "services.db.environment.POSTGRES_PASSWORD", "required variable BERTH_TEST_UNSET_PW is missing a value: set it in your local settings"}}},
		{"interpolation-list", []want{{"compose.yaml", 6, "services.api.command[1]", "required variable BERTH_TEST_UNSET_TOKEN is missing a value"}}},
		{"interpolation-format", []want{{"compose.yaml", 3, "services.api.image", `invalid interpolation format "x:${TAG"`}}},
		{"interpolation-cast", []want{{"compose.yaml", 5, "services.api.deploy.replicas", `parsing "many"`}}},

		// values
		{"invalid-duration", []want{{"compose.yaml", 6, "services.api.healthcheck.interval", `invalid duration "5 seconds"`}}},
		{"invalid-stop-grace", []want{{"compose.yaml", 4, "services.api.stop_grace_period", `invalid duration "soon"`}}},
		{"restart", []want{{"compose.yaml", 4, "services.api.restart", `unknown restart policy "sometimes"`}}},
		{"bad-port", []want{{"compose.yaml", 6, "services.api.ports[1]", "Invalid hostPort: abc"}}},
		{"bad-volume-spec", []want{{"compose.yaml", 5, "services.api.volumes[0]", `invalid volume "./a::/b"`}}},
		{"healthcheck-test", []want{{"compose.yaml", 5, "services.api.healthcheck.test[0]", `not "RUN"`}}},
		{"container-name-replicas", []want{{"compose.yaml", 4, "services.api.container_name", "cannot be used with several replicas"}}},
		{"scale-negative", []want{{"compose.yaml", 4, "services.api.scale", "must be greater than or equal to 0"}}},
	}

	dirs, err := filepath.Glob("testdata/errors/*")
	if err != nil {
		t.Fatal(err)
	}
	tested := map[string]bool{}
	var all strings.Builder
	for _, c := range cases {
		tested[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "errors", c.name)
			_, err := LoadDefinition(context.Background(), dir, LoadOptions{})
			if err == nil {
				t.Fatal("loaded without error")
			}
			fmt.Fprintf(&all, "# %s\n%v\n\n", c.name, err)
			got := errorList(t, err)
			if len(got) != len(c.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(c.want), err)
			}
			for i, w := range c.want {
				g := got[i]
				wantFile := filepath.Join(dir, w.file)
				if g.File != wantFile || g.Line != w.line || g.Field != w.field {
					t.Errorf("error %d at %s:%d field %q, want %s:%d field %q\n%v", i, g.File, g.Line, g.Field, wantFile, w.line, w.field, g)
				}
				if !strings.Contains(g.Message, w.msg) {
					t.Errorf("error %d message %q does not contain %q", i, g.Message, w.msg)
				}
			}
		})
	}
	for _, d := range dirs {
		if !tested[filepath.Base(d)] {
			t.Errorf("fixture %s has no test case", d)
		}
	}
	if !t.Failed() {
		golden(t, "errors.golden", []byte(all.String()))
	}
}

// TestDefinitionErrorsKeepCause checks that mapped errors still wrap
// compose-go's error, so callers can test its kind.
func TestDefinitionErrorsKeepCause(t *testing.T) {
	_, err := LoadDefinition(context.Background(), "testdata/errors/depends-on-undefined", LoadOptions{})
	if !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("errors.Is(err, errdefs.ErrInvalid) = false for %v", err)
	}
	_, err = LoadDefinition(context.Background(), "testdata/errors/no-manifest", LoadOptions{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("errors.Is(err, os.ErrNotExist) = false for %v", err)
	}
}

func TestMissingDefinitionFolder(t *testing.T) {
	_, err := LoadDefinition(context.Background(), "testdata/errors/nope", LoadOptions{})
	if err == nil || err.Error() != "testdata/errors/nope: no such definition folder" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

// TestErrorsOutsideCurrentDir checks that files outside the current
// directory are shown absolute.
func TestErrorsOutsideCurrentDir(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"berth.yaml":   "name: t\n",
		"compose.yaml": "services:\n  api:\n    image: x\n    depends_on: [db]\n",
	})
	_, err := LoadDefinition(context.Background(), dir, LoadOptions{})
	got := errorList(t, err)[0]
	if want := filepath.Join(dir, "compose.yaml"); got.File != want || got.Line != 4 {
		t.Errorf("got %s:%d, want %s:4", got.File, got.Line, want)
	}
}

// TestSeveralInterpolationErrors checks that every failing variable is
// reported, each at its own line.
func TestSeveralInterpolationErrors(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"berth.yaml": "name: t\n",
		"compose.yaml": "services:\n  api:\n    image: ${BERTH_TEST_UNSET_IMAGE:?}\n" +
			"    environment:\n      A: ${BERTH_TEST_UNSET_A:?need A}\n  db:\n    image: x\n    command: [run, \"${BERTH_TEST_UNSET_B:?}\"]\n",
	})
	_, err := LoadDefinition(context.Background(), dir, LoadOptions{})
	var got []string
	for _, e := range errorList(t, err) {
		got = append(got, fmt.Sprintf("%d %s", e.Line, e.Field))
	}
	sort.Strings(got)
	want := []string{"3 services.api.image", "5 services.api.environment.A", "8 services.db.command[1]"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
