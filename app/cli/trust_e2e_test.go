package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/testenv"
)

// trustCompose reads a variable, publishes a port on every interface and
// mounts a folder outside the definition, and asks for Berth's own token
// (which it must never get).
func trustCompose(hostDir, extra string) string {
	return `services:
  web:
    image: ` + probe + `
    ports: ["127.0.0.1::8080", "0:8081"]
    environment:
      WHO: ${TRUST_E2E_WHO:-nobody}
      TOKEN: ${BERTH_REPO_TOKEN:-none}
    volumes:
      - ` + hostDir + `:/outside:ro
` + extra
}

// TestTrustEndToEnd: the first up of a definition with capabilities is
// refused without a terminal (exit 11) and creates nothing; berth trust
// shows and grants it; up then runs with the granted variable and never
// Berth's own; a revision adding a capability is refused again with a
// "new:" line, whatever --trust says when the settings refuse it; a
// revoke asks again.
func TestTrustEndToEnd(t *testing.T) {
	testenv.Engine(t)
	testenv.Image(t, probe)
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("TRUST_E2E_WHO", "grace")
	t.Setenv("BERTH_REPO_TOKEN", "must-never-reach-a-container")
	env := uniqueName("trust")
	t.Cleanup(func() { removeLabelled(env) })

	hostDir := t.TempDir()
	os.WriteFile(filepath.Join(hostDir, "note"), []byte("outside\n"), 0o644)
	repo := newDefRepo(t)
	repo.commit("probe", map[string]string{"berth.yaml": "name: probe\n", "compose.yaml": trustCompose(hostDir, "")})
	base := []string{"--definitions", filepath.Join(repo.dir, "environments")}

	// Untrusted, no terminal: exit 11, what it can do, nothing created.
	code, _, stderr := berthRaw(t, append(base, "up", "probe", "--as", env)...)
	if code != ExitUntrusted {
		t.Fatalf("untrusted up: exit %d, want %d", code, ExitUntrusted)
	}
	for _, want := range []string{"not trusted yet", "mounts the host path " + hostDir + " into web (read-only)", "publishes port 8081/tcp of web",
		"reads $TRUST_E2E_WHO", "asks for $BERTH_REPO_TOKEN, which Berth never gives", "berth trust probe", "--trust"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the refusal does not say %q", want)
		}
	}
	if strings.Contains(stderr, "8080 on every") {
		t.Error("a port published on loopback was reported as on every interface")
	}
	if left := labelled(t, env); len(left) > 0 {
		t.Fatalf("an untrusted up created %v", left)
	}
	if code, _, _ := berthRaw(t, append(base, "plan", "probe", "--as", env)...); code != ExitUntrusted {
		t.Errorf("untrusted plan: exit %d", code)
	}

	// The review as JSON, then the grant.
	code, out, _ := berthRaw(t, append(base, "-o", "json", "trust", "probe")...)
	var r core.TrustReview
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != ExitUntrusted || r.Trusted || len(r.Capabilities) != 4 || len(r.Blocked) != 1 {
		t.Fatalf("review: exit %d, %+v, %v", code, r, err)
	}
	if code, out, _ := berthRaw(t, append(base, "trust", "probe", "--yes")...); code != 0 || !strings.Contains(out, "trusted (granted") {
		t.Fatalf("grant: exit %d: %s", code, out)
	}

	// Trusted: up runs, with the granted variable and the outside folder.
	if code, _, _ := berthRaw(t, append(base, "up", "probe", "--as", env)...); code != 0 {
		t.Fatalf("trusted up: exit %d", code)
	}
	id := strings.TrimSpace(dockerOut(t, "ps", "-q", "--filter", "label=com.docker.compose.project="+env, "--filter", "label=com.docker.compose.service=web"))
	vars := dockerOut(t, "inspect", "--format", "{{range .Config.Env}}{{println .}}{{end}}", id)
	if !strings.Contains(vars, "WHO=grace\n") || !strings.Contains(vars, "TOKEN=none\n") || strings.Contains(vars, "must-never") {
		t.Errorf("container environment:\n%s", vars)
	}

	// A revision that adds a capability asks again: refused without a
	// terminal, naming what is new.
	repo.commit("privileged", map[string]string{"compose.yaml": trustCompose(hostDir, "    privileged: true\n")})
	code, _, stderr = berthRaw(t, append(base, "up", "probe", "--as", env)...)
	if code != ExitUntrusted || !strings.Contains(stderr, "asks for more than was granted (1 new)") || !strings.Contains(stderr, "new: runs web privileged") {
		t.Fatalf("a new capability: exit %d", code)
	}
	if got := dockerOut(t, "inspect", "--format", "{{.HostConfig.Privileged}}", id); strings.TrimSpace(got) != "false" {
		t.Fatal("the refused revision changed the container")
	}

	// The settings refuse privileged: --trust does not get past that.
	cfg := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "berth")
	os.MkdirAll(cfg, 0o700)
	os.WriteFile(filepath.Join(cfg, "settings.json"), []byte(`{"refuse": ["privileged"]}`), 0o600)
	code, _, stderr = berth(t, append(base, "up", "probe", "--as", env)...)
	if code != ExitUntrusted || !strings.Contains(stderr, "refuse: privileged") {
		t.Fatalf("refused by the settings: exit %d", code)
	}
	os.Remove(filepath.Join(cfg, "settings.json"))

	// Revoked: even the first revision's list asks again.
	repo.commit("back", map[string]string{"compose.yaml": trustCompose(hostDir, "")})
	if code, _, _ := berthRaw(t, append(base, "trust", "probe", "--revoke")...); code != 0 {
		t.Fatalf("revoke: exit %d", code)
	}
	code, _, stderr = berthRaw(t, append(base, "up", "probe", "--as", env)...)
	if code != ExitUntrusted || !strings.Contains(stderr, "trust was revoked") {
		t.Fatalf("after a revoke: exit %d", code)
	}
	if code, _, _ := berth(t, append(base, "down", env)...); code != 0 {
		t.Fatalf("down: exit %d", code)
	}
}

func dockerOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %v: %v: %s", args, err, out)
	}
	return string(out)
}

func TestAskTrustOnATerminal(t *testing.T) {
	r := &core.TrustReview{Definition: "shop", Repo: "path:/r", Capabilities: nil}
	for in, want := range map[string]bool{"y\n": true, "YES\n": true, "\n": false, "n\n": false, "": false} {
		var w strings.Builder
		if got := askTrust(&w, strings.NewReader(in), r); got != want || !strings.Contains(w.String(), "Trust it with this? [y/N]") {
			t.Errorf("answer %q: %v, want %v (%s)", in, got, want, w.String())
		}
	}
}
