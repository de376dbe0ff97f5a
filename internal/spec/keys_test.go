package spec

import (
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/schema"
)

// TestComposeKeysDocumented keeps the Compose key tables of
// docs/definitions.md equal to the Compose schema Berth loads with (every
// key listed, none made up) and to what the loader does with each key:
// supported keys are accepted silently, ignored ones with a warning,
// refused ones are errors.
func TestComposeKeysDocumented(t *testing.T) {
	var sch struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Defs       map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal([]byte(schema.Schema), &sch); err != nil {
		t.Fatal(err)
	}
	props := func(defs ...string) []string {
		var out []string
		for _, d := range defs {
			out = append(out, slices.Collect(maps.Keys(sch.Defs[d].Properties))...)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	var build struct {
		OneOf []struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"oneOf"`
	}
	if err := json.Unmarshal(sch.Defs["workload_spec"].Properties["build"], &build); err != nil {
		t.Fatal(err)
	}
	var buildKeys []string
	for _, o := range build.OneOf {
		buildKeys = append(buildKeys, slices.Collect(maps.Keys(o.Properties))...)
	}
	slices.Sort(buildKeys)

	service := composeSpec.fields["services"].values
	groups := []struct {
		heading string
		schema  []string
		spec    *keySpec
	}{
		{"Services", props("service", "container_spec", "workload_spec"), service},
		{"build", buildKeys, service.fields["build"]},
		{"deploy", props("deployment"), service.fields["deploy"]},
		{"Top level", slices.Sorted(maps.Keys(sch.Properties)), composeSpec},
		{"networks", props("network"), composeSpec.fields["networks"].values},
		{"volumes", props("volume"), composeSpec.fields["volumes"].values},
		{"secrets", props("secret"), composeSpec.fields["secrets"].values},
		{"configs", props("config"), composeSpec.fields["configs"].values},
	}
	doc, err := os.ReadFile("../../docs/definitions.md")
	if err != nil {
		t.Fatal(err)
	}
	tables := keyTables(string(doc))
	for _, g := range groups {
		rows, ok := tables[g.heading]
		if !ok {
			t.Errorf("docs/definitions.md has no table under ### %s", g.heading)
			continue
		}
		documented := slices.Sorted(maps.Keys(rows))
		if !slices.Equal(documented, g.schema) {
			t.Errorf("### %s lists %v;\nthe Compose schema has %v", g.heading, documented, g.schema)
		}
		for _, key := range documented {
			sub, accepted := g.spec.fields[key]
			want := "refused"
			if accepted {
				want = "supported"
				if sub.note != "" {
					want = "ignored"
				}
			}
			if rows[key] != want {
				t.Errorf("### %s: %s is documented %s, and the loader has it %s", g.heading, key, rows[key], want)
			}
		}
	}
}

var keyRow = regexp.MustCompile("^\\| `([a-z_0-9]+)` \\| (supported|ignored|refused) \\|")

// keyTables reads the tables under each ### heading of the Compose keys
// section: key → status.
func keyTables(doc string) map[string]map[string]string {
	out := map[string]map[string]string{}
	_, section, _ := strings.Cut(doc, "## Compose keys")
	section, _, _ = strings.Cut(section, "\n## ")
	heading := ""
	for _, line := range strings.Split(section, "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			heading = strings.TrimSpace(h)
			out[heading] = map[string]string{}
			continue
		}
		if m := keyRow.FindStringSubmatch(line); m != nil && heading != "" {
			out[heading][m[1]] = m[2]
		}
	}
	return out
}
