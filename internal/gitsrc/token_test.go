package gitsrc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/testenv"
)

const testToken = "s3cret-token-4a1f"

func TestHTTPSTokenCloneAndFetch(t *testing.T) {
	// No credential helper of the user's answers here.
	t.Setenv("GIT_CONFIG_GLOBAL", "/dev/null")
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	f := newFixture(t)
	f.write(map[string]string{"environments/web/berth.yaml": "1"})
	first := f.commit("one")
	served := t.TempDir()
	bare := filepath.Join(served, "defs.git")
	f.git("clone", "-q", "--bare", f.dir, bare)
	srv := testenv.GitHTTPServer(t, served, testToken)
	url := srv.URL + "/defs.git"
	ctx := context.Background()

	// The right token, read from the environment: clone, then fetch.
	t.Setenv("BERTH_TEST_TOKEN", testToken)
	data := t.TempDir()
	r, err := Open(ctx, Source{URL: url, Auth: Auth{TokenEnv: "BERTH_TEST_TOKEN"}}, data)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if h, err := r.Head(""); err != nil || h.Hash != first {
		t.Fatalf("head of the clone: %+v %v", h, err)
	}
	f.write(map[string]string{"environments/web/berth.yaml": "2"})
	second := f.commit("two")
	f.git("push", "-q", bare, "main")
	if changed, err := r.Fetch(ctx); err != nil || !changed {
		t.Fatalf("fetch: %v %v", changed, err)
	}
	if h, err := r.Head(""); err != nil || h.Hash != second {
		t.Fatalf("head after the fetch: %+v %v", h, err)
	}
	refusedBefore := srv.Refused.Load()

	// The token is read at each use: a wrong one now refuses the fetch.
	t.Setenv("BERTH_TEST_TOKEN", "wrong-"+testToken)
	_, err = r.Fetch(ctx)
	checkAuthErr(t, err, "refused the token from $BERTH_TEST_TOKEN")

	tests := []struct {
		name string
		auth Auth
		want string
	}{
		{"wrong token", Auth{Token: "not-" + testToken}, "refused the token given"},
		{"no token", Auth{}, "needs credentials"},
		{"token variable unset", Auth{TokenEnv: "BERTH_TEST_TOKEN_UNSET"}, "$BERTH_TEST_TOKEN_UNSET is empty or unset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := t.TempDir()
			_, err := Open(ctx, Source{URL: url, Auth: tt.auth}, data)
			checkAuthErr(t, err, tt.want)
			// Nothing half-cloned is left behind.
			if ents, err := os.ReadDir(filepath.Join(data, "repos")); err == nil && len(ents) > 0 {
				t.Fatalf("left behind after a refused clone: %v", ents)
			}
		})
	}
	if srv.Refused.Load() <= refusedBefore {
		t.Fatal("the server never refused a request: the test proves nothing")
	}
}

func checkAuthErr(t *testing.T, err error, want string) {
	t.Helper()
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("want ErrAuth, got %v", err)
	}
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "authentication") {
		t.Fatalf("error %q: want it to say %q and authentication", err, want)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Fatalf("the token is in the error: %q", err)
	}
}

// TestCredentialHelper: with no token, the credentials come from git's
// credential helpers, as git itself would get them: a real helper script
// configured in the git configuration answers `git credential fill`
// against the test git server. A token still wins; a helper's wrong
// password is refused naming the helper and the user, never the password.
func TestCredentialHelper(t *testing.T) {
	f := newFixture(t)
	f.write(map[string]string{"environments/web/berth.yaml": "1"})
	first := f.commit("one")
	served := t.TempDir()
	f.git("clone", "-q", "--bare", f.dir, filepath.Join(served, "defs.git"))
	srv := testenv.GitHTTPServer(t, served, testToken)
	url := srv.URL + "/defs.git"
	ctx := context.Background()

	dir := t.TempDir()
	asked := filepath.Join(dir, "asked")
	password := filepath.Join(dir, "password")
	helper := filepath.Join(dir, "helper.sh")
	// A helper as git runs them: the request on stdin, the answer on
	// stdout, for the "get" action only.
	script := "#!/bin/sh\n[ \"$1\" = get ] || exit 0\ncat > " + asked + "\necho username=ada\necho password=$(cat " + password + ")\n"
	if err := os.WriteFile(helper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	gitconfig := filepath.Join(dir, "gitconfig")
	if err := os.WriteFile(gitconfig, []byte("[credential]\n\thelper = "+helper+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", gitconfig)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")

	// The helper's password is right: the clone works, and the helper was
	// asked for this host (git passes the path on only with
	// credential.useHttpPath).
	if err := os.WriteFile(password, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, Source{URL: url, Auth: Auth{}}, t.TempDir())
	if err != nil {
		t.Fatalf("clone with the helper's credentials: %v", err)
	}
	if h, err := r.Head(""); err != nil || h.Hash != first {
		t.Fatalf("head: %+v %v", h, err)
	}
	r.Close()
	req, _ := os.ReadFile(asked)
	host := strings.TrimPrefix(srv.URL, "http://")
	if !strings.Contains(string(req), "protocol=http\n") || !strings.Contains(string(req), "host="+host+"\n") {
		t.Fatalf("the helper was asked %q", req)
	}

	// Wrong: refused, naming what was tried.
	if err := os.WriteFile(password, []byte("wrong-"+testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, Source{URL: url, Auth: Auth{}}, t.TempDir())
	checkAuthErr(t, err, "refused the credentials git's credential helper gave for "+host+" (user ada)")
	if strings.Contains(err.Error(), "wrong-") {
		t.Fatalf("the helper's password is in the error: %v", err)
	}

	// A token wins over the helper.
	if _, err := Open(ctx, Source{URL: url, Auth: Auth{Token: testToken}}, t.TempDir()); err != nil {
		t.Fatalf("the token did not win over the helper's wrong password: %v", err)
	}
	// Turned off, the helper is not asked.
	os.Remove(asked)
	_, err = Open(ctx, Source{URL: url, Auth: Auth{NoCredentialHelper: true}}, t.TempDir())
	checkAuthErr(t, err, "needs credentials")
	if _, err := os.Stat(asked); err == nil {
		t.Fatal("the helper was asked although turned off")
	}
}
