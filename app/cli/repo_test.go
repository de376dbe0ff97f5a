package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/testenv"
)

// TestRepoTokenOverHTTPS: a definitions repo served over smart HTTP that
// wants a token. With the token from $BERTH_REPO_TOKEN, revisions are
// listed; with a wrong or missing one the exit code says authentication,
// the message says what to do, the token is not in it, and nothing is
// left half-cloned.
func TestRepoTokenOverHTTPS(t *testing.T) {
	const token = "tok-9f3e1c-secret"
	work := t.TempDir()
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com", "GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(work, "init", "-q", "-b", "main")
	os.MkdirAll(filepath.Join(work, "environments", "web"), 0o755)
	os.WriteFile(filepath.Join(work, "environments", "web", "berth.yaml"), []byte("name: web\n"), 0o644)
	git(work, "add", "-A")
	git(work, "commit", "-q", "-m", "web: first")
	served := t.TempDir()
	git(work, "clone", "-q", "--bare", work, filepath.Join(served, "defs.git"))
	srv := testenv.GitHTTPServer(t, served, token)
	url := srv.URL + "/defs.git"
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	// No credential helper of the user's answers here.
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")

	tests := []struct {
		name  string
		token string // "" unsets it
		code  int
		want  string
	}{
		{"right token", token, ExitOK, "web: first"},
		{"wrong token", "wrong-" + token, ExitAuth, "refused the token from $BERTH_REPO_TOKEN"},
		{"no token", "", ExitAuth, "needs credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BERTH_REPO_TOKEN", tt.token)
			state := t.TempDir()
			code, stdout, stderr := berth(t, "--repo", url, "--state-dir", state, "revisions", "web")
			if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
				t.Fatalf("exit %d (want %d), output %q %q, want %q", code, tt.code, stdout, stderr, tt.want)
			}
			if strings.Contains(stdout+stderr, token) {
				t.Fatalf("the token is in the output: %q %q", stdout, stderr)
			}
			if code == ExitOK {
				return
			}
			if !strings.Contains(stderr, "authentication") || !strings.Contains(stderr, "BERTH_REPO_TOKEN") {
				t.Fatalf("stderr %q: want it to say authentication and where the token comes from", stderr)
			}
			if ents, _ := os.ReadDir(filepath.Join(state, "repos")); len(ents) > 0 {
				t.Fatalf("left behind after a refused clone: %v", ents)
			}
		})
	}
}
