package spec

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestListDefinitions(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"shop/berth.yaml":    "name: shop\ndescription: The shop\n",
		"shop/compose.yaml":  "services: {}\n",
		"blog/berth.yaml":    "name: blog\ndatabses: []\n",
		"blog/compose.yaml":  "services: {}\n",
		"wiki/compose.yaml":  "services: {}\n",
		"notes/README.md":    "not a definition\n",
		".hidden/berth.yaml": "name: hidden\n",
		"readme.md":          "a file\n",
		"api/berth.yaml":     "name: api\ncompose: [missing.yaml]\n",
	})
	defs, err := ListDefinitions(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range defs {
		line := d.Name + " " + d.Description
		if d.Err != nil {
			line += " ERR " + d.Err.Error()
		}
		if d.Dir != filepath.Join(root, d.Name) {
			t.Errorf("%s: dir %s", d.Name, d.Dir)
		}
		if (d.Manifest == nil) != (d.Err != nil) {
			t.Errorf("%s: manifest %v err %v", d.Name, d.Manifest, d.Err)
		}
		got = append(got, strings.ReplaceAll(line, root+string(filepath.Separator), "$ROOT/"))
	}
	want := []string{
		`api  ERR $ROOT/api/berth.yaml:2: compose[0]: Compose file "missing.yaml" not found in $ROOT/api`,
		`blog  ERR $ROOT/blog/berth.yaml:2: databses: unknown key "databses" in berth.yaml (did you mean "databases"?)`,
		`shop The shop`,
		`wiki  ERR $ROOT/wiki: no berth.yaml (a definition folder needs one)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	if _, err := ListDefinitions(filepath.Join(root, "nope")); err == nil {
		t.Error("a missing root should be an error")
	}
}

// TestListExampleDefinitions lists this repository's own definitions.
func TestListExampleDefinitions(t *testing.T) {
	defs, err := ListDefinitions(filepath.Join("..", "..", "environments"))
	if err != nil {
		t.Fatalf("the bundled environments folder: %v", err)
	}
	for _, d := range defs {
		if d.Err != nil {
			t.Errorf("%s: %v", d.Name, d.Err)
		}
	}
}
