//go:build unix

package engine

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/spec"
)

func TestSourceKind(t *testing.T) {
	root := t.TempDir()
	def := filepath.Join(root, "def")
	outside := filepath.Join(root, "outside")
	for _, d := range []string{filepath.Join(def, "conf"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(def, "conf", "a.conf"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600)
	os.Symlink(outside, filepath.Join(def, "escape"))
	os.Symlink("conf", filepath.Join(def, "alias"))
	for _, c := range []struct {
		src     string
		create  bool
		want    string
		wantErr string
	}{
		{src: filepath.Join(def, "conf"), want: "dir"},
		{src: filepath.Join(def, "conf", "a.conf"), want: "file"},
		{src: filepath.Join(def, "alias"), want: "dir"},
		{src: filepath.Join(def, "missing"), create: true, want: "empty"},
		{src: filepath.Join(def, "missing"), wantErr: "does not exist"},
		{src: outside, wantErr: "outside the definition folder"},
		{src: filepath.Join(def, "escape"), wantErr: "is a link to " + outside},
		{src: filepath.Join(def, "escape", "secret"), wantErr: "outside the definition folder"},
	} {
		got, err := sourceKind(def, spec.Mount{Type: spec.MountBind, Source: c.src, Target: "/x", CreateHostPath: c.create})
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want one saying %q", c.src, err, c.wantErr)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.src, got, err, c.want)
		}
	}
}

// The content hash follows content and names, not times.
func TestTreeHash(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "b.sql"), []byte("select 1;"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.sql"), []byte("select 2;"), 0o644)
	os.Symlink("a.sql", filepath.Join(dir, "link"))
	h1, err := treeHash(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(dir, "a.sql"), time0(), time0())
	if h2, _ := treeHash(dir); h2 != h1 {
		t.Fatalf("a new mtime changed the hash")
	}
	os.WriteFile(filepath.Join(dir, "a.sql"), []byte("select 3;"), 0o644)
	if h3, _ := treeHash(dir); h3 == h1 {
		t.Fatalf("new content kept the hash")
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := treeHash(dir); err == nil || !strings.Contains(err.Error(), "neither a file") {
		t.Fatalf("a fifo in a source: %v", err)
	}
}

func TestUnbindAndCopiedBinds(t *testing.T) {
	hc := &container.HostConfig{
		Binds:  []string{"/d/conf:/etc/conf:ro", "/d/data:/data"},
		Mounts: []mount.Mount{{Type: mount.TypeBind, Source: "/d/html", Target: "/html"}, {Type: mount.TypeVolume, Source: "v", Target: "/v"}},
	}
	unbind(hc, "/etc/conf")
	unbind(hc, "/html")
	if len(hc.Binds) != 1 || hc.Binds[0] != "/d/data:/data" || len(hc.Mounts) != 1 || hc.Mounts[0].Target != "/v" {
		t.Fatalf("unbind left %v %v", hc.Binds, hc.Mounts)
	}
	live := []drift.Mount{{Type: "volume", Source: "env_src-abc", Target: "/html", ReadOnly: true}, {Type: "volume", Source: "v", Target: "/v"}}
	labels := map[string]string{LabelCopies: `[{"target":"/html","source":"/d/html","ro":true,"volume":"env_src-abc"},{"target":"/etc/x.conf","source":"/d/x.conf","ro":true}]`}
	got := copiedBinds(labels, live)
	want := map[string]string{"/v": "volume v", "/html": "bind /d/html", "/etc/x.conf": "bind /d/x.conf"}
	if len(got) != len(want) {
		t.Fatalf("copiedBinds: %+v", got)
	}
	for _, m := range got {
		if want[m.Target] != m.Type+" "+m.Source {
			t.Errorf("mount at %s: %s %s, want %s", m.Target, m.Type, m.Source, want[m.Target])
		}
	}
}

func time0() time.Time { return time.Unix(12345, 0) }
