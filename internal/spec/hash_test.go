package spec

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestServiceHash(t *testing.T) {
	base := func() Service {
		d := 3 * time.Second
		return Service{
			Name:        "api",
			Image:       "shop-api",
			Replicas:    1,
			Environment: map[string]string{"A": "1", "B": "2"},
			Healthcheck: &Healthcheck{Test: []string{"CMD", "true"}, Interval: &d},
		}
	}
	h := ServiceHash(base())
	if len(h) != 64 {
		t.Fatalf("hash %q", h)
	}
	same := []struct {
		name string
		edit func(*Service)
	}{
		{"replicas", func(s *Service) { s.Replicas = 5 }},
		{"build", func(s *Service) { s.Build = &Build{Context: "/x"} }},
		{"build hash", func(s *Service) { s.BuildHash = "abc" }},
		{"pull policy", func(s *Service) { s.PullPolicy = "always" }},
		{"hash", func(s *Service) { s.Hash = "old" }},
		{"map built in another order", func(s *Service) { s.Environment = map[string]string{"B": "2", "A": "1"} }},
	}
	for _, c := range same {
		s := base()
		c.edit(&s)
		if got := ServiceHash(s); got != h {
			t.Errorf("%s changed the hash", c.name)
		}
	}
	differ := []struct {
		name string
		edit func(*Service)
	}{
		{"image", func(s *Service) { s.Image = "shop-api:2" }},
		{"environment value", func(s *Service) { s.Environment["A"] = "2" }},
		{"healthcheck interval", func(s *Service) { d := 4 * time.Second; s.Healthcheck.Interval = &d }},
		{"command", func(s *Service) { s.Command = []string{"serve"} }},
		{"mount", func(s *Service) { s.Mounts = []Mount{{Type: MountVolume, Source: "v", Target: "/v"}} }},
		{"port", func(s *Service) { s.Ports = []Port{{ContainerPort: 80, Protocol: "tcp"}} }},
	}
	for _, c := range differ {
		s := base()
		c.edit(&s)
		if got := ServiceHash(s); got == h {
			t.Errorf("%s did not change the hash", c.name)
		}
	}
}

// TestHashesStable checks that loading twice, or loading a file whose keys
// come in another order, gives the same hashes.
func TestHashesStable(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"berth.yaml": "name: h\n",
		"a/compose.yaml": "services:\n  api:\n    image: x\n    environment: {A: \"1\", B: \"2\"}\n    ports: [\"80:80\", \"81:81\"]\n" +
			"    volumes: [v:/v, ./c:/c]\n    networks: [n1, n2]\nvolumes:\n  v:\nnetworks:\n  n1:\n  n2:\n",
		"b/compose.yaml": "networks:\n  n2:\n  n1:\nvolumes:\n  v:\nservices:\n  api:\n    networks: [n2, n1]\n    volumes: [./c:/c, v:/v]\n" +
			"    ports: [\"81:81\", \"80:80\"]\n    environment: [B=2, A=1]\n    image: x\n",
	})
	for _, sub := range []string{"a", "b"} {
		writeFiles(t, filepath.Join(dir, sub), map[string]string{"berth.yaml": "name: h\n"})
	}
	load := func(sub string) *Project {
		p, err := LoadDefinition(context.Background(), filepath.Join(dir, sub), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a1, a2 := load("a"), load("a")
	if a1.Services[0].Hash != a2.Services[0].Hash {
		t.Error("two loads of the same files differ")
	}
	// b sits in another folder: bind mounts inside a definition hash by
	// their relative path, so only the order of keys and items differs.
	b := load("b")
	if b.Services[0].Hash != a1.Services[0].Hash {
		t.Error("the order of keys and list items (or the definition's folder) changed the hash")
	}
	if a1.Networks[0].Hash != b.Networks[0].Hash || a1.Volumes[0].Hash != b.Volumes[0].Hash {
		t.Error("network or volume hashes differ")
	}
}

func TestBuildHash(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile":              "FROM scratch\nCOPY . /\n",
		".dockerignore":           "# not sent\n*.md\n**/*.log\nnode_modules\n!node_modules/keep.js\n",
		"main.go":                 "package main\n",
		"README.md":               "docs\n",
		"sub/app.log":             "log\n",
		"sub/lib.go":              "package sub\n",
		"sub/NOTES.md":            "kept: *.md matches at the root only\n",
		"node_modules/x/index.js": "x\n",
		"node_modules/keep.js":    "keep\n",
	})
	b := &Build{Context: dir, Dockerfile: "Dockerfile"}
	h0, err := BuildHash(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	changes := []struct {
		name    string
		change  func()
		changes bool
	}{
		{"an ignored root file", func() { writeFiles(t, dir, map[string]string{"README.md": "more docs\n"}) }, false},
		{"an ignored log deep down", func() { writeFiles(t, dir, map[string]string{"sub/app.log": "more log\n"}) }, false},
		{"an ignored folder", func() { writeFiles(t, dir, map[string]string{"node_modules/y/index.js": "y\n"}) }, false},
		{"a source file", func() { writeFiles(t, dir, map[string]string{"main.go": "package main // changed\n"}) }, true},
		{"a file kept by an exception", func() { writeFiles(t, dir, map[string]string{"node_modules/keep.js": "changed\n"}) }, true},
		{"a file *.md does not reach", func() { writeFiles(t, dir, map[string]string{"sub/NOTES.md": "changed\n"}) }, true},
		{"a new file", func() { writeFiles(t, dir, map[string]string{"sub/new.go": "package sub\n"}) }, true},
		{"a mode", func() { os.Chmod(filepath.Join(dir, "main.go"), 0o755) }, true},
		{"the Dockerfile", func() { writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\n"}) }, true},
		{"an arg", func() { b.Args = map[string]string{"V": "1"} }, true},
		{"the target", func() { b.Target = "prod" }, true},
	}
	prev := h0
	for _, c := range changes {
		c.change()
		h, err := BuildHash(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if (h != prev) != c.changes {
			t.Errorf("%s: hash changed = %v, want %v", c.name, h != prev, c.changes)
		}
		prev = h
	}

	t.Run("Dockerfile-specific ignore file wins", func(t *testing.T) {
		writeFiles(t, dir, map[string]string{"Dockerfile.dockerignore": "*\n!Dockerfile\n"})
		h1, _ := BuildHash(ctx, b)
		writeFiles(t, dir, map[string]string{"main.go": "package main // again\n"})
		h2, _ := BuildHash(ctx, b)
		if h1 != h2 {
			t.Error("a file excluded by Dockerfile.dockerignore changed the hash")
		}
	})
	t.Run("remote context", func(t *testing.T) {
		h1, err := BuildHash(ctx, &Build{Context: "https://github.com/example/repo.git#main", Dockerfile: "Dockerfile"})
		if err != nil || len(h1) != 64 {
			t.Errorf("hash %q err %v", h1, err)
		}
	})
}

// TestBindMountHash: a definition hashes the same wherever it sits on disk
// (each deployed revision has its own workspace folder); a read-only bind
// mount's content is configuration and changes the hash, a writable one's
// is data and does not.
func TestBindMountHash(t *testing.T) {
	files := map[string]string{
		"berth.yaml":      "name: m\n",
		"compose.yaml":    "services:\n  web:\n    image: x\n    volumes: [./conf/site.conf:/etc/site.conf:ro, ./data:/data, ./html:/html:ro]\n",
		"conf/site.conf":  "listen 80;\n",
		"data/state":      "1\n",
		"html/index.html": "<h1>hi</h1>\n",
	}
	one, two := filepath.Join(t.TempDir(), "tree-aaa"), filepath.Join(t.TempDir(), "tree-bbb")
	writeFiles(t, one, files)
	writeFiles(t, two, files)
	hash := func(dir string) string {
		p, err := LoadDefinition(context.Background(), dir, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Services[0].Hash
	}
	base := hash(one)
	if hash(two) != base {
		t.Fatal("the same definition in two folders hashes differently")
	}
	writeFiles(t, two, map[string]string{"data/state": "2\n"})
	if hash(two) != base {
		t.Error("a change in a writable bind mount (data) changed the hash")
	}
	writeFiles(t, two, map[string]string{"conf/site.conf": "listen 8080;\n"})
	if hash(two) == base {
		t.Error("a change in a read-only bind-mounted file did not change the hash")
	}
	writeFiles(t, one, map[string]string{"html/index.html": "<h1>hello</h1>\n"})
	if hash(one) == base {
		t.Error("a change in a read-only bind-mounted folder did not change the hash")
	}
}

// TestBuildHashIgnoresWriteBits: a read-only copy of a build context (a
// deploy's workspace) hashes like the checkout; the executable bit counts.
func TestBuildHashIgnoresWriteBits(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\n", "app/main.go": "package main\n", "run.sh": "#!/bin/sh\n"})
	b := &Build{Context: dir, Dockerfile: "Dockerfile"}
	ctx := context.Background()
	before, err := BuildHash(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Dockerfile", "app/main.go", "run.sh"} {
		if err := os.Chmod(filepath.Join(dir, f), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	if after, _ := BuildHash(ctx, b); after != before {
		t.Fatal("making the files read-only changed the build hash")
	}
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o555); err != nil {
		t.Fatal(err)
	}
	if after, _ := BuildHash(ctx, b); after == before {
		t.Fatal("making a file executable did not change the build hash")
	}
}
