package engine

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tarEntries reads a build context tar into name → type ("f", "d", "l:target").
func tarEntries(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			out[strings.TrimSuffix(h.Name, "/")] = "d"
		case tar.TypeSymlink:
			out[h.Name] = "l:" + h.Linkname
		default:
			b, _ := io.ReadAll(tr)
			out[h.Name] = "f:" + string(b)
		}
	}
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTarBuildContext(t *testing.T) {
	root := t.TempDir()
	ctxDir := filepath.Join(root, "ctx")
	writeFiles(t, ctxDir, map[string]string{
		"Dockerfile":        "FROM scratch\n",
		".dockerignore":     "secret.txt\nlogs/\n!logs/keep.txt\nDockerfile\n.dockerignore\n",
		"hello.txt":         "hello",
		"secret.txt":        "no",
		"logs/drop.txt":     "no",
		"logs/keep.txt":     "yes",
		"src/main.go":       "package main",
		"../outside/x.txt":  "outside",
		"../Dockerfile.alt": "FROM scratch\nCOPY hello.txt /\n",
	})
	if err := os.Symlink(filepath.Join(root, "outside"), filepath.Join(ctxDir, "link-out")); err != nil {
		t.Fatal(err)
	}

	bc, err := tarBuildContext(ctxDir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	got := tarEntries(t, bc.r)
	if bc.dockerfile != "Dockerfile" {
		t.Errorf("dockerfile = %q", bc.dockerfile)
	}
	want := map[string]string{
		"Dockerfile":    "f:FROM scratch\n", // sent even though ignored
		".dockerignore": "f:secret.txt\nlogs/\n!logs/keep.txt\nDockerfile\n.dockerignore\n",
		"hello.txt":     "f:hello",
		"logs/keep.txt": "f:yes",
		"src":           "d",
		"src/main.go":   "f:package main",
		"link-out":      "l:" + filepath.Join(root, "outside"), // a link, not followed
	}
	for name, typ := range want {
		if got[name] != typ {
			t.Errorf("%s = %q, want %q", name, got[name], typ)
		}
	}
	for _, name := range []string{"secret.txt", "logs/drop.txt", "link-out/x.txt"} {
		if _, ok := got[name]; ok {
			t.Errorf("%s is in the context", name)
		}
	}

	// A Dockerfile outside the context travels under a generated name.
	bc, err = tarBuildContext(ctxDir, "../Dockerfile.alt")
	if err != nil {
		t.Fatal(err)
	}
	got = tarEntries(t, bc.r)
	if !strings.HasPrefix(bc.dockerfile, ".berth-dockerfile-") || got[bc.dockerfile] != "f:FROM scratch\nCOPY hello.txt /\n" {
		t.Errorf("outside dockerfile %q: %q (entries %v)", bc.dockerfile, got[bc.dockerfile], slices.Sorted(func(yield func(string) bool) {
			for k := range got {
				if !yield(k) {
					return
				}
			}
		}))
	}

	if _, err := tarBuildContext(ctxDir, "Missing.Dockerfile"); err == nil {
		t.Error("missing dockerfile: no error")
	}
}
