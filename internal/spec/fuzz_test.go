package spec

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// A definition is other people's input. These fuzz targets load fuzzed
// berth.yaml and Compose files from a temporary folder, each within a time
// budget (loadBudget: far beyond what any input of the fuzzer's size
// needs, so that only a hang trips it) and with the memory spec bounds
// itself (files over 8 MiB, YAML aliases expanding past a million nodes).

// loadBudget is how long one input may take to load.
const loadBudget = time.Minute

// fuzzSecret is a value of the process environment and of a file next to
// the definition's folder: no load may read either without a grant.
const fuzzSecret = "berth-fuzz-secret-7f3a"

// withinBudget runs load, failing t when it does not return within
// loadBudget (a hang: the fuzzer keeps the input).
func withinBudget(t *testing.T, what string, load func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		load()
	}()
	timer := time.NewTimer(loadBudget)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s did not return within %s", what, loadBudget)
	}
}

// checkSpecError: a load's error is a definition error naming one of the
// definition's files (with a line within it, when it has one), or one of
// the few plain errors a load may return.
func checkSpecError(t *testing.T, err error, files map[string]string) {
	t.Helper()
	var es Errors
	var e *Error
	switch {
	case errors.As(err, &es):
		for _, x := range es {
			checkOne(t, x, files)
		}
	case errors.As(err, &e):
		checkOne(t, e, files)
	}
	if !utf8.ValidString(err.Error()) {
		// a message may quote the file; it must stay readable
		t.Fatalf("error is not UTF-8: %q", err)
	}
}

func checkOne(t *testing.T, e *Error, files map[string]string) {
	t.Helper()
	if e.File == "" {
		return
	}
	content, ok := files[filepath.Base(e.File)]
	if !ok {
		return // a file the definition named (an env file, an include)
	}
	if lines := yamlLines([]byte(content)); e.Line < 0 || e.Line > lines+1 {
		t.Fatalf("%s:%d: the file has %d lines (%s)", e.File, e.Line, lines, e.Message)
	}
}

// FuzzReadManifest: any berth.yaml reads or fails with a definition error
// at a line of the file, within the time budget, and a manifest read holds
// a valid name.
func FuzzReadManifest(f *testing.F) {
	for _, s := range []string{
		"name: shop\n",
		"name: shop\ndescription: the shop\ncompose: [compose.yaml, extra.yaml]\ndatabases:\n  db:\n    service: db\n    source: {seed: seed.sql, sha256: " + strings.Repeat("0", 64) + "}\n",
		"name: shop\ndatabases: {db: {source: {url: SHOP_DB_URL}}}\ndrift: {policy: heal, ignore: [{service: web, path: /environment/X}]}\n",
		"name: ../../etc\n",
		"name: [1, 2]\n",
		"nme: shop\n",
		"name: shop\ncompose: [../outside.yaml]\n",
		"x: &a [1,1,1,1,1,1,1,1,1]\ny: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nz: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nname: *c\n",
		"name: shop\n\t- bad indent\n",
		"\xff\xfe",
		"",
		"name: !!binary aGVsbG8=\n",
		"name: shop\nhealth: {timeout: -5s}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, manifest []byte) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"berth.yaml": string(manifest)})
		var m *Manifest
		var err error
		withinBudget(t, "ReadManifest", func() { m, err = ReadManifest(dir) })
		if err != nil {
			checkSpecError(t, err, map[string]string{"berth.yaml": string(manifest)})
			return
		}
		if verr := ValidateName(m.Name); verr != nil {
			t.Fatalf("a manifest read with the name %q: %v", m.Name, verr)
		}
	})
}

// FuzzLoadDefinition: any berth.yaml and compose.yaml load or fail with a
// definition error, within the time budget; a load never reads the
// process environment nor a file outside the definition's folder (nothing
// is granted): the secret both hold appears nowhere in what it returns.
func FuzzLoadDefinition(f *testing.F) {
	for _, c := range [][2]string{
		{"name: shop\n", "services:\n  web:\n    image: nginx:1.27\n    ports: [\"127.0.0.1:8080:80\"]\n    environment: {A: \"1\", B: $${X}}\n"},
		{"name: shop\n", "services:\n  web:\n    image: nginx\n    env_file: ../outside.env\n"},
		{"name: shop\n", "services:\n  web:\n    image: nginx\n    environment: [SECRET=${BERTH_FUZZ_SECRET}, HOME]\n"},
		{"name: shop\n", "include: [../outside.yaml]\nservices: {}\n"},
		{"name: shop\n", "services:\n  web:\n    extends: {file: ../outside.yaml, service: x}\n"},
		{"name: shop\n", "services:\n  web:\n    build: ..\n"},
		{"name: shop\n", "services:\n  web:\n    image: x\n    volumes: [\"../:/host\", \"/etc:/etc\", \"/var/run/docker.sock:/s\"]\n    privileged: true\n"},
		{"name: shop\ncompose: [c.yaml]\n", "services: {}\n"},
		{"name: shop\n", "x-a: &a [1,1,1,1,1,1,1,1,1]\nx-b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nx-c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nx-d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\nx-e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nx-f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\nx-g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nservices: {a: {image: x, labels: {bomb: *g}}}\n"},
		{"name: shop\n", "services:\n  web:\n    image: ${IMG:?set it}\n"},
		{"name: shop\n", "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n"},
		{"name: shop\n", "\xff"},
		{"name: shop\n", ""},
	} {
		f.Add([]byte(c[0]), []byte(c[1]))
	}
	f.Fuzz(func(t *testing.T, manifest, compose []byte) {
		base := t.TempDir()
		dir := filepath.Join(base, "def")
		files := map[string]string{"berth.yaml": string(manifest), "compose.yaml": string(compose)}
		writeFiles(t, dir, files)
		writeFiles(t, base, map[string]string{
			"outside.env":  "STOLEN=" + fuzzSecret + "\n",
			"outside.yaml": "services:\n  x:\n    image: " + fuzzSecret + "\n",
			"Dockerfile":   "FROM " + fuzzSecret + "\n",
		})
		var p *Project
		var err error
		withinBudget(t, "LoadDefinition", func() {
			ctx, cancel := context.WithTimeout(context.Background(), loadBudget)
			defer cancel()
			p, err = LoadDefinition(ctx, dir, LoadOptions{})
		})
		if err != nil {
			checkSpecError(t, err, files)
			if strings.Contains(err.Error(), fuzzSecret) {
				t.Fatalf("the error holds what no load may read: %v", err)
			}
			return
		}
		out, jerr := json.Marshal(p)
		if jerr != nil {
			t.Fatalf("the project does not marshal: %v", jerr)
		}
		if strings.Contains(string(out), fuzzSecret) && !strings.Contains(string(manifest)+string(compose), fuzzSecret) {
			t.Fatalf("the project holds what no load may read:\n%s", out)
		}
	})
}

// FuzzEditCompose: adopt's edit of a Compose file (an environment
// variable set or removed, an image changed) gives a file that loads, with
// compose-go, holding exactly the new value (whatever the value holds: $,
// quotes, #, line breaks, YAML keywords) and every other value as it was,
// comments kept.
func FuzzEditCompose(f *testing.F) {
	for _, c := range []struct {
		template     uint8
		key, value   string
		remove, what bool
	}{
		{0, "V", "2", false, false},
		{0, "NEW", "true", false, false},
		{1, "A", "x y # not a comment", false, false},
		{1, "NEW", "a$b ${HOME} $$", false, false},
		{2, "V", "", false, false},
		{0, "KEEP", "", true, false},
		{1, "A", "", true, false},
		{0, "", "probe:2", false, true},
		{2, "", "reg.example/x:1 # c", false, true},
		{0, "V", "line\nbreak", false, false},
		{1, "Q", `"quoted" 'single' \back`, false, false},
		{2, "N", "null", false, false},
		{0, "T", "~", false, false},
		{1, "E", "=x=", false, false},
	} {
		f.Add(c.template, c.key, c.value, c.remove, c.what)
	}
	templates := []string{
		"# the shop\nservices:\n  web:\n    image: probe:1 # pinned\n    environment:\n      V: \"1\" # version\n      KEEP: x\n      FROM: ${HOME}\n",
		"services:\n  web:\n    # the image\n    image: probe:1\n    environment:\n      - A=1\n      - B=two\n",
		"services:\n  web:\n    image: 'probe:1'\n    labels: [a=b]\n# end\n",
	}
	f.Fuzz(func(t *testing.T, template uint8, key, value string, remove, image bool) {
		in := templates[int(template)%len(templates)]
		path := "/environment/" + strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
		if image {
			path = "/image"
		}
		// what a container's environment can hold: a name without = or
		// NUL, a value without NUL; an image reference is one word
		if !image && (key == "" || strings.ContainsAny(key, "=\x00") || !utf8.ValidString(key)) ||
			strings.ContainsRune(value, 0) || !utf8.ValidString(value) ||
			image && (value == "" || strings.ContainsAny(value, " \t\r\n#")) {
			return
		}
		var v *string
		if !remove || image {
			v = &value
		}
		out, applied, err := EditCompose([]byte(in), []ComposeEdit{{Service: "web", Path: path, Value: v}})
		if err != nil {
			t.Fatalf("editing: %v", err)
		}
		for _, l := range strings.Split(in, "\n") {
			if v == nil && (strings.Contains(l, " "+key+":") || strings.Contains(l, "- "+key+"=")) {
				continue // a removed variable's line goes, comment and all
			}
			if _, comment, ok := strings.Cut(l, "# "); ok && !strings.Contains(string(out), "# "+comment) {
				t.Fatalf("the comment %q is gone:\n%s", comment, out)
			}
		}
		before := loadWeb(t, in)
		after := loadWeb(t, string(out))
		if len(applied) == 0 && v != nil && (image || plainName(key)) {
			t.Fatalf("setting %s was not applied", path)
		}
		if len(applied) == 0 {
			if string(out) != in {
				t.Fatalf("nothing applied, but the file changed:\n%s", out)
			}
			return
		}
		if image {
			if after.Image != value {
				t.Fatalf("image %q, want %q\n%s", after.Image, value, out)
			}
			return
		}
		got, ok := after.Environment[key]
		switch {
		case v == nil && ok:
			t.Fatalf("%s is still set (%q)\n%s", key, got, out)
		case v != nil && (!ok || got != value):
			t.Fatalf("%s = %q (set %v), want %q\n%s", key, got, ok, value, out)
		}
		for k, was := range before.Environment {
			if k != key && after.Environment[k] != was {
				t.Fatalf("%s changed from %q to %q\n%s", k, was, after.Environment[k], out)
			}
		}
		if after.Image != before.Image {
			t.Fatalf("the image changed from %q to %q", before.Image, after.Image)
		}
	})
}

// plainName is a variable name as shells write them.
func plainName(k string) bool {
	for i, r := range k {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return k != ""
}

// loadWeb loads compose as a definition's only Compose file and returns
// its service web.
func loadWeb(t *testing.T, compose string) Service {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"berth.yaml": "name: shop\n", "compose.yaml": compose})
	var p *Project
	var err error
	withinBudget(t, "LoadDefinition", func() {
		p, err = LoadDefinition(context.Background(), dir, LoadOptions{HostEnv: map[string]string{"HOME": "/home/fuzz"}})
	})
	if err != nil {
		t.Fatalf("the file does not load: %v\n%s", err, compose)
	}
	s := p.Service("web")
	if s == nil {
		t.Fatalf("no service web:\n%s", compose)
	}
	return *s
}

func init() {
	// the process environment holds the secret too: no load reads it
	os.Setenv("BERTH_FUZZ_SECRET", fuzzSecret)
}
