package spec

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// buildDefinition is a definition whose build section uses every key
// Berth honours; outside holds the files it names outside its folder.
func buildDefinition(t *testing.T) (dir, outside string) {
	t.Helper()
	root := t.TempDir()
	dir = filepath.Join(root, "def")
	outside = filepath.Join(root, "outside")
	writeFiles(t, dir, map[string]string{
		"berth.yaml": "name: b\ncompose: {unsupported: warn}\n",
		"compose.yaml": `services:
  api:
    build:
      context: ./app
      target: prod
      network: host
      no_cache: true
      pull: true
      cache_from:
        - type=local,src=./cache
        - example/api:cache
      cache_to: [type=inline]
      additional_contexts:
        shared: ./shared
        base: docker-image://debian:bookworm-slim
        far: ../outside/ctx
      secrets:
        - npm
        - source: token
          target: api_token
      ssh: [default, "deploy=../outside/id_deploy"]
      shm_size: 64m
secrets:
  npm:
    file: ../outside/npmrc
  token:
    environment: API_TOKEN
`,
		"app/Dockerfile":   "FROM scratch\n",
		"app/main.go":      "package main\n",
		"shared/lib.go":    "package lib\n",
		"cache/index.json": "{}\n",
	})
	writeFiles(t, outside, map[string]string{
		"ctx/x.txt": "x\n",
		"npmrc":     "//registry/:_authToken=npm-secret\n",
		"id_deploy": "not a key\n",
	})
	return dir, outside
}

// TestBuildKeys: the build keys BuildKit honours reach spec.Build,
// normalised; what they read outside the folder is blocked until granted
// and listed as capabilities; a secret's variable is a variable the
// definition reads, and its value is in no serialised or printed form.
func TestBuildKeys(t *testing.T) {
	dir, outside := buildDefinition(t)
	ctx := context.Background()
	p, err := LoadDefinition(ctx, dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(outside, "ctx"), filepath.Join(outside, "id_deploy"), filepath.Join(outside, "npmrc")}
	if !slices.Equal(p.Blocked, want) {
		t.Errorf("blocked %v, want %v", p.Blocked, want)
	}
	if got := Paths(p.Capabilities); !slices.Equal(got, want) {
		t.Errorf("paths %v, want %v", got, want)
	}
	var caps []string
	for _, c := range p.Capabilities {
		if c.Kind == CapBuild || c.Kind == CapHostNamespace || c.Kind == CapEnvVar {
			caps = append(caps, c.Kind+" | "+strings.ReplaceAll(c.Subject, outside, "$OUT")+" | "+strings.ReplaceAll(c.Text, outside, "$OUT"))
		}
	}
	wantCaps := []string{
		"host-namespace | api: build.network=host | runs the build steps of api in the host's network namespace",
		"env-var | API_TOKEN | reads $API_TOKEN from your environment",
		"build | $OUT/ctx (context far) | builds the image of api with the folder $OUT/ctx as its context far, outside the definition's folder",
		"build | $OUT/id_deploy (ssh deploy) | lends the ssh key or agent $OUT/id_deploy to the build of api, outside the definition's folder",
		"build | $OUT/npmrc (secret npm) | gives the build of api the file $OUT/npmrc as a secret, outside the definition's folder",
		"build | app (app/Dockerfile) | builds the image of api from app/ with app/Dockerfile (its steps run on the engine)",
		"build | ssh agent (SSH_AUTH_SOCK) | lends your ssh agent ($SSH_AUTH_SOCK) to the build of api: its steps can sign in wherever your keys can",
	}
	if !slices.Equal(caps, wantCaps) {
		t.Errorf("capabilities:\n%s\nwant:\n%s", strings.Join(caps, "\n"), strings.Join(wantCaps, "\n"))
	}
	if w := warningText(p.Warnings); !strings.Contains(w, "services.api.build.shm_size: not supported by Berth; ignored") || strings.Contains(w, "cache_from") || strings.Contains(w, "ssh") {
		t.Errorf("warnings:\n%s", w)
	}

	g, err := LoadDefinition(ctx, dir, LoadOptions{Granted: want, HostEnv: map[string]string{"API_TOKEN": "tok-value-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Blocked) > 0 {
		t.Fatalf("still blocked once granted: %v", g.Blocked)
	}
	b := g.Service("api").Build
	if b.Network != "host" || !b.NoCache || !b.Pull || b.Target != "prod" {
		t.Errorf("build %+v", b)
	}
	wantFrom := []BuildCache{{Type: "local", Attrs: map[string]string{"src": filepath.Join(dir, "cache")}}, {Type: "registry", Attrs: map[string]string{"ref": "example/api:cache"}}}
	if fmt.Sprint(b.CacheFrom) != fmt.Sprint(wantFrom) || fmt.Sprint(b.CacheTo) != fmt.Sprint([]BuildCache{{Type: "inline"}}) {
		t.Errorf("cache from %v to %v", b.CacheFrom, b.CacheTo)
	}
	wantCtx := map[string]string{"shared": filepath.Join(dir, "shared"), "base": "docker-image://debian:bookworm-slim", "far": filepath.Join(outside, "ctx")}
	if fmt.Sprint(b.AdditionalContexts) != fmt.Sprint(wantCtx) {
		t.Errorf("additional contexts %v", b.AdditionalContexts)
	}
	if fmt.Sprint(b.SSH) != fmt.Sprint([]BuildSSH{{ID: "default"}, {ID: "deploy", Path: filepath.Join(outside, "id_deploy")}}) {
		t.Errorf("ssh %v", b.SSH)
	}
	if len(b.Secrets) != 2 || b.Secrets[0].ID != "api_token" || b.Secrets[0].Env != "API_TOKEN" || b.Secrets[1].ID != "npm" || b.Secrets[1].File != filepath.Join(outside, "npmrc") {
		t.Fatalf("secrets %+v", b.Secrets)
	}
	for _, c := range []struct {
		s    BuildSecret
		want string
	}{{b.Secrets[0], "tok-value-1"}, {b.Secrets[1], "//registry/:_authToken=npm-secret\n"}} {
		if v, err := c.s.Value(); err != nil || string(v) != c.want {
			t.Errorf("secret %s = %q, %v", c.s.ID, v, err)
		}
	}
	js, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{string(js), fmt.Sprintf("%v %+v %#v", b, *b, *b)} {
		if strings.Contains(form, "tok-value-1") {
			t.Errorf("the secret's value shows in %s", form)
		}
	}

	// Not granted, the variable reads as unset: the build says so.
	if _, err := p.Service("api").Build.Secrets[0].Value(); err == nil || !strings.Contains(err.Error(), "$API_TOKEN is not set") {
		t.Errorf("ungranted variable: %v", err)
	}
}

func warningText(ws []Warning) string {
	var out []string
	for _, w := range ws {
		out = append(out, w.String())
	}
	return strings.Join(out, "\n")
}

// TestBuildKeyErrors: what BuildKit cannot do, or Berth does not do yet,
// is an error at its field.
func TestBuildKeyErrors(t *testing.T) {
	for _, c := range []struct{ build, want string }{
		{"network: mynet", `compose.yaml:5: services.app.build.network: build network "mynet" is not supported`},
		{"additional_contexts:\n        git: https://example.com/repo.git", "services.app.build.additional_contexts.git: additional context git: \"https://example.com/repo.git\" is not supported by Berth yet"},
		{"cache_from: [\"type=local\"]", "services.app.build.cache_from[0]: cache entry \"type=local\": a local cache needs src=FOLDER"},
		{"cache_to: [\"mode=max\"]", "cache entry \"mode=max\" has no type"},
		{"secrets: [ext]", `services.app.build.secrets[0]: build secret "ext" must come from a file or an environment variable`},
		{"additional_contexts:\n        gone: ./gone", `services.app.build.additional_contexts.gone: additional context gone: "`},
	} {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"berth.yaml":   "name: e\n",
			"compose.yaml": "services:\n  app:\n    build:\n      context: .\n      " + c.build + "\nsecrets:\n  ext:\n    external: true\n",
			"Dockerfile":   "FROM scratch\n",
		})
		_, err := LoadDefinition(context.Background(), dir, LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.build, err, c.want)
		}
	}
}

// TestBuildHashOfBuildKeys: the hash follows what changes the image (an
// inline Dockerfile, the network, a named context's files, secret and ssh
// ids) and not what does not (a secret's value, cache settings), and a
// build without the new keys hashes as before.
func TestBuildHashOfBuildKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	shared := filepath.Join(dir, "shared")
	writeFiles(t, dir, map[string]string{
		"app/Dockerfile":       "FROM scratch\n",
		"app/main.go":          "package main\n",
		"shared/lib.go":        "package lib\n",
		"shared/.dockerignore": "*.log\n",
		"shared/build.log":     "log\n",
	})
	b := &Build{Context: filepath.Join(dir, "app"), Dockerfile: "Dockerfile"}
	h0, err := BuildHash(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	// The hash of a build without the new keys, as it was before them.
	bare, err := BuildHash(ctx, &Build{Context: b.Context, Dockerfile: "Dockerfile", NoCache: true, Pull: true,
		CacheFrom: []BuildCache{{Type: "inline"}}, CacheTo: []BuildCache{{Type: "inline"}}})
	if err != nil || bare != h0 {
		t.Errorf("cache, pull and no_cache changed the hash (%v)", err)
	}
	changes := []struct {
		name    string
		change  func()
		changes bool
	}{
		{"the network", func() { b.Network = "host" }, true},
		{"a named context", func() { b.AdditionalContexts = map[string]string{"shared": shared} }, true},
		{"a file in it", func() { writeFiles(t, dir, map[string]string{"shared/lib.go": "package lib // changed\n"}) }, true},
		{"a file its .dockerignore leaves out", func() { writeFiles(t, dir, map[string]string{"shared/build.log": "more\n"}) }, false},
		{"an image context", func() { b.AdditionalContexts["base"] = "docker-image://debian:bookworm-slim" }, true},
		{"a secret", func() { b.Secrets = []BuildSecret{EnvBuildSecret("tok", "TOK", "one")} }, true},
		{"its value", func() { b.Secrets = []BuildSecret{EnvBuildSecret("tok", "TOK", "two")} }, false},
		{"its source", func() { b.Secrets = []BuildSecret{{ID: "tok", File: "/somewhere"}} }, false},
		{"an ssh agent", func() { b.SSH = []BuildSSH{{ID: "default"}} }, true},
		{"an inline Dockerfile", func() { b.DockerfileInline = "FROM scratch\nCOPY . /\n" }, true},
		{"the Dockerfile file, now a context file like any other", func() { writeFiles(t, dir, map[string]string{"app/Dockerfile": "FROM other\n"}) }, true},
		{"the inline text", func() { b.DockerfileInline = "FROM scratch\n" }, true},
	}
	prev := h0
	for _, c := range changes {
		c.change()
		h, err := BuildHash(ctx, b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (h != prev) != c.changes {
			t.Errorf("%s: hash changed = %v, want %v", c.name, h != prev, c.changes)
		}
		prev = h
	}
	if err := os.RemoveAll(shared); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildHash(ctx, b); err == nil || !strings.Contains(err.Error(), "additional context shared") {
		t.Errorf("a missing named context: %v", err)
	}
}

// TestDockerfileInline: a build written inline needs no Dockerfile file.
func TestDockerfileInline(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"berth.yaml":   "name: i\n",
		"compose.yaml": "services:\n  app:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM scratch\n        COPY . /\n",
		"main.go":      "package main\n",
	})
	p, err := LoadDefinition(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b := p.Service("app").Build; b.DockerfileInline != "FROM scratch\nCOPY . /\n" || p.Service("app").BuildHash == "" {
		t.Errorf("build %+v, hash %q", b, p.Service("app").BuildHash)
	}
}
