package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v4"
)

const schemaPath = "../../docs/berth.schema.json"

func readSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("docs/berth.schema.json is not valid JSON: %v", err)
	}
	return s
}

// TestSchemaMatchesManifest keeps docs/berth.schema.json and the Manifest
// struct from drifting apart: the same keys at every level, each with a
// description.
func TestSchemaMatchesManifest(t *testing.T) {
	s := readSchema(t)
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v, want draft 2020-12", s["$schema"])
	}
	defs, _ := s["$defs"].(map[string]any)
	compareSchema(t, s, defs, reflect.TypeOf(Manifest{}), "")
}

func compareSchema(t *testing.T, node, defs map[string]any, typ reflect.Type, field string) {
	t.Helper()
	node = resolveRef(node, defs)
	if _, ok := node["description"].(string); !ok && field != "" {
		t.Errorf("%s: no description in the schema", field)
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == durationType {
		return
	}
	switch typ.Kind() {
	case reflect.Struct:
		node = pickBranch(node, defs, "object")
		props, _ := node["properties"].(map[string]any)
		fields := yamlFields(typ)
		var inSchema, inStruct []string
		for k := range props {
			inSchema = append(inSchema, k)
		}
		for k := range fields {
			inStruct = append(inStruct, k)
		}
		sort.Strings(inSchema)
		sort.Strings(inStruct)
		if strings.Join(inSchema, ",") != strings.Join(inStruct, ",") {
			t.Errorf("%s: schema properties %v, %s yaml keys %v", orRoot(field), inSchema, typ.Name(), inStruct)
		}
		if node["additionalProperties"] != false {
			t.Errorf("%s: the schema should reject unknown keys, as ReadManifest does", orRoot(field))
		}
		for name, idx := range fields {
			sub, ok := props[name].(map[string]any)
			if !ok {
				continue
			}
			compareSchema(t, sub, defs, typ.Field(idx).Type, joinField(field, name))
		}
	case reflect.Slice:
		arr := pickBranch(node, defs, "array")
		items, _ := arr["items"].(map[string]any)
		if items == nil {
			t.Errorf("%s: no items in the schema", field)
			return
		}
		compareSchema(t, items, defs, typ.Elem(), field+"[]")
	case reflect.Map:
		ap, _ := node["additionalProperties"].(map[string]any)
		if ap == nil {
			t.Errorf("%s: no additionalProperties schema for the map values", field)
			return
		}
		compareSchema(t, ap, defs, typ.Elem(), field+".*")
	}
}

func resolveRef(node, defs map[string]any) map[string]any {
	ref, ok := node["$ref"].(string)
	if !ok {
		return node
	}
	target, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
	merged := map[string]any{}
	for k, v := range target {
		merged[k] = v
	}
	for k, v := range node {
		merged[k] = v
	}
	return merged
}

// pickBranch returns the oneOf branch of the given type, or node itself.
func pickBranch(node, defs map[string]any, typ string) map[string]any {
	if node["type"] == typ {
		return node
	}
	branches, _ := node["oneOf"].([]any)
	for _, b := range branches {
		if m, ok := b.(map[string]any); ok && resolveRef(m, defs)["type"] == typ {
			return resolveRef(m, defs)
		}
	}
	return node
}

func orRoot(field string) string {
	if field == "" {
		return "(root)"
	}
	return field
}

// TestSchemaValidates compiles the schema and checks it against manifests
// ReadManifest accepts and ones it rejects.
func TestSchemaValidates(t *testing.T) {
	c := jsonschema.NewCompiler()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("berth.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("berth.schema.json")
	if err != nil {
		t.Fatalf("the schema does not compile: %v", err)
	}
	validate := func(text string) error {
		var v any
		if err := yaml.Unmarshal([]byte(text), &v); err != nil {
			t.Fatal(err)
		}
		// through JSON, as an editor would see it
		data, _ := json.Marshal(v)
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(data)))
		if err != nil {
			t.Fatal(err)
		}
		return sch.Validate(inst)
	}

	good := []string{fullManifest, "name: a\n", "name: a\ncompose: one.yaml\nprofiles: debug\n",
		"name: a\ndatabases: [{service: db, engine: postgres, volume: data, source: {seed: db/seed.sql.gz, sha256: " + strings.Repeat("ab", 32) + "}}]\n",
		"name: a\ndatabases: [{service: db, engine: postgres, source: {url: SHOP_URL}}]\n",
		"name: a\ndatabases: [{service: db, engine: postgres, source: {env: shop}}]\n",
		"name: a\ndatabases: [{service: db, engine: postgres, source: {snapshot: before-migration}}]\n",
		"name: a\ndatabases: [{service: db, engine: mariadb, source: {seed: db/seed.sql.zst}}]\n",
	}
	for _, dir := range []string{"testdata/shop", "../../environments/shop"} {
		if data, err := os.ReadFile(filepath.Join(dir, ManifestFile)); err == nil {
			good = append(good, string(data))
		}
	}
	for _, text := range good {
		if err := validate(text); err != nil {
			t.Errorf("schema rejects a valid manifest:\n%s\n%v", text, err)
		}
		if _, err := parseManifest("berth.yaml", []byte(text)); err != nil {
			t.Errorf("ReadManifest rejects a manifest the schema accepts:\n%s\n%v", text, err)
		}
	}
	bad := []string{
		"description: no name\n",
		"name: a\nnmae: b\n",
		"name: Shop\n",
		"name: a\ndatabases: [{service: db, engine: mysql}]\n",
		"name: a\ndatabases: [{service: db}]\n",
		"name: a\ndatabases: [{service: db, engine: postgres, source: {}}]\n",
		"name: a\ndatabases: [{service: db, engine: postgres, source: {seed: a.sql, url: X}}]\n",
		"name: a\ndatabases: [{service: db, engine: postgres, source: {url: 'postgres://u:p@h/db'}}]\n",
		"name: a\ndatabases: [{service: db, engine: postgres, source: {url: X, sha256: " + strings.Repeat("ab", 32) + "}}]\n",
		"name: a\ndatabases: [{service: db, engine: postgres, source: {seed: a.sql, sha256: abc}}]\n",
		"name: a\ndatabases: [{service: db, engine: postgres, source: {env: Shop}}]\n",
		"name: a\ndatabases: [{service: db, engine: postgres, source: {dump: a.sql}}]\n",
		"name: a\ndatabases: [{service: db, engine: postgres, volume: ''}]\n",
		"name: a\nhealth: {timeout: 2 minutes}\n",
		"name: a\ndrift: {policy: sometimes}\n",
		"name: a\ndrift: {ignore: [{path: environment/TZ}]}\n",
		"name: a\ndrift: {services: {api: {policy: heal, extra: 1}}}\n",
	}
	for _, text := range bad {
		if err := validate(text); err == nil {
			t.Errorf("schema accepts an invalid manifest:\n%s", text)
		}
		if _, err := parseManifest("berth.yaml", []byte(text)); err == nil {
			t.Errorf("ReadManifest accepts a manifest the schema rejects:\n%s", text)
		}
	}
}
