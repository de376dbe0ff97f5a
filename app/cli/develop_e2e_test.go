package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/app/root"
	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/testenv"
)

// lineFeed is an io.Writer that hands each complete line to a channel, so
// a test waits for a line with a deadline instead of sleeping.
type lineFeed struct {
	mu   sync.Mutex
	part string
	all  []string
	c    chan string
}

func newLineFeed() *lineFeed { return &lineFeed{c: make(chan string, 4096)} }

func (f *lineFeed) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.part += string(p)
	for {
		i := strings.IndexByte(f.part, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := f.part[:i]
		f.part = f.part[i+1:]
		f.all = append(f.all, line)
		f.c <- line
	}
}

func (f *lineFeed) lines() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.all...)
}

// await reads lines until one has want in it (returning the lines read
// on the way), failing the test at the deadline.
func (f *lineFeed) await(t *testing.T, want string, within time.Duration) []string {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	var seen []string
	for {
		select {
		case line := <-f.c:
			seen = append(seen, line)
			if strings.Contains(line, want) {
				return seen
			}
		case <-deadline.C:
			t.Fatalf("no line %q within %s; read %q", want, within, seen)
		}
	}
}

// dockerTry runs the docker CLI (independent of Berth) and returns its
// trimmed output and whether it succeeded.
func dockerTry(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err == nil
}

// devDefinition is a definition with the three kinds of watch rule: app
// syncs src/ (ignoring *.tmp) and syncs conf/ then restarts; web is
// built from web/ and rebuilt when it changes.
func devDefinition(t *testing.T) (defs, dir string) {
	t.Helper()
	defs = t.TempDir()
	dir = filepath.Join(defs, "dev")
	writeTree(t, dir, map[string]string{
		"berth.yaml": "name: dev\n",
		"compose.yaml": `services:
  app:
    image: debian:bookworm-slim
    command: [sleep, infinity]
    stop_signal: SIGKILL
    develop:
      watch:
        - {action: sync, path: ./src, target: /app/src, ignore: ["*.tmp"]}
        - {action: sync+restart, path: ./conf, target: /etc/app}
  web:
    build: ./web
    command: [sleep, infinity]
    stop_signal: SIGKILL
    develop:
      watch:
        - {action: rebuild, path: ./web}
`,
		"src/keep.js":       "keep\n",
		"conf/app.conf":     "a=1\n",
		"web/Dockerfile":    "FROM debian:bookworm-slim\nCOPY index.txt /index.txt\n",
		"web/index.txt":     "v1\n",
		"outside-rules.txt": "not watched\n",
	})
	return defs, dir
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUpWatchEndToEnd runs berth up --watch and checks each action in the
// containers through the docker CLI: a sync (the file's content, by cat),
// an ignored file (never copied), a deletion (gone in the container), a
// sync+restart (the content and a new start time) and a rebuild (the new
// image's content in the recreated container). Every wait is on a printed
// line, with a deadline.
func TestUpWatchEndToEnd(t *testing.T) {
	testenv.Image(t, "debian:bookworm-slim")
	env := uniqueName("devwatch")
	t.Cleanup(func() { removeLabelled(env) })
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	defs, dir := devDefinition(t)

	out, errs := newLineFeed(), newLineFeed()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--trust", "--definitions", defs, "up", "dev", "--as", env, "--watch"}, out, errs)
	}()
	defer func() {
		t.Logf("stdout:\n%s\nstderr:\n%s", strings.Join(out.lines(), "\n"), strings.Join(errs.lines(), "\n"))
	}()
	out.await(t, "watching "+env, 5*time.Minute)
	ids := containerIDs(t, env)
	cat := func(service, path string) (string, bool) {
		return dockerTry(t, "exec", ids[service], "cat", path)
	}

	// sync
	writeTree(t, dir, map[string]string{"src/app.js": "console.log(1)\n"})
	out.await(t, "synced app: src/app.js → /app/src/app.js", time.Minute)
	if got, _ := cat("app", "/app/src/app.js"); got != "console.log(1)" {
		t.Errorf("after sync, the container's /app/src/app.js is %q", got)
	}

	// ignore: the ignored file is written first, then one that is not
	writeTree(t, dir, map[string]string{"src/scratch.tmp": "no\n"})
	writeTree(t, dir, map[string]string{"src/lib/b.js": "b\n"})
	seen := out.await(t, "synced app: src/lib/b.js → /app/src/lib/b.js", time.Minute)
	for _, l := range seen {
		if strings.Contains(l, "scratch.tmp") {
			t.Errorf("an ignored file was acted on: %s", l)
		}
	}
	if _, ok := cat("app", "/app/src/scratch.tmp"); ok {
		t.Error("the ignored src/scratch.tmp reached the container")
	}
	if got, _ := cat("app", "/app/src/lib/b.js"); got != "b" {
		t.Errorf("a file in a new folder reached the container as %q", got)
	}

	// deletion
	if err := os.Remove(filepath.Join(dir, "src/app.js")); err != nil {
		t.Fatal(err)
	}
	out.await(t, "deleted app: src/app.js → /app/src/app.js", time.Minute)
	if _, ok := cat("app", "/app/src/app.js"); ok {
		t.Error("a file removed on the host is still in the container")
	}
	if got, ok := cat("app", "/app/src/keep.js"); ok {
		t.Errorf("a file never changed was copied (no initial sync): %q", got)
	}

	// sync+restart
	before, _ := dockerTry(t, "inspect", "-f", "{{.State.StartedAt}}", ids["app"])
	writeTree(t, dir, map[string]string{"conf/app.conf": "a=2\n"})
	out.await(t, "synced app: conf/app.conf → /etc/app/app.conf", time.Minute)
	out.await(t, "restarted app", time.Minute)
	after, _ := dockerTry(t, "inspect", "-f", "{{.State.StartedAt}}", ids["app"])
	if before == after {
		t.Errorf("sync+restart: the container's start time stayed %s", before)
	}
	if got, _ := cat("app", "/etc/app/app.conf"); got != "a=2" {
		t.Errorf("after sync+restart, /etc/app/app.conf is %q", got)
	}

	// rebuild
	if got, _ := cat("web", "/index.txt"); got != "v1" {
		t.Fatalf("web's /index.txt is %q before the rebuild", got)
	}
	writeTree(t, dir, map[string]string{"web/index.txt": "v2\n"})
	seen = out.await(t, "rebuilt web", 5*time.Minute)
	if l := seen[len(seen)-1]; strings.Contains(l, "up to date") {
		t.Fatalf("the rebuild built nothing: %s", l)
	}
	ids = containerIDs(t, env)
	if got, _ := cat("web", "/index.txt"); got != "v2" {
		t.Errorf("after the rebuild, web's /index.txt is %q", got)
	}

	// an edit outside every rule does nothing; Ctrl-C ends the watch
	writeTree(t, dir, map[string]string{"outside-rules.txt": "edited\n"})
	cancel()
	seen = out.await(t, "stopped watching "+env, time.Minute)
	for _, l := range seen {
		if strings.Contains(l, "outside-rules") {
			t.Errorf("a file no rule covers was acted on: %s", l)
		}
	}
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("up --watch ended with %d after Ctrl-C", code)
		}
	case <-time.After(time.Minute):
		t.Fatal("up --watch did not end after Ctrl-C")
	}
	for _, l := range errs.lines() {
		if strings.HasPrefix(l, "error") {
			t.Errorf("stderr: %s", l)
		}
	}
}

// TestWatchHidesSyncedDrift: while an environment is watched, edits in the
// checkout under its synced paths are not reported (as local changes
// here; as file drift in a workspace), the copies in the container are no
// runtime drift, and other edits still are reported; once the watch ends,
// the synced paths' edits are reported again.
func TestWatchHidesSyncedDrift(t *testing.T) {
	compose := "services:\n  side:\n    image: " + probe + "\n    command: [\"sleep\"]\n    develop:\n      watch:\n" +
		"        - {action: sync, path: ./src, target: /app/src}\n"
	env, repo := deployProbe(t, "devdrift", map[string]string{"compose.yaml": compose, "src/a.js": "a\n", "conf/x.conf": "x=1\n"})
	r := root.New(root.Config{Repo: repo.dir, DefinitionsDir: filepath.Join(repo.dir, "environments")})
	defer r.Close()
	b := r.Core()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	def := filepath.Join(repo.dir, "environments", "probe")
	writeTree(t, def, map[string]string{"src/a.js": "edited\n", "conf/x.conf": "x=2\n"})
	local := func() []string {
		t.Helper()
		rep, err := b.Check(ctx, env)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Runtime) > 0 {
			t.Errorf("runtime drift: %v", rep.Runtime)
		}
		var out []string
		for _, f := range append(rep.Files, rep.Local...) {
			out = append(out, f.Path)
		}
		slices.Sort(out)
		return out
	}
	if got := local(); !slices.Equal(got, []string{"conf/x.conf", "src/a.js"}) {
		t.Fatalf("before watching: %v", got)
	}

	wctx, stop := context.WithCancel(ctx)
	events := make(chan core.DevEvent, 64)
	done := make(chan error, 1)
	go func() {
		done <- b.Develop(wctx, env, core.DevOptions{}, func(ev core.DevEvent) { events <- ev })
	}()
	awaitDev := func(action, path string) {
		t.Helper()
		deadline := time.After(time.Minute)
		for {
			select {
			case ev := <-events:
				if ev.Action == action && ev.Path == path {
					return
				}
				if ev.Action == core.DevError {
					t.Errorf("watch: %s", ev)
				}
			case err := <-done:
				t.Fatalf("the watch ended: %v", err)
			case <-deadline:
				t.Fatalf("no %s %s within a minute", action, path)
			}
		}
	}
	awaitDev(core.DevWatching, "")
	writeTree(t, def, map[string]string{"src/a.js": "edited again\n"})
	awaitDev(core.DevSynced, "src/a.js")
	if got, ok := dockerTry(t, "exec", env+"-side-1", "/probe", "cat", "/app/src/a.js"); !ok || got != "edited again" {
		t.Errorf("the container's /app/src/a.js: %q", got)
	}
	if got := local(); !slices.Equal(got, []string{"conf/x.conf"}) {
		t.Errorf("while watching: %v, want only conf/x.conf (src/ is synced)", got)
	}
	// The probe image is FROM scratch: no rm, so a deletion is kept in
	// the container and the watch says so (and goes on).
	writeTree(t, def, map[string]string{"src/gone.js": "x\n"})
	awaitDev(core.DevSynced, "src/gone.js")
	if err := os.Remove(filepath.Join(def, "src/gone.js")); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(time.Minute)
	for said := false; !said; {
		select {
		case ev := <-events:
			said = ev.Action == core.DevError && strings.Contains(ev.Detail, "has no rm") && strings.Contains(ev.Detail, "/app/src/gone.js")
			if ev.Action == core.DevDeleted {
				t.Errorf("a deletion reported done in a container without rm: %s", ev)
			}
		case <-deadline:
			t.Fatal("a deletion in a container without rm was not reported")
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := local(); !slices.Equal(got, []string{"conf/x.conf", "src/a.js"}) {
		t.Errorf("after the watch: %v", got)
	}
}
