package root

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/settings"
)

func TestResolve(t *testing.T) {
	saved := settings.Settings{DefinitionsDir: "/saved", DockerHost: "tcp://saved:2375"}
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		name   string
		flags  Config
		getenv func(string) string
		want   Config
	}{
		{"saved", Config{}, env(), Config{DefinitionsDir: "/saved", DockerHost: "tcp://saved:2375"}},
		{"flags win", Config{DefinitionsDir: "/flag", DockerContext: "ctx"}, env(), Config{DefinitionsDir: "/flag", DockerContext: "ctx"}},
		{"environment wins", Config{}, env("BERTH_DEFINITIONS", "/env", "DOCKER_HOST", "unix:///x.sock"), Config{DefinitionsDir: "/env"}},
	}
	t.Setenv("BERTH_DEFINITIONS", "/env")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Resolve(tc.flags, saved, tc.getenv); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestSaveSettingsRepoints: saving a definitions folder makes the same
// core list the new folder's definitions.
func TestSaveSettingsRepoints(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for dir, name := range map[string]string{a: "one", b: "two"} {
		os.MkdirAll(filepath.Join(dir, name), 0o755)
		os.WriteFile(filepath.Join(dir, name, "berth.yaml"), []byte("name: "+name+"\ncompose: [compose.yaml]\n"), 0o644)
		os.WriteFile(filepath.Join(dir, name, "compose.yaml"), []byte("services:\n  s:\n    image: x\n"), 0o644)
	}
	var stored settings.Settings
	r := newRoot(Config{}, settings.Settings{DefinitionsDir: a}, nil, func(s settings.Settings) error { stored = s; return nil },
		func(string) string { return "" })
	names := func() []string {
		l, err := r.Core().List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range l.Definitions {
			out = append(out, d.Name)
		}
		return out
	}
	if got := names(); len(got) != 1 || got[0] != "one" {
		t.Fatalf("before: %v", got)
	}
	v, err := r.SaveSettings(settings.Settings{DefinitionsDir: b})
	if err != nil {
		t.Fatal(err)
	}
	if stored.DefinitionsDir != b || v.Effective.DefinitionsDir != b {
		t.Fatalf("saved %+v, view %+v", stored, v)
	}
	if got := names(); len(got) != 1 || got[0] != "two" {
		t.Fatalf("after: %v", got)
	}
}

// Reading the records (berth ls, berth history) never creates the store
// file: with none there is nothing recorded. The first record creates it.
func TestReadingRecordsDoesNotCreateTheStore(t *testing.T) {
	dir := t.TempDir()
	a := &storeAdapter{dataDir: dir}
	defer a.close()
	file := filepath.Join(dir, "berth.db")
	ctx := context.Background()
	if ds, err := a.History(ctx, "shop", core.HistoryFilter{}); err != nil || len(ds) != 0 {
		t.Fatalf("history with no store: %v, %v", ds, err)
	}
	if ds, err := a.Unfinished(ctx, "shop"); err != nil || len(ds) != 0 {
		t.Fatalf("unfinished with no store: %v, %v", ds, err)
	}
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("reading created the store (%v)", err)
	}
	id, err := a.Begin(ctx, core.Deployment{Kind: core.KindUp, Env: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Finish(ctx, id, core.Outcome{Status: core.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	if ds, err := a.History(ctx, "shop", core.HistoryFilter{}); err != nil || len(ds) != 1 {
		t.Fatalf("history after a record: %v, %v", ds, err)
	}
	// Another process's adapter finds the file it did not make.
	b := &storeAdapter{dataDir: dir}
	defer b.close()
	if ds, err := b.History(ctx, "shop", core.HistoryFilter{}); err != nil || len(ds) != 1 {
		t.Fatalf("history through a second adapter: %v, %v", ds, err)
	}
}
