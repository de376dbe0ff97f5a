package cli

// The deploy/rollback end-to-end test: a real Git repo with several commits
// of a definition, deployed in turn against the real engine, rolled back,
// a failing health check rolled back on its own, the built CLI killed in
// the middle of a deploy and the next run converging, all read back from
// berth history. The engine is checked with the docker CLI.

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/envlock"
	"github.com/berthdev/berth/internal/testenv"
)

// berthBin is the CLI built once for tests that run it as a process.
var berthBin string

func TestMain(m *testing.M) {
	flag.Parse()
	// Nothing a test records may land in the user's own data folder.
	state, err := os.MkdirTemp("", "berth-cli-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("BERTH_STATE_DIR", state)
	bin := filepath.Join(state, "berth")
	if !testing.Short() || testenv.Required() {
		cmd := exec.Command("go", "build", "-tags", "nogui", "-o", bin, "../..")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			os.Exit(1)
		}
		berthBin = bin
	}
	code := m.Run()
	os.RemoveAll(state)
	os.Exit(code)
}

// defRepo is a definitions repo made with the git CLI.
type defRepo struct {
	t   *testing.T
	dir string
}

func newDefRepo(t *testing.T) *defRepo {
	r := &defRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *defRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com", "GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes the definition's files and commits them; it returns the sha.
func (r *defRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.dir, "environments", "probe", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// probeCompose is a definition of two services: web (served, health
// checked, V in its environment) and side (never changes).
func probeCompose(v, healthTest string) string {
	return fmt.Sprintf(`services:
  web:
    image: %s
    environment:
      V: %q
    healthcheck:
      test: %s
      interval: 1s
      timeout: 2s
      retries: 2
  side:
    image: %s
    command: ["sleep"]
`, probe, v, healthTest, probe)
}

const healthy = `["CMD", "/probe", "health"]`

func inspect(t *testing.T, id, format string) string {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "--format", format, id).CombinedOutput()
	if err != nil {
		t.Fatalf("docker inspect %s: %v: %s", id, err, out)
	}
	return strings.TrimSpace(string(out))
}

// webAt checks, with the docker CLI, that env's web container runs healthy
// with V=v and carries revision rev; it returns the containers by service.
func webAt(t *testing.T, env, v, rev string) map[string]string {
	t.Helper()
	ids := containerIDs(t, env)
	if len(ids) != 2 {
		t.Fatalf("want web and side, got %v", ids)
	}
	web := ids["web"]
	if got := inspect(t, web, `{{range .Config.Env}}{{println .}}{{end}}`); !strings.Contains(got, "V="+v+"\n") {
		t.Fatalf("web runs with env %q, want V=%s", got, v)
	}
	if got := inspect(t, web, `{{index .Config.Labels "dev.berth.revision"}}`); got != rev {
		t.Fatalf("web's revision label is %q, want %s", got, rev)
	}
	if got := inspect(t, web, `{{.State.Status}} {{.State.Health.Status}}`); got != "running healthy" {
		t.Fatalf("web is %q", got)
	}
	return ids
}

func history(t *testing.T, env string) []core.Deployment {
	t.Helper()
	code, out, _ := berth(t, "history", env, "--output", "json")
	if code != ExitOK {
		t.Fatalf("history: exit %d", code)
	}
	var ds []core.Deployment
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatalf("history json: %v\n%s", err, out)
	}
	return ds
}

// summary is history oldest first as kind:revision-label:status.
func summary(ds []core.Deployment, names map[string]string) string {
	var parts []string
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		parts = append(parts, fmt.Sprintf("%s:%s:%s", d.Kind, names[d.Revision], d.Status))
	}
	return strings.Join(parts, " ")
}

func TestDeployRollbackHealthKillHistory(t *testing.T) {
	testenv.Image(t, probe)
	if berthBin == "" {
		t.Fatal("the CLI was not built in TestMain")
	}
	env := uniqueName("deploy")
	t.Cleanup(func() { removeLabelled(env) })
	t.Setenv("BERTH_STATE_DIR", t.TempDir())

	repo := newDefRepo(t)
	os.WriteFile(filepath.Join(repo.dir, "README"), []byte("definitions\n"), 0o644)
	repo.git("add", "README")
	repo.git("commit", "-q", "-m", "before the definition")
	none := repo.git("rev-parse", "HEAD")
	manifest := "name: probe\ncompose: [compose.yaml]\nhealth:\n  timeout: %s\n"
	c1 := repo.commit("web v1", map[string]string{"berth.yaml": fmt.Sprintf(manifest, "30s"), "compose.yaml": probeCompose("1", healthy)})
	c2 := repo.commit("web v2", map[string]string{"compose.yaml": probeCompose("2", healthy)})
	c3 := repo.commit("web v3", map[string]string{"compose.yaml": probeCompose("3", healthy)})
	bad := repo.commit("web v4 with a failing health check", map[string]string{"berth.yaml": fmt.Sprintf(manifest, "8s"),
		"compose.yaml": probeCompose("4", `["CMD", "/probe", "exit", "1"]`)})
	repo.git("commit", "-q", "--allow-empty", "-m", "unrelated")
	escape := repo.commit("web mounts /etc", map[string]string{"compose.yaml": probeCompose("6", healthy) + "    volumes:\n      - /etc:/host-etc:ro\n"})
	link := filepath.Join(repo.dir, "environments", "probe", "etc")
	if err := os.Symlink("/etc", link); err != nil {
		t.Fatal(err)
	}
	symlink := repo.commit("a symlink to /etc", nil)
	os.Remove(link)
	c7 := repo.commit("web v7, slow to turn healthy", map[string]string{"berth.yaml": fmt.Sprintf(manifest, "60s"),
		"compose.yaml": strings.Replace(probeCompose("7", healthy), "interval: 1s", "interval: 4s", 1)})
	names := map[string]string{"": "-", none: "none", symlink: "symlink", c1: "c1", c2: "c2", c3: "c3", bad: "bad", escape: "escape", c7: "c7"}
	base := []string{"--repo", repo.dir}
	cli := func(args ...string) (int, string, string) { t.Helper(); return berth(t, append(base, args...)...) }

	// Revisions: the commits touching the definition, the unrelated one left out.
	code, out, _ := cli("revisions", "probe", "--output", "json")
	var revs []core.RevisionEntry
	if code != ExitOK || json.Unmarshal([]byte(out), &revs) != nil || len(revs) != 7 || revs[0].Hash != c7 || revs[6].Hash != c1 {
		t.Fatalf("revisions: exit %d, %d entries\n%s", code, len(revs), out)
	}

	// Deploy c1, then c2: only web (whose configuration changed) is replaced,
	// and only after the destructive plan is confirmed.
	if code, _, _ := cli("deploy", "probe", c1[:7], "--as", env); code != ExitOK {
		t.Fatalf("deploy c1: exit %d", code)
	}
	ids1 := webAt(t, env, "1", c1)
	if code, _, stderr := cli("deploy", "probe", c2, "--as", env); code != ExitConfirm || !strings.Contains(stderr, "--yes") {
		t.Fatalf("an unconfirmed destructive deploy: exit %d, want %d", code, ExitConfirm)
	}
	webAt(t, env, "1", c1)
	if code, _, _ := cli("deploy", "probe", c2, "--as", env, "--yes"); code != ExitOK {
		t.Fatalf("deploy c2: exit %d", code)
	}
	ids2 := webAt(t, env, "2", c2)
	if ids2["side"] != ids1["side"] || ids2["web"] == ids1["web"] {
		t.Fatalf("want web replaced and side kept: %v then %v", ids1, ids2)
	}

	// Rollback goes to the last good deployment before the current one.
	if code, _, _ := cli("rollback", env, "--yes"); code != ExitOK {
		t.Fatalf("rollback: exit %d", code)
	}
	webAt(t, env, "1", c1)
	if code, _, _ := cli("deploy", env, c3, "--yes"); code != ExitOK {
		t.Fatalf("deploy c3: exit %d", code)
	}
	webAt(t, env, "3", c3)

	// Bad input changes nothing: a revision that does not exist, one
	// where the definition is missing, a symlink out of the workspace, a
	// definition that mounts a host folder it was not granted.
	before := containerIDs(t, env)
	if code, _, stderr := cli("deploy", env, "no-such-rev", "--yes"); code != ExitNotFound || !strings.Contains(stderr, "no-such-rev") {
		t.Fatalf("unknown revision: exit %d", code)
	}
	if code, _, stderr := cli("deploy", env, none, "--yes"); code != ExitNotFound || !strings.Contains(stderr, "environments/probe is missing") {
		t.Fatalf("definition missing at the revision: exit %d", code)
	}
	if code, _, stderr := cli("deploy", env, symlink, "--yes"); code != ExitInvalid || !strings.Contains(stderr, "etc") {
		t.Fatalf("symlink out of the workspace: exit %d, want %d", code, ExitInvalid)
	}
	// A host folder mounted: a capability the user must grant; without
	// --trust (and no terminal to ask) it is refused.
	if code, _, stderr := berthRaw(t, append(base, "deploy", env, escape, "--yes")...); code != ExitUntrusted || !strings.Contains(stderr, "services.side.volumes") || !strings.Contains(stderr, "mounts the host path /etc into side (read-only)") {
		t.Fatalf("a host path not granted: exit %d, want %d", code, ExitUntrusted)
	}
	if after := containerIDs(t, env); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("refused deploys changed the environment: %v -> %v", before, after)
	}

	// A failing health check: rolled back to c3 on its own.
	start := time.Now()
	code, _, stderr := cli("deploy", env, bad, "--yes")
	if code != ExitFailed || !strings.Contains(stderr, "rolled back to "+c3[:7]) {
		t.Fatalf("failing health: exit %d, want a rollback to c3", code)
	}
	t.Logf("failed deploy and automatic rollback took %s", time.Since(start).Round(time.Millisecond))
	webAt(t, env, "3", c3)

	// Killed in the middle of a deploy: the built CLI, SIGKILLed as it
	// starts replacing web.
	cmd := exec.Command(berthBin, append(base, "deploy", env, c7, "--yes")...)
	cmd.Env = os.Environ()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := make(chan string, 1)
	go func() {
		var seen strings.Builder
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			seen.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "recreate-container") && strings.Contains(sc.Text(), "started") {
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		io.Copy(io.Discard, pipe)
		killed <- seen.String()
	}()
	select {
	case seen := <-killed:
		t.Logf("the killed deploy said:\n%s", seen)
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("the deploy never reached apply")
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the deploy was not killed: %v", err)
	}
	ds := history(t, env)
	if ds[0].Revision != c7 || ds[0].Status != core.StatusRunning {
		t.Fatalf("the killed deploy's record: %+v", ds[0])
	}
	// The next run finds it, marks it interrupted and converges.
	code, _, stderr = cli("deploy", env, c7, "--yes")
	if code != ExitOK || !strings.Contains(stderr, "interrupted") {
		t.Fatalf("deploy after the kill: exit %d", code)
	}
	webAt(t, env, "7", c7)
	if code, out, _ := cli("deploy", env, c7, "--yes"); code != ExitOK || !strings.Contains(out, "up to date") {
		t.Fatalf("a second deploy of c7 must find nothing to do: exit %d\n%s", code, out)
	}

	// All of it, read back from history.
	ds = history(t, env)
	want := "deploy:c1:succeeded deploy:c2:succeeded rollback:c1:succeeded deploy:c3:succeeded " +
		"deploy:bad:rolled-back rollback:c3:succeeded deploy:c7:interrupted deploy:c7:succeeded deploy:c7:succeeded"
	if got := summary(ds, names); got != want {
		t.Fatalf("history:\n got %s\nwant %s", got, want)
	}
	for _, d := range ds {
		if d.Who.OSUser == "" || d.Who.Host == "" || d.StartedAt.IsZero() || d.Env != env || d.Definition != "probe" {
			t.Fatalf("record without who/when/what: %+v", d)
		}
		if d.Status == core.StatusSucceeded && (len(d.ImageDigests) != 2 || !strings.HasPrefix(d.ImageDigests["web"], "sha256:")) {
			t.Fatalf("succeeded record without image digests: %+v", d)
		}
	}
	if failed := ds[4]; failed.Revision != bad || !strings.Contains(failed.Error, "web") {
		t.Fatalf("the failed deploy's error: %+v", failed)
	}
	code, out, _ = cli("revisions", env, "--output", "json")
	if code != ExitOK || json.Unmarshal([]byte(out), &revs) != nil || !revs[0].Deployed || revs[1].Deployed {
		t.Fatalf("revisions after: %s", out)
	}
	if code, out, _ := cli("history", env); code != ExitOK || !strings.Contains(out, "rolled-back") || !strings.Contains(out, "interrupted") {
		t.Fatalf("history text: %s", out)
	}

	// Down is recorded too.
	if code, _, _ := cli("down", env); code != ExitOK {
		t.Fatalf("down: exit %d", code)
	}
	if got := history(t, env)[0]; got.Kind != core.KindDown || got.Status != core.StatusSucceeded {
		t.Fatalf("down's record: %+v", got)
	}
	if left := labelled(t, env); len(left) != 0 {
		t.Fatalf("left after down: %v", left)
	}
}

func TestDeployRefusedWhileBusy(t *testing.T) {
	state := t.TempDir()
	t.Setenv("BERTH_STATE_DIR", state)
	repo := newDefRepo(t)
	repo.commit("v1", map[string]string{"berth.yaml": "name: probe\ncompose: [compose.yaml]\n", "compose.yaml": probeCompose("1", healthy)})
	// Locks are the engine's: under engines/<its ID, colons as dashes>.
	id := strings.ReplaceAll(docker(t, "info", "-f", "{{.ID}}"), ":", "-")
	lk, err := envlock.Acquire(context.Background(), filepath.Join(state, "engines", id), "busy-env", "deploy", false)
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release()
	for _, args := range [][]string{{"deploy", "probe", "--as", "busy-env", "--yes"}, {"rollback", "busy-env"}, {"down", "busy-env"}} {
		code, _, stderr := berth(t, append([]string{"--repo", repo.dir}, args...)...)
		if code != ExitBusy || !strings.Contains(stderr, "busy") || !strings.Contains(stderr, "deploy") {
			t.Fatalf("%v: exit %d, want %d naming the holder", args, code, ExitBusy)
		}
	}
}

func TestDeployWithoutARepo(t *testing.T) {
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	t.Chdir(t.TempDir())
	code, _, stderr := berth(t, "--definitions", t.TempDir(), "revisions", "probe")
	if code != ExitFailed || !strings.Contains(stderr, "--repo") {
		t.Fatalf("exit %d", code)
	}
	code, _, stderr = berth(t, "--repo", "file:///nonexistent/berth-defs.git", "deploy", "probe", "--yes")
	if code != ExitFailed || !strings.Contains(stderr, "nonexistent") {
		t.Fatalf("unreachable repo: exit %d", code)
	}
}

// TestDeployRecreatesOnlyWhatChanged: every revision is materialised into
// its own folder, yet a service with a read-only bind mount is recreated
// only when the mounted file changes, and a service whose definition did
// not change keeps its container across deploys.
func TestDeployRecreatesOnlyWhatChanged(t *testing.T) {
	testenv.Image(t, probe)
	env := uniqueName("binds")
	t.Cleanup(func() { removeLabelled(env) })
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	repo := newDefRepo(t)
	compose := func(v string) string {
		return probeCompose(v, healthy) + "    volumes:\n      - ./conf/side.conf:/conf/side.conf:ro\n"
	}
	manifest := "name: probe\ncompose: [compose.yaml]\n"
	c1 := repo.commit("v1", map[string]string{"berth.yaml": manifest, "compose.yaml": compose("1"), "conf/side.conf": "a=1\n"})
	c2 := repo.commit("web v2", map[string]string{"compose.yaml": compose("2")})
	c3 := repo.commit("side's configuration", map[string]string{"conf/side.conf": "a=2\n"})
	c4 := repo.commit("a readme", map[string]string{"README.md": "not mounted\n"})
	cli := func(args ...string) int {
		code, _, _ := berth(t, append([]string{"--repo", repo.dir}, args...)...)
		return code
	}
	if cli("deploy", "probe", c1, "--as", env, "--yes") != ExitOK {
		t.Fatal("deploy c1 failed")
	}
	ids1 := containerIDs(t, env)
	if cli("deploy", env, c2, "--yes") != ExitOK {
		t.Fatal("deploy c2 failed")
	}
	ids2 := containerIDs(t, env)
	if ids2["side"] != ids1["side"] || ids2["web"] == ids1["web"] {
		t.Fatalf("c2 changes web only: side %s -> %s, web %s -> %s", ids1["side"], ids2["side"], ids1["web"], ids2["web"])
	}
	if cli("deploy", env, c3, "--yes") != ExitOK {
		t.Fatal("deploy c3 failed")
	}
	ids3 := containerIDs(t, env)
	if ids3["side"] == ids2["side"] || ids3["web"] != ids2["web"] {
		t.Fatalf("c3 changes side's mounted file only: side %s -> %s, web %s -> %s", ids2["side"], ids3["side"], ids2["web"], ids3["web"])
	}
	if got := inspect(t, ids3["side"], `{{range .Mounts}}{{.Source}}{{end}}`); !strings.Contains(got, "side.conf") {
		t.Fatalf("side mounts %q", got)
	}
	if cli("deploy", env, c4, "--yes") != ExitOK {
		t.Fatal("deploy c4 failed")
	}
	if ids4 := containerIDs(t, env); ids4["side"] != ids3["side"] || ids4["web"] != ids3["web"] {
		t.Fatalf("a README-only revision recreated containers: %v -> %v", ids3, ids4)
	}
}
