package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/registry"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session/auth"
	digest "github.com/opencontainers/go-digest"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// fakeProber is an engine as choosing a builder sees it.
type fakeProber struct {
	os, api string
	dialErr error
	dials   int
}

func (f *fakeProber) engineOS() string   { return f.os }
func (f *fakeProber) apiVersion() string { return f.api }
func (f *fakeProber) dialBuildKit(context.Context) (net.Conn, error) {
	f.dials++
	if f.dialErr != nil {
		return nil, f.dialErr
	}
	a, b := net.Pipe()
	b.Close()
	return a, nil
}

// TestChooseBuilder: BuildKit when the engine answers its endpoint (the
// engine's frontend from API 1.42, Berth's own before); the classic
// builder, with a warning, when the engine has no BuildKit (the upgrade
// refused, or not Linux); an error, not a fallback, when the engine
// could not be asked.
func TestChooseBuilder(t *testing.T) {
	refused := errors.New("unable to upgrade to h2c, received 404")
	for _, c := range []struct {
		name     string
		p        fakeProber
		kind     builderKind
		frontend frontendKind
		warning  string
		err      string
	}{
		{"20.10", fakeProber{os: "linux", api: "1.41"}, builderBuildKit, frontendClient, "", ""},
		{"28", fakeProber{os: "linux", api: "1.51"}, builderBuildKit, frontendEngine, "", ""},
		{"23", fakeProber{os: "linux", api: "1.42"}, builderBuildKit, frontendEngine, "", ""},
		{"no endpoint", fakeProber{os: "linux", api: "1.41", dialErr: refused}, builderClassic, 0,
			"warning: building with the classic builder: the engine has no BuildKit endpoint (/grpc answered HTTP 404); Dockerfile features that need BuildKit (RUN --mount, COPY --link, heredocs) fail there", ""},
		{"windows", fakeProber{os: "windows", api: "1.44"}, builderClassic, 0,
			"warning: building with the classic builder: the engine runs on windows, where it has no BuildKit; Dockerfile features that need BuildKit (RUN --mount, COPY --link, heredocs) fail there", ""},
		{"engine away", fakeProber{os: "linux", api: "1.41", dialErr: errors.New("cannot connect to the Docker daemon")}, 0, 0, "",
			"asking the engine for BuildKit: cannot connect to the Docker daemon"},
		{"engine error", fakeProber{os: "linux", api: "1.41", dialErr: errors.New("unable to upgrade to h2c, received 500")}, 0, 0, "",
			"asking the engine for BuildKit: unable to upgrade to h2c, received 500"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := chooseBuilder(context.Background(), &c.p)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Errorf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got.kind != c.kind || got.frontend != c.frontend {
				t.Fatalf("got %+v, %v", got, err)
			}
			if c.kind == builderClassic && got.warning() != c.warning {
				t.Errorf("warning %q\nwant    %q", got.warning(), c.warning)
			}
			if c.p.os == "windows" && c.p.dials != 0 {
				t.Error("a Windows engine was asked for BuildKit")
			}
		})
	}
}

// TestSolveSpec: a build section becomes the Dockerfile frontend's
// options, the folders the session offers, caches and entitlements.
func TestSolveSpec(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app/docker/Dockerfile.prod": "FROM scratch\n", "app/main.go": "", "shared/x": ""})
	app := filepath.Join(dir, "app")
	b := &spec.Build{
		Context: app, Dockerfile: "docker/Dockerfile.prod", Target: "prod",
		Args: map[string]string{"V": "1"}, Labels: map[string]string{"team": "shop"},
		Network: "host", NoCache: true, Pull: true,
		AdditionalContexts: map[string]string{"shared": filepath.Join(dir, "shared"), "base": "docker-image://debian:bookworm-slim"},
		CacheFrom:          []spec.BuildCache{{Type: "local", Attrs: map[string]string{"src": "/c"}}},
		CacheTo:            []spec.BuildCache{{Type: "inline"}},
	}
	ss, err := solveSpecFor(b, "bh1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"filename": "Dockerfile.prod", "target": "prod", "build-arg:V": "1", "label:team": "shop",
		"label:" + reconcile.LabelBuildHash: "bh1", "no-cache": "", "image-resolve-mode": "pull",
		"force-network-mode": "host", "context:base": "docker-image://debian:bookworm-slim", "context:shared": "local:named-context-1",
	}
	if !maps.Equal(ss.attrs, want) {
		t.Errorf("attrs %v\nwant  %v", ss.attrs, want)
	}
	wantLocals := map[string]localDir{
		"context":         {dir: app, ignoreFile: filepath.Join(app, ".dockerignore")},
		"dockerfile":      {dir: filepath.Join(app, "docker"), only: []string{"Dockerfile.prod", "Dockerfile.prod.dockerignore"}},
		"named-context-1": {dir: filepath.Join(dir, "shared"), ignoreFile: filepath.Join(dir, "shared", ".dockerignore")},
	}
	if fmt.Sprint(ss.locals) != fmt.Sprint(wantLocals) {
		t.Errorf("locals %v\nwant   %v", ss.locals, wantLocals)
	}
	if !slices.Equal(ss.entitlements, []string{"network.host"}) ||
		fmt.Sprint(ss.cacheImports) != "[{local map[src:/c]}]" || fmt.Sprint(ss.cacheExports) != "[{inline map[]}]" {
		t.Errorf("entitlements %v, cache imports %v, exports %v", ss.entitlements, ss.cacheImports, ss.cacheExports)
	}

	// A Dockerfile-specific ignore file wins, as in the build hash; an
	// inline Dockerfile has no folder; no network, no entitlement.
	writeFiles(t, dir, map[string]string{"app/docker/Dockerfile.prod.dockerignore": "*.md\n"})
	if ss, _ = solveSpecFor(b, ""); ss.locals["context"].ignoreFile != filepath.Join(app, "docker", "Dockerfile.prod.dockerignore") {
		t.Errorf("ignore file %s", ss.locals["context"].ignoreFile)
	}
	ss, err = solveSpecFor(&spec.Build{Context: app, DockerfileInline: "FROM scratch\n", Network: "none"}, "")
	if err != nil || ss.inline != "FROM scratch\n" || ss.attrs["filename"] != "Dockerfile" || ss.attrs["force-network-mode"] != "none" ||
		len(ss.entitlements) != 0 || ss.locals["context"].ignoreFile != filepath.Join(app, ".dockerignore") {
		t.Errorf("inline: %+v, %v", ss, err)
	}
	if _, ok := ss.locals["dockerfile"]; ok {
		t.Error("an inline Dockerfile's folder is offered before it is written")
	}
	if _, err := solveSpecFor(&spec.Build{Context: "https://example.com/repo.git"}, ""); err == nil {
		t.Error("a remote context was accepted")
	}
}

// vertex is a status report of one vertex, for tests (-1: not yet).
func vertex(d string, name string, started, completed time.Duration, cached bool, errText string) *bkclient.Vertex {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	v := &bkclient.Vertex{Digest: digest.FromString(d), Name: name, Cached: cached, Error: errText}
	if started >= 0 {
		s := t0.Add(started)
		v.Started = &s
	}
	if completed >= 0 {
		c := t0.Add(completed)
		v.Completed = &c
	}
	return v
}

// TestBuildProgress: steps are numbered as they are shown; start, output
// (cut into lines, a partial last line kept until the step ends), end
// lines once each; statuses once done; secrets masked; the failing step
// and its last lines are what the error names.
func TestBuildProgress(t *testing.T) {
	var lines []string
	p := newBuildProgress(func(l string) { lines = append(lines, l) }, func(s string) string { return strings.ReplaceAll(s, "hunter2", "****") })
	const none = -1
	run := "[build 3/6] RUN go build ./..."
	p.update(&bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		vertex("ctx", "[internal] load build context", 0, none, false, ""),
		vertex("run", run, none, none, false, ""), // known, not started: not shown
	}})
	p.update(&bkclient.SolveStatus{
		Vertexes: []*bkclient.Vertex{vertex("ctx", "[internal] load build context", 0, 100*time.Millisecond, false, "")},
		Statuses: []*bkclient.VertexStatus{{ID: "transferring context:", Vertex: digest.FromString("ctx"), Current: 2048, Completed: &time.Time{}}},
	})
	p.update(&bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		vertex("copy", "[build 2/6] COPY . .", none, 0, true, ""),
		vertex("run", run, time.Second, none, false, ""),
	}})
	p.update(&bkclient.SolveStatus{Logs: []*bkclient.VertexLog{
		{Vertex: digest.FromString("run"), Stream: 1, Data: []byte("compiling\npassword hunter2\npart")},
		{Vertex: digest.FromString("run"), Stream: 2, Data: []byte("warning: x\n")},
	}})
	p.update(&bkclient.SolveStatus{Logs: []*bkclient.VertexLog{{Vertex: digest.FromString("run"), Stream: 1, Data: []byte("ial\nlast")}}})
	p.update(&bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{
		vertex("run", run, time.Second, 3100*time.Millisecond, false, "process \"/bin/sh -c go build ./...\" did not complete successfully: exit code: 1"),
		vertex("other", "[other 2/2] RUN sleep 5", 2*time.Second, 3200*time.Millisecond, false, "context canceled"),
		vertex("ctx", "[internal] load build context", 0, 100*time.Millisecond, true, ""), // reported again
	}})
	p.finish()
	want := []string{
		"#1 [internal] load build context",
		"#1 DONE 0.1s",
		"#1 transferring context: 2.0kB done",
		"#2 [build 2/6] COPY . .",
		"#2 CACHED",
		"#3 [build 3/6] RUN go build ./...",
		"#3 compiling",
		"#3 password ****",
		"#3 warning: x",
		"#3 partial",
		"#3 last",
		`#3 ERROR: process "/bin/sh -c go build ./..." did not complete successfully: exit code: 1`,
		"#4 [other 2/2] RUN sleep 5",
		"#4 ERROR: context canceled",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	f := p.failure()
	if f == nil || f.name != run {
		t.Fatalf("failure %+v", f)
	}
	err := buildKitError("api", errors.New("failed to solve: exit code: 1"), f, p.mask)
	wantErr := `build of service api failed at [build 3/6] RUN go build ./...: process "/bin/sh -c go build ./..." did not complete successfully: exit code: 1; its last 5 lines of output:
  compiling
  password ****
  warning: x
  partial
  last`
	if err.Error() != wantErr {
		t.Errorf("error:\n%s\nwant:\n%s", err, wantErr)
	}
}

// TestBuildProgressCutsLines: a step's output line is cut as every
// output Berth keeps, and only the last lines are kept for its error.
func TestBuildProgressCutsLines(t *testing.T) {
	var lines []string
	p := newBuildProgress(func(l string) { lines = append(lines, l) }, nil)
	p.update(&bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{vertex("run", "[2/2] RUN yes", 0, -1, false, "")}})
	long := strings.Repeat("y", MaxLineBytes+100)
	for i := range 30 {
		p.update(&bkclient.SolveStatus{Logs: []*bkclient.VertexLog{{Vertex: digest.FromString("run"), Data: fmt.Appendf(nil, "line %d\n", i)}}})
	}
	p.update(&bkclient.SolveStatus{Logs: []*bkclient.VertexLog{{Vertex: digest.FromString("run"), Data: []byte(long + "\n")}}})
	p.update(&bkclient.SolveStatus{Vertexes: []*bkclient.Vertex{vertex("run", "[2/2] RUN yes", 0, time.Second, false, "exit code: 1")}})
	if got := lines[len(lines)-2]; got != "#1 "+long[:MaxLineBytes]+cutMark(100) {
		t.Errorf("long line kept as %d bytes", len(got))
	}
	if f := p.failure(); len(f.last) != logLinesInErrors || f.last[0] != "line 21" {
		t.Errorf("kept %d last lines from %q", len(f.last), f.last[0])
	}
}

// TestBuildKitErrorWithoutStep: an error with no failing step is
// BuildKit's own; a cache exporter the engine lacks says what it can do.
func TestBuildKitErrorWithoutStep(t *testing.T) {
	noMask := func(s string) string { return s }
	err := buildKitError("api", errors.New("failed to solve: dockerfile parse error line 2: unknown instruction: NOSUCH"), nil, noMask)
	if err.Error() != "build of service api failed: failed to solve: dockerfile parse error line 2: unknown instruction: NOSUCH" {
		t.Error(err)
	}
	err = buildKitError("api", errors.New(`failed to solve: unknown cache exporter: "local"`), nil, noMask)
	if !strings.HasPrefix(err.Error(), "build of service api: cache_to type=local: this engine's builder cannot write a build cache of that type.") ||
		!strings.Contains(err.Error(), "a registry cache needs a registry") {
		t.Error(err)
	}
}

// TestSecretStore: a secret is read when the engine asks for it; an
// unknown id is refused; what was given out is masked, line by line.
func TestSecretStore(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"npmrc": "registry=x\n//host/:_authToken=abcdef123\n"})
	s := newSecretStore([]spec.BuildSecret{{ID: "npm", File: filepath.Join(dir, "npmrc")}, spec.EnvBuildSecret("tok", "TOK", "t0ken-value")})
	if got := s.mask("t0ken-value"); got != "t0ken-value" {
		t.Error("masked before it was given out")
	}
	for _, id := range []string{"npm", "tok"} {
		if _, err := s.GetSecret(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.mask("a t0ken-value and //host/:_authToken=abcdef123 and registry=x"); got != "a **** and **** and ****" {
		t.Errorf("masked: %s", got)
	}
	if _, err := s.GetSecret(context.Background(), "nope"); err == nil || !strings.Contains(err.Error(), `build secret "nope" is not given to this build`) {
		t.Errorf("unknown id: %v", err)
	}
}

// TestContextFS: the session sends a context as .dockerignore leaves it,
// with an excluded folder that holds a kept file sent before that file,
// and refuses to open an excluded file.
func TestContextFS(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		".dockerignore": "secret.txt\nlogs/\n!logs/keep/a.txt\nnode_modules\n",
		"Dockerfile":    "", "app.txt": "", "secret.txt": "", "logs/drop.txt": "", "logs/keep/a.txt": "", "logs/keep/b.txt": "",
		"node_modules/x/y.js": "",
	})
	f, err := contextFS(dir, filepath.Join(dir, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := f.Walk(context.Background(), "", func(p string, d fs.DirEntry, err error) error {
		got = append(got, filepath.ToSlash(p))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{".dockerignore", "Dockerfile", "app.txt", "logs", "logs/keep", "logs/keep/a.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("walked %v, want %v", got, want)
	}
	if _, err := f.Open("secret.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("opening an excluded file: %v", err)
	}
	if rc, err := f.Open("app.txt"); err != nil {
		t.Error(err)
	} else {
		rc.Close()
	}

	df, err := dockerfileFS(dir, "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	df.Walk(context.Background(), "", func(p string, d fs.DirEntry, err error) error {
		got = append(got, p)
		return err
	})
	if !slices.Equal(got, []string{"Dockerfile"}) {
		t.Errorf("the Dockerfile's folder offers %v", got)
	}
}

// TestSSHAgents: an ssh entry without a path is the user's agent, which
// must exist; one with a path is that key or socket.
func TestSSHAgents(t *testing.T) {
	list := []spec.BuildSSH{{ID: "default"}, {ID: "deploy", Path: "/keys/deploy"}}
	got, err := sshAgents(list, "/run/agent.sock")
	if err != nil || fmt.Sprint(got) != "[{default [/run/agent.sock] false} {deploy [/keys/deploy] false}]" {
		t.Errorf("%v, %v", got, err)
	}
	if _, err := sshAgents(list, ""); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK is not set") {
		t.Errorf("no agent: %v", err)
	}
}

// TestAuthServer: the engine asking for a registry's credentials gets
// those of the docker config (the default registry under its API host
// too), an identity token as the secret, and nothing for a registry the
// config does not know.
func TestAuthServer(t *testing.T) {
	a := &authServer{creds: func(_ context.Context, host string) (*registry.AuthConfig, error) {
		switch host {
		case "":
			return &registry.AuthConfig{Username: "me", Password: "pw"}, nil
		case "ghcr.io":
			return &registry.AuthConfig{IdentityToken: "tok"}, nil
		}
		return nil, nil
	}}
	for host, want := range map[string]string{"registry-1.docker.io": "me pw", "ghcr.io": " tok", "example.com": " "} {
		r, err := a.Credentials(context.Background(), &auth.CredentialsRequest{Host: host})
		if err != nil || r.Username+" "+r.Secret != want {
			t.Errorf("%s: %q %q, %v", host, r.GetUsername(), r.GetSecret(), err)
		}
	}
}

// TestClassicFallback: on an engine without BuildKit a build starts with
// the warning line, and what only BuildKit does is refused, naming it,
// before the engine is asked anything.
func TestClassicFallback(t *testing.T) {
	e := &Engine{} // no client: asking the engine would panic
	e.build.choice = builderChoice{kind: builderClassic, why: "the engine has no BuildKit endpoint (/grpc answered HTTP 404)"}
	var lines []string
	s := &spec.Service{Name: "api", Image: "shop-api", Build: &spec.Build{
		Context: t.TempDir(), Dockerfile: "Dockerfile",
		Secrets: []spec.BuildSecret{spec.EnvBuildSecret("tok", "TOK", "v")}, SSH: []spec.BuildSSH{{ID: "default"}},
		AdditionalContexts: map[string]string{"x": "docker-image://debian"},
		CacheFrom:          []spec.BuildCache{{Type: "local", Attrs: map[string]string{"src": "/c"}}}, CacheTo: []spec.BuildCache{{Type: "inline"}},
	}}
	err := e.buildImage(context.Background(), nil, s, "", func(l string) { lines = append(lines, l) })
	want := "service api: build.secrets, build.ssh, build.additional_contexts, build.cache_to, build.cache_from type=local needs BuildKit, which this engine does not have"
	if err == nil || err.Error() != want || !errors.Is(err, errNoBuildKit) {
		t.Errorf("error %v\nwant  %s", err, want)
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "warning: building with the classic builder: the engine has no BuildKit endpoint") {
		t.Errorf("lines %q", lines)
	}
}
