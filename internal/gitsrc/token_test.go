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
	checkAuthErr(t, err, "refused the credentials")

	tests := []struct {
		name string
		auth Auth
		want string
	}{
		{"wrong token", Auth{Token: "not-" + testToken}, "refused the credentials"},
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
