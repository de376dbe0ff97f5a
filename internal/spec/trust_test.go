package spec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hostileCompose asks for every capability Berth knows of.
const hostileCompose = `services:
  x:
    image: busybox
    privileged: true
    cap_add: [ALL, net_admin]
    devices: ["/dev/fuse:/dev/fuse"]
    network_mode: host
    pid: host
    security_opt: ["seccomp:unconfined"]
    env_file: [own.env, ../outside.env]
    environment:
      T: ${BERTH_REPO_TOKEN}
      H: ${HOME_DIR:-/nowhere}
      FROM_ENV:
    volumes:
      - /:/host
      - /var/run/docker.sock:/var/run/docker.sock:ro
      - ./data:/data
      - shared:/shared
  y:
    build: ./app
    ports: ["8080:80", "127.0.0.1:9090:90", "0.0.0.0:7070:70/udp"]
    networks: [default, outer]
volumes:
  shared:
    external: true
    name: other_db-data
  hostbind:
    driver: local
    driver_opts: {type: none, o: bind, device: /srv/x}
networks:
  outer:
    external: true
include:
  - extra.yaml
`

func hostileDefinition(t *testing.T) (dir, outside string) {
	t.Helper()
	root := t.TempDir()
	dir = filepath.Join(root, "def")
	writeFiles(t, dir, map[string]string{
		"berth.yaml":     "name: h\ndatabases:\n  - service: db\n    engine: postgres\n    source: {url: PROD_DB_URL}\n",
		"compose.yaml":   hostileCompose,
		"extra.yaml":     "services:\n  db:\n    image: postgres:15\n    volumes: [pg:/var/lib/postgresql/data]\n    environment: {POSTGRES_PASSWORD: \"${DB_PASS}\"}\nvolumes:\n  pg: {}\n",
		"own.env":        "A=1\nB=${FROM_OWN_ENV}\nLOOKED_UP\n",
		"app/Dockerfile": "FROM scratch\n",
		"data/.keep":     "",
	})
	outside = filepath.Join(root, "outside.env")
	if err := os.WriteFile(outside, []byte("SECRET=outside-value\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, outside
}

func TestCapabilitiesOfAHostileDefinition(t *testing.T) {
	dir, outside := hostileDefinition(t)
	ctx := context.Background()
	p, err := LoadDefinition(ctx, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Not granted: the env file outside is not read, and the project says
	// it is incomplete.
	if want := "/ " + outside + " /var/run/docker.sock"; strings.Join(p.Blocked, " ") != want {
		t.Errorf("blocked %v, want %s", p.Blocked, want)
	}
	for _, s := range p.Services {
		for k, v := range s.Environment {
			if strings.Contains(v, "outside-value") {
				t.Errorf("%s.%s holds the outside file's value", s.Name, k)
			}
		}
	}
	var b strings.Builder
	for _, c := range p.Capabilities {
		b.WriteString(c.Kind + " | " + c.Subject + " | " + c.Text + " | " + strings.ReplaceAll(formatPos(c.File, c.Line, c.Field), dir, "$DIR") + "\n")
	}
	golden(t, "capabilities.golden.txt", []byte(strings.ReplaceAll(b.String(), filepath.Dir(dir), "$ROOT")))

	// Granted: it reads it, and the list (so the digest) is the same.
	g, err := LoadDefinition(ctx, dir, LoadOptions{Granted: Paths(p.Capabilities)})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Blocked) > 0 {
		t.Errorf("still blocked once granted: %v", g.Blocked)
	}
	if got := g.Service("x").Environment["SECRET"]; got != "outside-value" {
		t.Errorf("granted env file not read: SECRET=%q", got)
	}
	if CapabilityDigest(g.Capabilities) != CapabilityDigest(p.Capabilities) {
		t.Error("granting the paths changed the digest")
	}
	if want := "/ /srv/x " + outside + " /var/run/docker.sock"; strings.Join(Paths(p.Capabilities), " ") != want {
		t.Errorf("paths %v, want %s", Paths(p.Capabilities), want)
	}
	if got := strings.Join(EnvVars(p.Capabilities), " "); got != "BERTH_REPO_TOKEN DB_PASS FROM_ENV FROM_OWN_ENV HOME_DIR LOOKED_UP PROD_DB_URL" {
		t.Errorf("env vars %s", got)
	}
}

func TestInterpolationReadsOnlyWhatIsGiven(t *testing.T) {
	dir, outside := hostileDefinition(t)
	t.Setenv("HOME_DIR", "/from-the-process")
	t.Setenv("BERTH_REPO_TOKEN", "process-token")
	p, err := LoadDefinition(context.Background(), dir, LoadOptions{
		Granted:  []string{outside},
		HostEnv:  map[string]string{"HOME_DIR": "/granted", "BERTH_REPO_TOKEN": "granted-token", "GH_TOKEN": "gh", "FROM_ENV": "v"},
		Reserved: []string{"GH_TOKEN"},
	})
	if err != nil {
		t.Fatal(err)
	}
	env := p.Service("x").Environment
	if env["H"] != "/granted" {
		t.Errorf("H = %q, want the granted value", env["H"])
	}
	if env["T"] != "" {
		t.Errorf("T = %q: Berth's own variable reached the definition", env["T"])
	}
	if env["FROM_ENV"] != "v" {
		t.Errorf("FROM_ENV = %q", env["FROM_ENV"])
	}
	var token *Capability
	for i, c := range p.Capabilities {
		if c.Kind == CapEnvVar && c.Subject == "BERTH_REPO_TOKEN" {
			token = &p.Capabilities[i]
		}
	}
	if token == nil || !strings.Contains(token.Text, "never gives") {
		t.Errorf("the token variable's capability: %+v", token)
	}
	// A reserved name given by the caller is dropped too.
	q, err := LoadDefinition(context.Background(), dir, LoadOptions{Granted: []string{outside},
		HostEnv: map[string]string{"DB_PASS": "x"}, Reserved: []string{"DB_PASS"}})
	if err != nil {
		t.Fatal(err)
	}
	if v := q.Service("db").Environment["POSTGRES_PASSWORD"]; v != "" {
		t.Errorf("a reserved variable was read: %q", v)
	}
}

func TestFenceOnIncludeExtendsAndSymlinks(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"secret/compose.yaml": "services:\n  s:\n    image: x\n    privileged: true\n", "secret/key": "KEY=1\n", "secret/Dockerfile": "FROM scratch\n"})
	cases := []struct {
		name    string
		files   map[string]string
		link    [2]string // symlink name -> target, inside the definition
		blocked string
		err     string
	}{
		{name: "include outside", files: map[string]string{"compose.yaml": "include: [../secret/compose.yaml]\nservices:\n  a: {image: x}\n"}, blocked: "secret/compose.yaml"},
		{name: "include outside, long form and interpolated", files: map[string]string{".env": "WHERE=../secret\n", "compose.yaml": "include:\n  - path: ${WHERE}/compose.yaml\nservices:\n  a: {image: x}\n"}, blocked: "secret/compose.yaml"},
		{name: "include env_file outside", files: map[string]string{"inc.yaml": "services:\n  i: {image: x}\n", "compose.yaml": "include:\n  - path: inc.yaml\n    env_file: ../secret/key\nservices:\n  a: {image: x}\n"}, blocked: "secret/key"},
		{name: "extends outside", files: map[string]string{"compose.yaml": "services:\n  a:\n    extends: {file: ../secret/compose.yaml, service: s}\n"}, blocked: "secret/compose.yaml"},
		{name: "extends through an included file", files: map[string]string{"sub/inc.yaml": "services:\n  b:\n    extends: {file: ../../secret/compose.yaml, service: s}\n", "compose.yaml": "include: [sub/inc.yaml]\nservices:\n  a: {image: x}\n"}, blocked: "secret/compose.yaml"},
		{name: "env file through a symlink", files: map[string]string{"compose.yaml": "services:\n  a: {image: x, env_file: [k.env]}\n"}, link: [2]string{"k.env", "../secret/key"}, blocked: "k.env"},
		{name: "bind source through a symlink", files: map[string]string{"compose.yaml": "services:\n  a: {image: x, volumes: ['./d:/d:ro']}\n"}, link: [2]string{"d", "../secret"}, blocked: "d"},
		{name: "build context outside", files: map[string]string{"compose.yaml": "services:\n  a: {build: ../secret}\n"}, blocked: "secret"},
		{name: "Compose file through a symlink", files: map[string]string{"compose.yaml": "services: {}\n"}, link: [2]string{"other.yaml", "../secret/compose.yaml"}, err: "outside the definition's folder"},
		{name: ".env through a symlink", files: map[string]string{"compose.yaml": "services:\n  a: {image: x}\n"}, link: [2]string{".env", "../secret/key"}, err: "outside the definition's folder"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(root, "def"+string(rune('a'+i)))
			files := map[string]string{"berth.yaml": "name: d\n"}
			for k, v := range tc.files {
				files[k] = v
			}
			if tc.link[0] == "other.yaml" {
				files["berth.yaml"] = "name: d\ncompose: [compose.yaml, other.yaml]\n"
			}
			writeFiles(t, dir, files)
			if tc.link[0] != "" {
				if err := os.Symlink(tc.link[1], filepath.Join(dir, tc.link[0])); err != nil {
					t.Fatal(err)
				}
			}
			p, err := LoadDefinition(ctx, dir, LoadOptions{})
			if tc.err != "" {
				if !errors.Is(err, ErrOutside) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want ErrOutside saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Blocked) != 1 || !strings.HasSuffix(p.Blocked[0], tc.blocked) {
				t.Fatalf("blocked %v, want one ending in %s", p.Blocked, tc.blocked)
			}
			for _, s := range p.Services {
				if s.Privileged {
					t.Errorf("service %s from the file outside was loaded", s.Name)
				}
			}
			var outside bool
			for _, c := range p.Capabilities {
				outside = outside || c.Outside
			}
			if !outside {
				t.Errorf("no capability says outside: %v", p.Capabilities)
			}
			// Granted, it loads; the file's own capabilities show then.
			g, err := LoadDefinition(ctx, dir, LoadOptions{Granted: p.Blocked})
			if err != nil {
				t.Fatalf("granted: %v", err)
			}
			if len(g.Blocked) > 0 {
				t.Errorf("granted, still blocked: %v", g.Blocked)
			}
		})
	}
}

func TestForbiddenFolder(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "def")
	state := filepath.Join(root, "state")
	writeFiles(t, dir, map[string]string{"berth.yaml": "name: d\n", "compose.yaml": "services:\n  a:\n    image: x\n    volumes: [\"" + state + "/berth.db:/db\"]\n"})
	writeFiles(t, state, map[string]string{"berth.db": "x"})
	_, err := LoadDefinition(context.Background(), dir, LoadOptions{Forbid: []string{state}, Granted: []string{filepath.Join(state, "berth.db")}})
	if !errors.Is(err, ErrOutside) || !strings.Contains(err.Error(), "compose.yaml") || !strings.Contains(err.Error(), "services.a.volumes") {
		t.Fatalf("a mount of Berth's data folder: %v", err)
	}
}

func TestCapabilityDigest(t *testing.T) {
	a := []Capability{{Kind: CapAllInterfaces, Subject: "web: 80/tcp", Text: "as 8080", Services: []string{"web"}}, {Kind: CapEnvVar, Subject: "X"}}
	b := []Capability{{Kind: CapEnvVar, Subject: "X", Text: "other words"}, {Kind: CapAllInterfaces, Subject: "web: 80/tcp", Text: "as 9090", Services: []string{"web", "web2"}}, {Kind: CapEnvVar, Subject: "X"}}
	if CapabilityDigest(a) != CapabilityDigest(b) {
		t.Error("order, duplicates, texts or services changed the digest")
	}
	c := append([]Capability{}, a...)
	c[1].Subject = "Y"
	if CapabilityDigest(a) == CapabilityDigest(c) {
		t.Error("another variable left the digest unchanged")
	}
	if CapabilityDigest(nil) == CapabilityDigest(a) || CapabilityDigest(nil) != CapabilityDigest([]Capability{}) {
		t.Error("the empty list's digest")
	}
}

// TestYAMLAliasBudget: a file of a few hundred bytes whose aliases expand
// to hundreds of millions of nodes is refused before any walk, naming the
// file, well within the test's deadline.
func TestYAMLAliasBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	prev := "a"
	for _, n := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		b.WriteString("x-" + n + ": &" + n + " [")
		for i := 0; i < 9; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
		prev = n
	}
	b.WriteString("services:\n  a:\n    image: x\n    labels: {bomb: *i}\n")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"berth.yaml": "name: d\n", "compose.yaml": b.String()})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := LoadDefinition(ctx, dir, LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "compose.yaml") || !strings.Contains(err.Error(), "aliases expand") {
		t.Fatalf("err = %v", err)
	}
	// The manifest too.
	writeFiles(t, dir, map[string]string{"berth.yaml": strings.Replace(b.String(), "services:\n  a:\n    image: x\n    labels: {bomb: *i}\n", "name: d\ndescription: *i\n", 1)})
	if _, err := ReadManifest(dir); err == nil || !strings.Contains(err.Error(), "berth.yaml") || !strings.Contains(err.Error(), "aliases expand") {
		t.Fatalf("manifest: %v", err)
	}
	if n := expandedSize(nil, 10); n != 0 {
		t.Errorf("nil: %d", n)
	}
}
