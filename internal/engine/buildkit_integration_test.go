package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
	"github.com/berthdev/berth/internal/testenv"
)

// The base image BuildKit tests build on (made by scripts/images.sh).
const buildBase = "debian:bookworm-slim"

// buildKitEngine is a test engine that builds with BuildKit, and the
// image reference prefix of the test.
func buildKitEngine(t *testing.T) (*Engine, string) {
	t.Helper()
	e := testEngine(t)
	testenv.Image(t, buildBase)
	c, err := e.builder(testCtx(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if c.kind != builderBuildKit {
		t.Fatalf("the test engine has no BuildKit: %s", c.why)
	}
	return e, "berth-test/build-" + uniqueProject(t, e)
}

// buildService builds s through the engine's build op and returns its
// progress lines.
func buildService(ctx context.Context, e *Engine, s *spec.Service) ([]string, error) {
	var mu sync.Mutex
	var lines []string
	err := e.buildImage(ctx, &spec.Project{Name: "buildtest"}, s, s.Image, func(l string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, l)
	})
	return lines, err
}

// imageFile reads a file of an image, through a container made (not
// started) from it.
func imageFile(t *testing.T, e *Engine, ref, path string) string {
	t.Helper()
	ctx := testCtx(t, time.Minute)
	c, err := e.cli.ContainerCreate(ctx, &container.Config{Image: ref, Cmd: []string{"true"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.cli.ContainerRemove(context.WithoutCancel(ctx), c.ID, container.RemoveOptions{Force: true})
	rc, _, err := e.cli.CopyFromContainer(ctx, c.ID, path)
	if err != nil {
		t.Fatalf("reading %s from %s: %v", path, ref, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("reading %s from %s: %v", path, ref, err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

// stepLine finds the "#N text" line of a step and returns its number; a
// text that does not start with "[" matches whatever stage and position
// the frontend names the step with ("#5 [stage-0 2/3] text"), or none.
func stepLine(lines []string, text string) string {
	prefix := ""
	if !strings.HasPrefix(text, "[") {
		prefix = `(?:\[[^\]]*\] )?`
	}
	re := regexp.MustCompile(`^(#\d+) ` + prefix + regexp.QuoteMeta(text) + `$`)
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			return m[1]
		}
	}
	return ""
}

// TestIntegrationBuildKitCacheMount: a RUN step with a cache mount runs
// again when a file before it changes, and finds what its first run left
// in the cache; with nothing changed the step is cached. The progress
// lines name each step and say how it ended.
func TestIntegrationBuildKitCacheMount(t *testing.T) {
	e, prefix := buildKitEngine(t)
	ctx := testCtx(t, 5*time.Minute)
	dir := t.TempDir()
	cacheID := filepath.Base(prefix)
	run := "RUN --mount=type=cache,target=/cache,id=" + cacheID + " sh -c 'cat /input.txt >> /cache/log && cp /cache/log /log'"
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "FROM " + buildBase + " AS app\nCOPY input.txt /input.txt\n" + run + "\n",
		"input.txt":  "one " + cacheID + "\n",
	})
	s := &spec.Service{Name: "app", Image: prefix + "-cache:latest", BuildHash: "bh1",
		Build: &spec.Build{Context: dir, Dockerfile: "Dockerfile"}}
	lines, err := buildService(ctx, e, s)
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	step := stepLine(lines, "[app 3/3] "+run)
	if step == "" || !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, step+" DONE ") }) {
		t.Errorf("no start and DONE lines for the RUN step:\n%s", strings.Join(lines, "\n"))
	}
	if stepLine(lines, "[app 2/3] COPY input.txt /input.txt") == "" || stepLine(lines, "exporting to image") == "" {
		t.Errorf("missing step lines:\n%s", strings.Join(lines, "\n"))
	}

	writeFiles(t, dir, map[string]string{"input.txt": "two\n"})
	if lines, err = buildService(ctx, e, s); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	if got := imageFile(t, e, s.Image, "/log"); got != "one "+cacheID+"\ntwo\n" {
		t.Errorf("the second run's cache held %q, want the first run's line and its own", got)
	}

	lines, err = buildService(ctx, e, s)
	if err != nil {
		t.Fatal(err)
	}
	if step := stepLine(lines, "[app 3/3] "+run); step == "" || !slices.Contains(lines, step+" CACHED") {
		t.Errorf("an unchanged build's RUN step was not CACHED:\n%s", strings.Join(lines, "\n"))
	}
	ins, err := e.cli.ImageInspect(ctx, s.Image)
	if err != nil {
		t.Fatal(err)
	}
	if ins.Config.Labels[reconcile.LabelBuildHash] != "bh1" {
		t.Errorf("labels %v", ins.Config.Labels)
	}
}

// TestIntegrationBuildKitSecrets: build secrets from a file and from a
// variable reach a RUN step, and are in no layer, no history line and
// no progress line (a step that prints one shows ****).
func TestIntegrationBuildKitSecrets(t *testing.T) {
	e, prefix := buildKitEngine(t)
	ctx := testCtx(t, 5*time.Minute)
	dir := t.TempDir()
	fileValue, envValue := randomText(t), randomText(t)
	secretFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secretFile, []byte(fileValue), 0o600); err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + buildBase + "\n" +
		"RUN --mount=type=secret,id=tok --mount=type=secret,id=env sh -c 'sha256sum /run/secrets/tok | cut -c1-64 > /tok.sum; sha256sum /run/secrets/env | cut -c1-64 > /env.sum; echo leaked: $(cat /run/secrets/tok)'\n"})
	// no_cache: BuildKit does not key a step on its secrets' values, and
	// this Dockerfile is the same in every run of the test.
	s := &spec.Service{Name: "app", Image: prefix + "-secret:latest", BuildHash: "bh",
		Build: &spec.Build{Context: dir, Dockerfile: "Dockerfile", NoCache: true, Secrets: []spec.BuildSecret{
			spec.EnvBuildSecret("env", "TOKEN", envValue), {ID: "tok", File: secretFile}}}}
	lines, err := buildService(ctx, e, s)
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	if got, want := imageFile(t, e, s.Image, "/tok.sum"), sha256Hex(fileValue)+"\n"; got != want {
		t.Errorf("the file secret's hash in the image is %q, want %q", got, want)
	}
	if got, want := imageFile(t, e, s.Image, "/env.sum"), sha256Hex(envValue)+"\n"; got != want {
		t.Errorf("the variable secret's hash in the image is %q, want %q", got, want)
	}
	all := strings.Join(lines, "\n")
	if strings.Contains(all, fileValue) || !strings.Contains(all, "leaked: ****") {
		t.Errorf("progress lines show the secret, or not its mask:\n%s", all)
	}

	hist, err := e.cli.ImageHistory(ctx, s.Image)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		for _, v := range []string{fileValue, envValue} {
			if strings.Contains(h.CreatedBy, v) {
				t.Errorf("history line holds a secret: %s", h.CreatedBy)
			}
		}
	}
	rc, err := e.cli.ImageSave(ctx, []string{s.Image})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, found := scanTar(t, rc, [][]byte{[]byte(fileValue), []byte(envValue)})
	if n < 2 || found != "" {
		t.Errorf("the image export (%d files) holds a secret in %s", n, found)
	}
}

// scanTar reads a tar stream, and the tar files inside it (layers), and
// says how many files it read and which one first holds one of values.
func scanTar(t *testing.T, r io.Reader, values [][]byte) (int, string) {
	t.Helper()
	tr := tar.NewReader(r)
	n := 0
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return n, ""
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, v := range values {
			if bytes.Contains(b, v) {
				return n, h.Name
			}
		}
		if strings.HasSuffix(h.Name, ".tar") {
			m, found := scanTar(t, bytes.NewReader(b), values)
			n += m
			if found != "" {
				return n, h.Name + ":" + found
			}
		}
	}
}

func randomText(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "s3cret-" + hex.EncodeToString(b)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestIntegrationBuildKitStagesAndContexts: a multi-stage target builds
// that stage only (a failing stage beside it never runs), COPY --link
// works, named contexts (a folder, an image) are read, and .dockerignore
// keeps files out of the context.
func TestIntegrationBuildKitStagesAndContexts(t *testing.T) {
	e, prefix := buildKitEngine(t)
	ctx := testCtx(t, 5*time.Minute)
	dir, extra := t.TempDir(), t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "FROM " + buildBase + " AS base\nRUN echo base > /stage\n" +
			"FROM base AS build\nCOPY --link app.txt /app.txt\nCOPY --from=extra x.txt /x.txt\nCOPY --from=img /etc/debian_version /debian_version\nCOPY . /ctx/\nRUN echo build > /stage && ls -A /ctx > /ls\n" +
			"FROM base AS other\nRUN echo other > /stage && exit 1\n",
		"app.txt":       "app\n",
		".dockerignore": "secret.txt\nlogs/\n!logs/keep.txt\n",
		"secret.txt":    "secret",
		"logs/drop.txt": "drop",
		"logs/keep.txt": "keep",
	})
	writeFiles(t, extra, map[string]string{"x.txt": "extra\n", ".dockerignore": "ignored.txt\n", "ignored.txt": "no"})
	s := &spec.Service{Name: "app", Image: prefix + "-stages:latest", BuildHash: "bh",
		Build: &spec.Build{Context: dir, Dockerfile: "Dockerfile", Target: "build",
			AdditionalContexts: map[string]string{"extra": extra, "img": "docker-image://" + buildBase}}}
	lines, err := buildService(ctx, e, s)
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	for path, want := range map[string]string{"/stage": "build\n", "/app.txt": "app\n", "/x.txt": "extra\n", "/ls": ".dockerignore\nDockerfile\napp.txt\nlogs\n"} {
		if got := imageFile(t, e, s.Image, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if imageFile(t, e, s.Image, "/debian_version") == "" {
		t.Error("nothing copied from the image context")
	}
	if stepLine(lines, "[other 2/2] RUN echo other > /stage && exit 1") != "" {
		t.Errorf("the stage beside the target ran:\n%s", strings.Join(lines, "\n"))
	}
	if stepLine(lines, "[build 1/5] COPY --link app.txt /app.txt") == "" {
		t.Errorf("no COPY --link step:\n%s", strings.Join(lines, "\n"))
	}
}

// TestIntegrationBuildKitFailure: a failing step fails the build op with
// an error naming the step and carrying its last lines of output.
func TestIntegrationBuildKitFailure(t *testing.T) {
	e, prefix := buildKitEngine(t)
	ctx := testCtx(t, 5*time.Minute)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + buildBase + " AS app\nRUN echo first && echo second && exit 3\n"})
	ref := prefix + "-fail:latest"
	p := &spec.Project{Name: "buildtest", Services: []spec.Service{{Name: "app", Image: ref, Replicas: 1,
		Build: &spec.Build{Context: dir, Dockerfile: "Dockerfile"}, BuildHash: "bh"}}}
	err := e.Apply(ctx, p, reconcile.Plan{Project: "buildtest", Ops: []reconcile.Op{
		{ID: 1, Kind: reconcile.OpBuildImage, Resource: ref, Service: "app", Cause: "image missing"}}}, ApplyOptions{}, nil)
	want := regexp.MustCompile(`^op 1 build-image \S+: build of service app failed at \[(app )?2/2\] RUN echo first && echo second && exit 3: .*exit code: 3; its last 2 lines of output:\n  first\n  second$`)
	if err == nil || !want.MatchString(err.Error()) {
		t.Errorf("error = %v", err)
	}

	// A Dockerfile that does not parse says so.
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + buildBase + "\nNOSUCH instruction\n"})
	_, err = buildService(ctx, e, p.Service("app"))
	if err == nil || !strings.Contains(err.Error(), "build of service app failed: ") || !strings.Contains(strings.ToLower(err.Error()), "unknown instruction: nosuch") {
		t.Errorf("error = %v", err)
	}
}

// TestIntegrationBuildKitCancel: cancelling a build mid-step stops the
// solve (the step's process goes away) and closes the session.
func TestIntegrationBuildKitCancel(t *testing.T) {
	e, prefix := buildKitEngine(t)
	var open atomic.Int64
	e.sessionConn = func(c net.Conn) net.Conn {
		open.Add(1)
		return &closeCounter{Conn: c, open: &open}
	}
	dir := t.TempDir()
	marker := "7" + strings.TrimPrefix(randomDigits(t), "0") // sleep's argument: unique on this host
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + buildBase + "\nRUN sleep " + marker + "\n"})
	s := &spec.Service{Name: "app", Image: prefix + "-cancel:latest", BuildHash: "bh",
		Build: &spec.Build{Context: dir, Dockerfile: "Dockerfile"}}
	ctx, cancel := context.WithCancel(testCtx(t, 3*time.Minute))
	started := make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		errc <- e.buildImage(ctx, &spec.Project{Name: "buildtest"}, s, s.Image, func(l string) {
			if strings.HasSuffix(l, "] RUN sleep "+marker) {
				once.Do(func() { close(started) })
			}
		})
	}()
	select {
	case <-started:
	case err := <-errc:
		t.Fatalf("the build ended before its step started: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the RUN step did not start")
	}
	local := strings.HasPrefix(e.endpoint.Host, "unix://")
	if local {
		waitFor(t, time.Minute, "the step's process to run", func() bool { return processRunning("sleep", marker) })
	}
	if open.Load() == 0 {
		t.Error("no session connection was seen")
	}
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want a cancellation", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the build did not stop within a minute of its cancellation")
	}
	waitFor(t, time.Minute, "the session's connections to close", func() bool { return open.Load() == 0 })
	if local {
		waitFor(t, time.Minute, "the step's process to end", func() bool { return !processRunning("sleep", marker) })
	}
}

// closeCounter counts a connection out of open when it is first closed.
type closeCounter struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *closeCounter) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

func randomDigits(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	d := ""
	for _, x := range b {
		d += string(rune('0' + x%10))
	}
	return d
}

// processRunning says whether a process of this host runs name with arg
// (the engine is local: a build step's processes are in /proc).
func processRunning(name, arg string) bool {
	want := []byte(name + "\x00" + arg + "\x00")
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err == nil && bytes.HasSuffix(b, want) && (bytes.HasPrefix(b, []byte(name+"\x00")) || bytes.Contains(b, []byte("/"+name+"\x00"))) {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting %s for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestIntegrationBuildKitEngineFrontend: the engine's own Dockerfile
// frontend (what Berth uses from API 1.42 on) builds through the same
// session: context, secret, cache mount, labels.
func TestIntegrationBuildKitEngineFrontend(t *testing.T) {
	e, prefix := buildKitEngine(t)
	e.build.choice = builderChoice{kind: builderBuildKit, frontend: frontendEngine}
	ctx := testCtx(t, 5*time.Minute)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "FROM " + buildBase + " AS app\nCOPY a.txt /a.txt\nRUN --mount=type=secret,id=tok --mount=type=cache,target=/cache sh -c 'cat /run/secrets/tok /a.txt > /out'\n",
		"a.txt":      prefix + "\n",
	})
	s := &spec.Service{Name: "app", Image: prefix + "-engine:latest", BuildHash: "bh-engine",
		Build: &spec.Build{Context: dir, Dockerfile: "Dockerfile", Labels: map[string]string{"x": "y"},
			Secrets: []spec.BuildSecret{spec.EnvBuildSecret("tok", "TOK", "tok\n")}}}
	lines, err := buildService(ctx, e, s)
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	if got := imageFile(t, e, s.Image, "/out"); got != "tok\n"+prefix+"\n" {
		t.Errorf("/out = %q", got)
	}
	ins, err := e.cli.ImageInspect(ctx, s.Image)
	if err != nil {
		t.Fatal(err)
	}
	if ins.Config.Labels[reconcile.LabelBuildHash] != "bh-engine" || ins.Config.Labels["x"] != "y" {
		t.Errorf("labels %v", ins.Config.Labels)
	}
	if stepLine(lines, "[app 2/3] COPY a.txt /a.txt") == "" {
		t.Errorf("no step lines:\n%s", strings.Join(lines, "\n"))
	}
}

// TestIntegrationBuildKitSSH: a build's ssh entries reach RUN
// --mount=type=ssh: an agent socket given by path (what $SSH_AUTH_SOCK
// names for default) and a key file, each under its id; the step lists
// the keys it is offered.
func TestIntegrationBuildKitSSH(t *testing.T) {
	e, prefix := buildKitEngine(t)
	img := probeImage(t, e)
	ctx := testCtx(t, 5*time.Minute)
	dir := t.TempDir()

	// An agent holding one key, served on a socket of this test.
	_, agentKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: agentKey}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				agent.ServeAgent(keyring, c)
			}()
		}
	}()
	// A key file.
	_, fileKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(fileKey, "")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_deploy")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	fingerprint := func(k ed25519.PrivateKey) string {
		pub, err := ssh.NewPublicKey(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		return ssh.FingerprintSHA256(pub)
	}

	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + img + "\n" +
		"RUN --mount=type=ssh,id=default --mount=type=ssh,id=deploy,target=/deploy.sock [\"/probe\", \"ssh-keys\"]\n" +
		"RUN --mount=type=ssh,id=deploy,target=/deploy.sock [\"/probe\", \"ssh-keys\", \"/deploy.sock\"]\n"})
	s := &spec.Service{Name: "app", Image: prefix + "-ssh:latest", BuildHash: "bh",
		Build: &spec.Build{Context: dir, Dockerfile: "Dockerfile", NoCache: true,
			SSH: []spec.BuildSSH{{ID: "default", Path: sock}, {ID: "deploy", Path: keyFile}}}}
	lines, err := buildService(ctx, e, s)
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	for _, want := range []string{
		stepLine(lines, `RUN --mount=type=ssh,id=default --mount=type=ssh,id=deploy,target=/deploy.sock ["/probe", "ssh-keys"]`) + " ssh-key: " + fingerprint(agentKey),
		stepLine(lines, `RUN --mount=type=ssh,id=deploy,target=/deploy.sock ["/probe", "ssh-keys", "/deploy.sock"]`) + " ssh-key: " + fingerprint(fileKey),
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("no line %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
}

// TestIntegrationBuildKitCache: cache_to type=inline puts the build cache
// in the image; type=local works where the engine can write it and
// otherwise fails saying what the engine can do; a cache_from that cannot
// be read (no registry answers, no local cache yet) does not fail the
// build.
func TestIntegrationBuildKitCache(t *testing.T) {
	e, prefix := buildKitEngine(t)
	ctx := testCtx(t, 5*time.Minute)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + buildBase + " AS app\nRUN echo " + filepath.Base(prefix) + " > /id\n"})
	s := &spec.Service{Name: "app", Image: prefix + "-inline:latest", BuildHash: "bh",
		Build: &spec.Build{Context: dir, Dockerfile: "Dockerfile",
			CacheFrom: []spec.BuildCache{
				{Type: "registry", Attrs: map[string]string{"ref": "127.0.0.1:9/berth/none:cache"}},
				{Type: "local", Attrs: map[string]string{"src": filepath.Join(t.TempDir(), "none")}},
			},
			CacheTo: []spec.BuildCache{{Type: "inline"}}}}
	lines, err := buildService(ctx, e, s)
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "warning: local cache import at ") }) {
		t.Errorf("no warning line for the missing local cache:\n%s", strings.Join(lines, "\n"))
	}
	rc, err := e.cli.ImageSave(ctx, []string{s.Image})
	if err != nil {
		t.Fatal(err)
	}
	_, found := scanTar(t, rc, [][]byte{[]byte("moby.buildkit.cache.v0")})
	rc.Close()
	if found == "" {
		t.Error("the image carries no inline cache")
	}

	dest := filepath.Join(t.TempDir(), "cache")
	s.Image = prefix + "-local:latest"
	s.Build.CacheFrom = nil
	s.Build.CacheTo = []spec.BuildCache{{Type: "local", Attrs: map[string]string{"dest": dest}}}
	_, err = buildService(ctx, e, s)
	switch {
	case err == nil:
		if _, serr := os.Stat(filepath.Join(dest, "index.json")); serr != nil {
			t.Errorf("the engine took a local cache but wrote none: %v", serr)
		}
	case !strings.Contains(err.Error(), "cache_to type=local: this engine's builder cannot write a build cache of that type"):
		t.Errorf("error %v", err)
	default:
		t.Log(err)
	}
}

// TestIntegrationBuildKitInline: an inline Dockerfile builds the context
// it is given.
func TestIntegrationBuildKitInline(t *testing.T) {
	e, prefix := buildKitEngine(t)
	ctx := testCtx(t, 5*time.Minute)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.txt": prefix + "\n"})
	s := &spec.Service{Name: "app", Image: prefix + "-inline:latest", BuildHash: "bh",
		Build: &spec.Build{Context: dir, DockerfileInline: "FROM " + buildBase + "\nCOPY a.txt /a.txt\n"}}
	if lines, err := buildService(ctx, e, s); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(lines, "\n"))
	}
	if got := imageFile(t, e, s.Image, "/a.txt"); got != prefix+"\n" {
		t.Errorf("/a.txt = %q", got)
	}
}
