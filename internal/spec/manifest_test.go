package spec

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const fullManifest = `name: shop                 # required
description: A small shop  # optional
compose: [compose.yaml]
profiles: [debug]
databases:
  - service: db
    engine: postgres
health:
  timeout: 2m
drift:
  policy: warn
  services: {api: {policy: heal}}
  ignore: [{service: api, path: /environment/TZ}]
`

func TestReadManifest(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"berth.yaml": fullManifest, "compose.yaml": "services: {}\n"})
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Manifest{
		Name:        "shop",
		Description: "A small shop",
		Compose:     ComposeSettings{Files: []string{"compose.yaml"}},
		Profiles:    []string{"debug"},
		Databases:   []ManifestDatabase{{Service: "db", Engine: "postgres"}},
		Health:      &HealthSettings{Timeout: 2 * time.Minute},
		Drift: &DriftSettings{
			Policy:   "warn",
			Services: map[string]DriftServiceSettings{"api": {Policy: "heal"}},
			Ignore:   []DriftIgnoreRule{{Service: "api", Path: "/environment/TZ"}},
		},
		Path:         filepath.Join(dir, "berth.yaml"),
		Dir:          dir,
		ComposeFiles: []string{filepath.Join(dir, "compose.yaml")},
	}
	m.lines = nil
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got  %+v\nwant %+v", m, want)
	}

	// the file itself can be named too
	if m2, err := ReadManifest(filepath.Join(dir, "berth.yaml")); err != nil || m2.Name != "shop" {
		t.Errorf("reading the file: %v", err)
	}
}

func TestManifestLines(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"berth.yaml": fullManifest, "compose.yaml": "services: {}\n"})
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for field, line := range map[string]int{
		"name": 1, "compose[0]": 3, "databases[0]": 6, "databases[0].engine": 7, "health.timeout": 9,
		"drift.services.api.policy": 12, "drift.ignore[0].path": 13, "drift.ignore[0].nothing": 13, "nowhere": 0,
	} {
		if got := m.Line(field); got != line {
			t.Errorf("Line(%q) = %d, want %d", field, got, line)
		}
	}
}

func TestManifestComposeDefaults(t *testing.T) {
	cases := []struct {
		files   []string
		compose string // the compose key, if any
		want    []string
	}{
		{[]string{"compose.yaml", "docker-compose.yml"}, "", []string{"compose.yaml"}},
		{[]string{"compose.yml", "docker-compose.yaml"}, "", []string{"compose.yml"}},
		// docker compose's order: docker-compose.yml before .yaml
		{[]string{"docker-compose.yml", "docker-compose.yaml"}, "", []string{"docker-compose.yml"}},
		{[]string{"docker-compose.yaml"}, "", []string{"docker-compose.yaml"}},
		// and the first override file after the main one
		{[]string{"docker-compose.yml", "docker-compose.override.yml"}, "", []string{"docker-compose.yml", "docker-compose.override.yml"}},
		{[]string{"compose.yaml", "compose.override.yaml", "docker-compose.override.yml"}, "", []string{"compose.yaml", "compose.override.yaml"}},
		{[]string{"compose.yaml", "compose.override.yml", "compose.override.yaml"}, "", []string{"compose.yaml", "compose.override.yml"}},
		// an override file alone is not a definition's Compose file; named files take no override
		{[]string{"base.yaml", "compose.override.yaml"}, "compose: base.yaml\n", []string{"base.yaml"}},
		{[]string{"base.yaml", "dev.yaml"}, "compose:\n  files: [base.yaml, dev.yaml]\n  unsupported: warn\n", []string{"base.yaml", "dev.yaml"}},
		{[]string{"base.yaml", "dev.yaml"}, "compose: [base.yaml, dev.yaml]\n", []string{"base.yaml", "dev.yaml"}},
		{[]string{"one.yaml"}, "compose: one.yaml\n", []string{"one.yaml"}},
	}
	for _, c := range cases {
		dir := t.TempDir()
		files := map[string]string{"berth.yaml": "name: d\n" + c.compose}
		for _, f := range c.files {
			files[f] = "services: {}\n"
		}
		writeFiles(t, dir, files)
		m, err := ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range m.ComposeFiles {
			got = append(got, filepath.Base(f))
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("files %v compose %q: got %v, want %v", c.files, c.compose, got, c.want)
		}
	}
}

func TestManifestErrors(t *testing.T) {
	cases := []struct {
		text  string
		line  int
		field string
		msg   string
	}{
		{"name: a\nnmae: b\n", 2, "nmae", `unknown key "nmae" in berth.yaml (did you mean "name"?)`},
		{"name: a\nname: b\n", 2, "name", "duplicate key (first at line 1)"},
		{"name: a\ndatabases:\n  - servce: db\n    engine: postgres\n", 3, "databases[0].servce", `unknown key "servce" in databases[0] (did you mean "service"?)`},
		{"name: a\ndatabases:\n  - engine: postgres\n", 3, "databases[0].service", "required"},
		{"name: a\ndatabases:\n  - {service: db, engine: postgres}\n  - {service: db, engine: postgres}\n", 4, "databases[1].service", "already listed as databases[0]"},
		{"name: a\ndatabases: db\n", 2, "databases", "must be a list, not a string"},
		{"name: [a]\n", 1, "name", "must be a string, not a list"},
		{"name: -a\n", 1, "name", "invalid name"},
		{"name: a\nprofiles: [\"bad profile\"]\n", 2, "profiles[0]", "invalid profile name"},
		{"name: a\ncompose: []\n", 2, "compose", "list at least one Compose file"},
		{"name: a\ncompose:\n  files: []\n", 3, "compose.files", "list at least one Compose file"},
		{"name: a\ncompose:\n  unsupported: ignore\n", 3, "compose.unsupported", `unknown value "ignore"`},
		{"name: a\ncompose:\n  file: [a.yaml]\n", 3, "compose.file", `unknown key "file"`},
		{"name: a\nhealth:\n  timeout: -1s\n", 3, "health.timeout", "must be a positive duration"},
		{"name: a\nhealth: {timeout: [1]}\n", 2, "health.timeout", "must be a duration"},
		{"name: a\ndrift:\n  services:\n    api: {policy: hael}\n", 4, "drift.services.api.policy", `(did you mean "heal"?)`},
		{"name: a\ndrift:\n  ignore:\n    - service: api\n", 4, "drift.ignore[0].path", "required"},
		{"- a\n", 1, "", "must be a mapping, not a list"},
		{"", 1, "name", "the manifest is empty"},
		{"name: a\n  b: c\n", 2, "", "invalid YAML"},
	}
	for _, c := range cases {
		_, err := parseManifest("/defs/x/berth.yaml", []byte(c.text))
		if err == nil {
			t.Errorf("%q: no error", c.text)
			continue
		}
		e := errorList(t, err)[0]
		if e.Line != c.line || e.Field != c.field || !strings.Contains(e.Message, c.msg) {
			t.Errorf("%q:\n got  %d %q %q\n want %d %q %q", c.text, e.Line, e.Field, e.Message, c.line, c.field, c.msg)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"shop", "shop-pr42", "a", "0day", "my_env"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Shop", "-shop", "_shop", "shop.1", "shop pr", "shöp"} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDidYouMean(t *testing.T) {
	cases := map[string]string{
		"nmae":       `name`,
		"enviroment": `environment`,
		"postgress":  `postgres`,
		"xyz":        ``,
		"NAME":       `name`,
	}
	for word, want := range cases {
		got := didYouMean(word, []string{"name", "environment", "postgres", "networks"})
		if want == "" && got != "" || want != "" && got != ` (did you mean "`+want+`"?)` {
			t.Errorf("didYouMean(%q) = %q, want %q", word, got, want)
		}
	}
}
