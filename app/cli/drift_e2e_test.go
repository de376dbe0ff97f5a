package cli

// The drift end-to-end test: an environment deployed from a real Git repo
// on the real engine, then drifted for real from outside Berth (the docker
// CLI, file edits in the workspace, new commits, edits in the checkout),
// each drift checked field by field, healed with sync, adopted into a
// commit, or discarded.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/testenv"
)

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// check runs berth check -o json and returns its exit code and report.
func check(t *testing.T, base []string, env string) (int, core.DriftReport) {
	t.Helper()
	code, out, _ := berth(t, append(base, "check", env, "-o", "json")...)
	var r core.DriftReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("check json: %v\n%s", err, out)
	}
	return code, r
}

// findItem returns the runtime item of service at path with kind.
func findItem(r core.DriftReport, service, path, kind string) *drift.Item {
	for i, it := range r.Runtime {
		if it.Service == service && it.Path == path && it.Kind == kind {
			return &r.Runtime[i]
		}
	}
	return nil
}

func val(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestDriftEndToEnd(t *testing.T) {
	testenv.Image(t, probe)
	testenv.Tool(t, "docker")
	env := uniqueName("drift")
	t.Cleanup(func() { removeLabelled(env) })
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	t.Setenv("GIT_AUTHOR_NAME", "Grace Drift")
	t.Setenv("GIT_AUTHOR_EMAIL", "grace@example.com")

	// An image tag of this test's own, so that moving it touches nobody else.
	tag := "berth-test/drift-" + env + ":1"
	docker(t, "tag", probe, tag)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })

	repo := newDefRepo(t)
	compose := fmt.Sprintf(`services:
  web:
    image: %s
    environment:
      V: "1"
      DB_PASSWORD: committed-pw
    healthcheck:
      test: ["CMD", "/probe", "health"]
      interval: 1s
      timeout: 2s
      retries: 3
    volumes:
      - ./conf/app.conf:/conf/app.conf:ro
  side:
    image: %s
    command: ["sleep"]
`, tag, tag)
	c1 := repo.commit("v1", map[string]string{"berth.yaml": "name: probe\ncompose: [compose.yaml]\n", "compose.yaml": compose, "conf/app.conf": "a=1\n"})
	base := []string{"--repo", repo.dir}
	cli := func(args ...string) (int, string, string) { t.Helper(); return berth(t, append(base, args...)...) }
	if code, _, _ := cli("deploy", "probe", c1, "--as", env, "--yes"); code != ExitOK {
		t.Fatalf("deploy: exit %d", code)
	}

	// Freshly deployed: no drift of any kind.
	code, r := check(t, base, env)
	if code != ExitOK || !r.InSync || len(r.Runtime) != 0 || len(r.Files) != 0 || r.Upstream == nil || r.Upstream.Behind != 0 || len(r.Local) != 0 {
		t.Fatalf("a fresh environment: exit %d, %+v", code, r)
	}
	if r.Revision != c1 || r.Workspace == "" {
		t.Fatalf("revision %s, workspace %q", r.Revision, r.Workspace)
	}
	if code, out, _ := cli("check", env); code != ExitOK || !strings.Contains(out, "in sync") {
		t.Fatalf("check text: exit %d: %s", code, out)
	}
	web, side := env+"-web-1", env+"-side-1"

	heal := func(what string) {
		t.Helper()
		if code, _, _ := cli("sync", env, "--yes"); code != ExitOK {
			t.Fatalf("sync after %s: exit %d", what, code)
		}
		if code, r := check(t, base, env); code != ExitOK || !r.InSync {
			t.Fatalf("after healing %s: exit %d, %+v", what, code, r.Runtime)
		}
	}
	expect := func(what, service, path, kind, desired, live string) core.DriftReport {
		t.Helper()
		code, r := check(t, base, env)
		if code != ExitDrift || r.InSync {
			t.Fatalf("%s: exit %d, want %d", what, code, ExitDrift)
		}
		it := findItem(r, service, path, kind)
		if it == nil {
			t.Fatalf("%s: no %s item at %s %s in %+v", what, kind, service, path, r.Runtime)
		}
		if val(it.Desired) != desired || val(it.Live) != live {
			t.Fatalf("%s: %s %s desired %q live %q, want %q and %q", what, service, path, val(it.Desired), val(it.Live), desired, live)
		}
		return r
	}

	// A container stopped, then one removed.
	docker(t, "stop", "-t", "2", side)
	expect("stopped", "side", "/state", drift.KindStopped, "running", "exited (code 0)")
	heal("a stopped container")
	docker(t, "rm", "-f", side)
	expect("removed", "side", "", drift.KindMissing, "running", "<nil>")
	heal("a removed container")

	// Limits changed in place, a network disconnected.
	docker(t, "update", "--memory", "256m", "--memory-swap", "-1", web)
	expect("docker update", "web", "/deploy/resources/limits/memory", drift.KindAdded, "<nil>", "256m")
	heal("docker update")
	docker(t, "network", "disconnect", env+"_default", web)
	expect("network disconnect", "web", "/networks/default", drift.KindRemoved, env+"_default", "<nil>")
	heal("a disconnected network")

	// The image tag moved to another image.
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM "+probe+"\nLABEL moved="+env+"\n"), 0o644)
	oldID := docker(t, "image", "inspect", "-f", "{{.Id}}", tag)
	docker(t, "build", "-q", "-t", tag, ctxDir)
	newID := docker(t, "image", "inspect", "-f", "{{.Id}}", tag)
	expect("tag moved", "web", "/image", drift.KindImage, tag+" ("+newID[7:19]+")", oldID[7:19])

	// A foreign container attached to the environment's network: reported,
	// never touched by sync.
	foreign := env + "-intruder"
	docker(t, "run", "-d", "--name", foreign, "--network", env+"_default", probe, "sleep")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", foreign).Run() })
	code, r = check(t, base, env)
	var fi *drift.Item
	for i, it := range r.Runtime {
		if it.Kind == drift.KindForeign && it.Path == "/networks/default" && it.Container == foreign {
			fi = &r.Runtime[i]
		}
	}
	if code != ExitDrift || fi == nil {
		t.Fatalf("foreign container: exit %d, %+v", code, r.Runtime)
	}
	if code, _, _ := cli("sync", env, "--yes"); code != ExitOK {
		t.Fatalf("sync with a moved tag: exit %d", code)
	}
	if got := docker(t, "inspect", "-f", "{{.State.Running}}", foreign); got != "true" {
		t.Fatalf("sync touched the foreign container: running=%s", got)
	}
	if _, r = check(t, base, env); findItem(r, "web", "/image", drift.KindImage) != nil {
		t.Fatalf("the moved tag was not healed: %+v", r.Runtime)
	}
	docker(t, "rm", "-f", foreign)
	if code, r := check(t, base, env); code != ExitOK {
		t.Fatalf("after the foreign container left: exit %d %+v", code, r.Runtime)
	}

	// Recreated by hand under the same name with another value: reported
	// field by field; sync refuses to touch it; adopt commits the value.
	docker(t, "rm", "-f", web)
	docker(t, "run", "-d", "--name", web, "--network", env+"_default", "-e", "V=hand", "-e", "DB_PASSWORD=live-secret-pw", tag)
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", web).Run() }) // unlabelled: removeLabelled misses it
	expect("recreated by hand", "web", "", drift.KindReplaced, "created by Berth", "a container Berth did not create")
	expect("recreated by hand", "web", "/environment/V", drift.KindChanged, "1", "hand")
	if code, _, stderr := cli("sync", env, "--yes"); code != ExitConflict || !strings.Contains(stderr, web) {
		t.Fatalf("sync over a hand-made container: exit %d, want %d", code, ExitConflict)
	}
	// A secret drifts too: its values are masked in every report (a keyed
	// hash prefix, so that the change still shows), and adopt leaves it
	// out of Git.
	_, r = check(t, base, env)
	pw := findItem(r, "web", "/environment/DB_PASSWORD", drift.KindChanged)
	if pw == nil || !strings.HasPrefix(val(pw.Desired), "••••••(") || !strings.HasPrefix(val(pw.Live), "••••••(") || val(pw.Desired) == val(pw.Live) {
		t.Fatalf("the drifted password: %+v", pw)
	}
	_, textOut, _ := cli("check", env)
	if code, jsonOut, _ := cli("check", env, "-o", "json"); code != ExitDrift || strings.Contains(jsonOut+textOut, "live-secret-pw") || strings.Contains(jsonOut+textOut, "committed-pw") {
		t.Fatalf("a password in the check output (exit %d)", code)
	}
	code, out, _ := cli("adopt", env, "--branch", "adopt-"+env, "-o", "json")
	var adopted core.AdoptResult
	if err := json.Unmarshal([]byte(out), &adopted); err != nil || code != ExitOK || len(adopted.Refused) != 1 || !strings.Contains(adopted.Refused[0], "DB_PASSWORD") || strings.Contains(out, "live-secret-pw") {
		t.Fatalf("adopt: exit %d %+v %v", code, adopted, err)
	}
	if got := repo.git("show", "adopt-"+env+":environments/probe/compose.yaml"); !strings.Contains(got, `V: "hand"`) || !strings.Contains(got, "image: "+tag) || strings.Contains(got, "live-secret-pw") {
		t.Fatalf("the adopted compose.yaml:\n%s", got)
	}
	if got := repo.git("log", "-1", "--format=%an <%ae> %P", "adopt-"+env); got != "Grace Drift <grace@example.com> "+c1 {
		t.Fatalf("adopt commit: %s", got)
	}
	if head := repo.git("rev-parse", "main"); head != c1 {
		t.Fatalf("adopt moved main to %s", head)
	}
	docker(t, "rm", "-f", web)
	// The listing counts the service with no container, as status does.
	if code, out, _ := cli("ls", "-o", "json"); code != ExitOK {
		t.Fatalf("ls: exit %d", code)
	} else {
		var l core.Listing
		if err := json.Unmarshal([]byte(out), &l); err != nil {
			t.Fatalf("ls: %v\n%s", err, out)
		}
		i := slices.IndexFunc(l.Environments, func(e core.Environment) bool { return e.Name == env })
		if i < 0 || l.Environments[i].State != core.StatePartial {
			var got []string
			for _, e := range l.Environments {
				got = append(got, e.Name+":"+e.State)
			}
			t.Fatalf("ls with web removed: want %s partial, got %v", env, got)
		}
	}
	heal("a container recreated by hand, once removed")

	// Files: edited in place, replaced by rename, deleted and recreated.
	conf := filepath.Join(r.Workspace, "conf", "app.conf")
	fileDrift := func(how string) {
		t.Helper()
		code, r := check(t, base, env)
		if code != ExitDrift || len(r.Files) != 1 || r.Files[0].Path != "conf/app.conf" || len(r.Runtime) != 0 {
			t.Fatalf("%s: exit %d, files %+v, runtime %+v", how, code, r.Files, r.Runtime)
		}
		if code, _, _ := cli("discard", env); code != ExitOK {
			t.Fatalf("discard: exit %d", code)
		}
		if code, r := check(t, base, env); code != ExitOK {
			t.Fatalf("after discard (%s): exit %d %+v", how, code, r.Files)
		}
	}
	before, _ := os.Stat(conf)
	if err := os.WriteFile(conf, []byte("a=2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fileDrift("edited in place")
	if after, _ := os.Stat(conf); !os.SameFile(before, after) {
		t.Fatal("discard replaced the bind-mounted file instead of rewriting it")
	}
	if got := docker(t, "exec", web, "/probe", "cat", "/conf/app.conf"); got != "a=1" && !strings.Contains(got, "a=1") {
		t.Logf("web reads %q after discard", got)
	}
	dir := filepath.Dir(conf)
	os.Chmod(dir, 0o755)
	os.WriteFile(filepath.Join(dir, ".tmp"), []byte("a=3\n"), 0o644)
	os.Rename(filepath.Join(dir, ".tmp"), conf)
	fileDrift("replaced by rename")
	os.Remove(conf)
	os.WriteFile(conf, []byte("a=4\n"), 0o644)
	fileDrift("deleted and recreated")

	// A secret typed into a workspace file is never committed.
	os.WriteFile(conf, []byte("password=hunter22\n"), 0o644)
	if code, _, stderr := cli("adopt", env, "--branch", "secret-"+env); code == ExitOK || !strings.Contains(stderr, "conf/app.conf: line 1 sets password, which looks secret") || strings.Contains(stderr, "hunter22") {
		t.Fatalf("adopt of a file with a secret: exit %d", code)
	}
	if out, err := exec.Command("git", "-C", repo.dir, "rev-parse", "--verify", "-q", "secret-"+env).Output(); err == nil {
		t.Fatalf("a branch was made: %s", out)
	}

	// An edit adopted: the commit carries the edited file.
	os.WriteFile(conf, []byte("a=adopted\n"), 0o644)
	if code, _, _ := cli("adopt", env, "--branch", "files-"+env); code != ExitOK {
		t.Fatalf("adopt files: exit %d", code)
	}
	if got := repo.git("show", "files-"+env+":environments/probe/conf/app.conf"); got != "a=adopted" {
		t.Fatalf("adopted conf: %q", got)
	}
	heal("an adopted file edit (sync restores it)")

	// Upstream: a new commit touching the definition.
	c2 := repo.commit("v2", map[string]string{"compose.yaml": strings.Replace(compose, `V: "1"`, `V: "2"`, 1)})
	code, r = check(t, base, env)
	if code != ExitDrift || r.Upstream == nil || r.Upstream.Behind != 1 || r.Upstream.Head.Hash != c2 || len(r.Runtime) != 0 {
		t.Fatalf("upstream: exit %d %+v", code, r.Upstream)
	}
	if code, _, _ := cli("deploy", env, c2, "--yes"); code != ExitOK {
		t.Fatal("deploy c2")
	}
	if code, r := check(t, base, env); code != ExitOK {
		t.Fatalf("after deploying the head: exit %d %+v", code, r)
	}

	// Local: an uncommitted edit in the checkout.
	os.WriteFile(filepath.Join(repo.dir, "environments", "probe", "conf", "app.conf"), []byte("local\n"), 0o644)
	code, r = check(t, base, env)
	if code != ExitDrift || len(r.Local) != 1 || r.Local[0].Path != "conf/app.conf" || len(r.Files) != 0 {
		t.Fatalf("local change: exit %d local %+v files %+v", code, r.Local, r.Files)
	}
	_ = time.Second
}
