package root

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/core"
)

// gitRepo makes a Git repo with the git CLI: each commit writes files.
func gitRepo(t *testing.T, commits ...map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com", "GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q", "-b", "main")
	for i, files := range commits {
		for name, content := range files {
			p := filepath.Join(dir, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		run("add", "-A")
		run("commit", "-q", "-m", "commit "+string(rune('a'+i)))
	}
	return dir
}

func TestRepoSourceResolvesLogsAndMaterialises(t *testing.T) {
	repo := gitRepo(t,
		map[string]string{"README": "x"},
		map[string]string{"environments/web/berth.yaml": "name: web\n"},
		map[string]string{"other.txt": "y"},
	)
	s := newRepoSource("", "", filepath.Join(repo, "environments"), t.TempDir())
	if s.where != repo || s.prefix != "environments" {
		t.Fatalf("repo source: %+v", s)
	}
	defer s.close()
	ctx := context.Background()
	head, err := s.Resolve(ctx, "")
	if err != nil || head.Message != "commit c" || head.Author != "Ada" {
		t.Fatalf("head: %+v, %v", head, err)
	}
	log, err := s.Log(ctx, "web", 0)
	if err != nil || len(log) != 1 || log[0].Message != "commit b" {
		t.Fatalf("log: %+v, %v", log, err)
	}
	dir, err := s.Materialise(ctx, head, "web")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "berth.yaml")); err != nil || string(b) != "name: web\n" {
		t.Fatalf("workspace: %q, %v", b, err)
	}
	first, err := s.Resolve(ctx, "HEAD~2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Materialise(ctx, first, "web"); !errors.Is(err, core.ErrNotFound) || !strings.Contains(err.Error(), "environments/web is missing") {
		t.Fatalf("missing definition: %v", err)
	}
	if _, err := s.Resolve(ctx, "no-such-branch"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("bad revision: %v", err)
	}
	if _, err := s.Materialise(ctx, head, "../x"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("a definition name that is a path: %v", err)
	}
}

func TestUnreachableRepo(t *testing.T) {
	s := newRepoSource("file:///nonexistent/berth-repo.git", "", "", t.TempDir())
	_, err := s.Resolve(context.Background(), "")
	if !errors.Is(err, core.ErrNoRepo) || !strings.Contains(err.Error(), "nonexistent") {
		t.Fatalf("want ErrNoRepo naming the repo, got %v", err)
	}
}

func TestLockerBusyNamesHolder(t *testing.T) {
	l := locker{dataDir: t.TempDir()}
	release, err := l.Lock(context.Background(), "web", "deploy")
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Lock(context.Background(), "web", "up")
	if !errors.Is(err, core.ErrBusy) || !strings.Contains(err.Error(), "deploy") {
		t.Fatalf("want ErrBusy naming the deploy, got %v", err)
	}
	release()
	release, err = l.Lock(context.Background(), "web", "up")
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func TestStateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	got, err := StateDir("", func(k string) string {
		if k == "BERTH_STATE_DIR" {
			return dir
		}
		return ""
	})
	if err != nil || got != dir {
		t.Fatalf("StateDir: %s, %v", got, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("not made: %v", err)
	}
}

func TestGitIdentityFromEnvironment(t *testing.T) {
	name, email := gitIdentity(func(k string) string {
		return map[string]string{"GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com"}[k]
	})
	if name != "Ada" || email != "ada@example.com" {
		t.Fatalf("%s <%s>", name, email)
	}
}

func TestNoRepo(t *testing.T) {
	s := &repoSource{dataDir: t.TempDir()}
	if _, err := s.Resolve(context.Background(), ""); !errors.Is(err, core.ErrNoRepo) || !strings.Contains(err.Error(), "--repo") {
		t.Fatalf("want ErrNoRepo saying what to do, got %v", err)
	}
}

func TestRepoFollowsSavedDefinitionsFolder(t *testing.T) {
	a := gitRepo(t, map[string]string{"environments/web/berth.yaml": "name: web\n"})
	b := gitRepo(t, map[string]string{"defs/api/berth.yaml": "name: api\n", "environments/x": ""})
	s := newRepoSource("", "", filepath.Join(a, "environments"), t.TempDir())
	defer s.close()
	if _, err := s.Log(context.Background(), "web", 0); err != nil {
		t.Fatal(err)
	}
	s.point(filepath.Join(b, "defs"))
	if s.where != b || s.prefix != "defs" {
		t.Fatalf("not re-pointed: %s %s", s.where, s.prefix)
	}
	if log, err := s.Log(context.Background(), "api", 0); err != nil || len(log) != 1 {
		t.Fatalf("log after re-pointing: %v, %v", log, err)
	}
}
