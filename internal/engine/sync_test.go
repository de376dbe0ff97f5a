package engine

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestSyncArchive: the archive CopyFiles sends holds a regular file with
// its content and mode, a symlink as a link (what it points at is never
// read), a folder as a folder, and nothing for a file gone meanwhile.
func TestSyncArchive(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o600)
	os.WriteFile(filepath.Join(dir, "app.js"), []byte("console.log(1)\n"), 0o755)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link"))
	os.Mkdir(filepath.Join(dir, "lib"), 0o755)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []SyncFile{
		{Host: filepath.Join(dir, "app.js"), Container: "/app/src/app.js"},
		{Host: filepath.Join(dir, "link"), Container: "/app/src/link"},
		{Host: filepath.Join(dir, "lib"), Container: "/app/src/lib"},
		{Host: filepath.Join(dir, "gone"), Container: "/app/src/gone"},
	} {
		if _, err := addSyncFile(tw, f); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	tr := tar.NewReader(&buf)
	got := map[string]*tar.Header{}
	var content []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
		data, _ := io.ReadAll(tr)
		if h.Name == "app/src/app.js" {
			content = data
		}
		if bytes.Contains(data, []byte("secret")) {
			t.Errorf("%s carries the symlink target's content", h.Name)
		}
	}
	if h := got["app/src/app.js"]; h == nil || h.Typeflag != tar.TypeReg || h.Mode != 0o755 || string(content) != "console.log(1)\n" {
		t.Errorf("app.js: %+v %q", h, content)
	}
	if h := got["app/src/link"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != filepath.Join(outside, "secret") {
		t.Errorf("link: %+v", h)
	}
	if h := got["app/src/lib/"]; h == nil || h.Typeflag != tar.TypeDir {
		t.Errorf("lib: %+v", h)
	}
	if len(got) != 3 {
		t.Errorf("entries %v", got)
	}
}
