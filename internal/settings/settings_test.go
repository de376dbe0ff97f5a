package settings

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	s, err := Load()
	if err != nil || !reflect.DeepEqual(s, Settings{}) {
		t.Fatalf("no file: want zero settings, got %+v, %v", s, err)
	}
	want := Settings{DefinitionsDir: "/defs", DockerHost: "tcp://h:2376", DockerContext: "remote", Refuse: []string{"privileged", "docker-socket"}}
	if err := Save(want); err != nil {
		t.Fatal(err)
	}
	p, _ := Path()
	if filepath.Dir(filepath.Dir(p)) != dir && filepath.Base(filepath.Dir(p)) != "berth" {
		t.Fatalf("settings at %s", p)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("settings file mode %v, %v", fi.Mode(), err)
	}
	got, err := Load()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v", got, err)
	}

	if _, ok, err := LoadWindow(); ok || err != nil {
		t.Fatalf("no window saved: ok %v, %v", ok, err)
	}
	if err := SaveWindow(Window{X: 10, Y: 20, Width: 1000, Height: 700}); err != nil {
		t.Fatal(err)
	}
	w, ok, err := LoadWindow()
	if !ok || err != nil || w.Width != 1000 || w.Y != 20 {
		t.Fatalf("window %+v %v %v", w, ok, err)
	}
}

func TestBadFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	p, _ := Path()
	os.MkdirAll(filepath.Dir(p), 0o700)
	os.WriteFile(p, []byte("{nope"), 0o600)
	if _, err := Load(); err == nil {
		t.Fatal("a broken settings file must be an error that names it")
	}
}
