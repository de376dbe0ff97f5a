package spec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWatchRules reads develop.watch into Service.Watch: paths made
// absolute inside the folder, targets cleaned, patterns kept, and the
// service's hash unchanged by it (as in Compose).
func TestWatchRules(t *testing.T) {
	dir := t.TempDir()
	compose := `services:
  api:
    image: debian:bookworm-slim
    develop:
      watch:
        - {action: sync, path: ./src, target: /app/src/, ignore: [node_modules/, "*.tmp"]}
        - {action: sync+restart, path: conf, target: /etc/app, include: ["*.conf"]}
        - {action: rebuild, path: ./Dockerfile}
        - {action: restart, path: .}
`
	writeFiles(t, dir, map[string]string{"berth.yaml": "name: dev\n", "compose.yaml": compose, "src/a.js": "a", "conf/x.conf": "x"})
	p, err := LoadDefinition(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	api := p.Service("api")
	if len(api.Watch) != 4 {
		t.Fatalf("watch = %+v, want 4 rules", api.Watch)
	}
	real, _ := filepath.EvalSymlinks(dir)
	w := api.Watch[0]
	if w.Action != WatchSync || !strings.HasSuffix(w.Path, "/src") || w.Target != "/app/src" || len(w.Ignore) != 2 {
		t.Errorf("rule 0 = %+v", w)
	}
	if rel, err := filepath.Rel(real, evalExisting(w.Path)); err != nil || rel != "src" {
		t.Errorf("rule 0 path %s is not the folder's src", w.Path)
	}
	m, err := w.Matcher()
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]bool{"a.js": true, "lib/b.js": true, "x.tmp": false, "node_modules/m/i.js": false, ".a.js.swp": false, "a.js~": false} {
		rel, ok := m.Rel(filepath.Join(w.Path, file))
		if ok != want {
			t.Errorf("rule 0 acts on %s: %v, want %v", file, ok, want)
		}
		if ok && m.ContainerPath(rel) != "/app/src/"+file {
			t.Errorf("%s goes to %s", file, m.ContainerPath(rel))
		}
	}
	if _, ok := m.Rel(filepath.Join(dir, "other.js")); ok {
		t.Error("rule 0 acts on a file outside its path")
	}
	m1, _ := api.Watch[1].Matcher()
	if _, ok := m1.Rel(filepath.Join(api.Watch[1].Path, "x.conf")); !ok {
		t.Error("include *.conf leaves out x.conf")
	}
	if _, ok := m1.Rel(filepath.Join(api.Watch[1].Path, "x.txt")); ok {
		t.Error("include *.conf takes x.txt")
	}

	// The rules are not part of the hash.
	writeFiles(t, dir, map[string]string{"compose.yaml": "services:\n  api:\n    image: debian:bookworm-slim\n"})
	q, err := LoadDefinition(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if q.Service("api").Hash != api.Hash {
		t.Error("develop.watch changes the service's hash: the service would be recreated")
	}
}

// TestWatchRuleErrors: each bad rule is an error naming file, line and
// field, and a path leading outside the folder is refused, also through a
// symlink.
func TestWatchRuleErrors(t *testing.T) {
	outside := t.TempDir()
	cases := []struct {
		name, rule, want, field string
		line                    int
	}{
		{"outside", `{action: sync, path: ../elsewhere, target: /app}`, "outside the definition's folder", "services.api.develop.watch[0].path", 7},
		{"absolute outside", `{action: rebuild, path: ` + outside + `}`, "outside the definition's folder", "services.api.develop.watch[0].path", 7},
		{"symlink out", `{action: sync, path: ./link, target: /app}`, "outside the definition's folder", "services.api.develop.watch[0].path", 7},
		{"relative target", `{action: sync, path: ./src, target: app/src}`, `target "app/src" is not an absolute path`, "services.api.develop.watch[0].target", 7},
		{"no target", `{action: sync+restart, path: ./src}`, "target is required", "services.api.develop.watch", 5},
		{"bad action", `{action: copy, path: ./src, target: /app}`, "action", "services.api.develop.watch[0].action", 7},
		{"sync+exec", `{action: sync+exec, path: ./src, target: /app, exec: {command: [ls]}}`, "sync+exec is not supported", "services.api.develop.watch[0].action", 7},
		{"bad ignore", `{action: sync, path: ./src, target: /app, ignore: ["!"]}`, "bad pattern", "services.api.develop.watch[0].ignore", 7},
		{"no path", `{action: rebuild}`, "path", "services.api.develop.watch[0]", 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			compose := "services:\n  api:\n    image: debian:bookworm-slim\n    develop:\n      watch:\n        # the rule\n        - " + tc.rule + "\n"
			writeFiles(t, dir, map[string]string{"berth.yaml": "name: dev\n", "compose.yaml": compose, "src/a.js": "a"})
			if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
				t.Fatal(err)
			}
			_, err := LoadDefinition(context.Background(), dir, LoadOptions{})
			if err == nil {
				t.Fatal("loaded")
			}
			es := errorList(t, err)
			found := false
			for _, e := range es {
				if strings.Contains(e.Error(), tc.want) {
					found = true
					if filepath.Base(e.File) != "compose.yaml" || e.Line != tc.line || !strings.HasPrefix(e.Field, tc.field) {
						t.Errorf("error at %s:%d %s, want compose.yaml:%d %s: %v", e.File, e.Line, e.Field, tc.line, tc.field, e)
					}
					if strings.Contains(tc.name, "out") && !errors.Is(e, ErrOutside) {
						t.Errorf("%v is not ErrOutside", e)
					}
				}
			}
			if !found {
				t.Errorf("no error saying %q: %v", tc.want, err)
			}
		})
	}
}
