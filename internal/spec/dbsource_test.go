package spec

import (
	"strings"
	"testing"
)

func TestParseDatabaseSource(t *testing.T) {
	for text, want := range map[string]DatabaseSource{
		"seed:db/seed.dump":   {Seed: "db/seed.dump"},
		"seed:/abs/x.sql.gz":  {Seed: "/abs/x.sql.gz"},
		"url:STAGING_DB":      {URL: "STAGING_DB"},
		"env:base":            {Env: "base"},
		"snapshot:before-fix": {Snapshot: "before-fix"},
		"seed:a:b":            {Seed: "a:b"},
	} {
		got, err := ParseDatabaseSource(text)
		if err != nil || got == nil || *got != want {
			t.Errorf("%q: %+v, %v; want %+v", text, got, err, want)
		}
	}
	if got, err := ParseDatabaseSource(""); got != nil || err != nil {
		t.Errorf(`"": %+v, %v; want nil (the manifest's)`, got, err)
	}
	for _, bad := range []string{"seed:", "seed", "ftp:x", ":x", "url"} {
		if got, err := ParseDatabaseSource(bad); err == nil || !strings.Contains(err.Error(), "use seed:PATH, url:VAR, env:NAME or snapshot:NAME") {
			t.Errorf("%q: %+v, %v; want an error saying the forms", bad, got, err)
		}
	}
}
