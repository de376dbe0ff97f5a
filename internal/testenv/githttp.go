package testenv

import (
	"crypto/subtle"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// GitHTTP is a real Git smart-HTTP server for tests: `git http-backend`
// run as CGI behind net/http, serving the bare repos under a folder and
// asking for HTTP basic auth whose password is the token.
type GitHTTP struct {
	// URL is the server's base; a repo <root>/x.git is at URL + "/x.git".
	URL string
	// Refused counts requests turned away for missing or wrong credentials.
	Refused atomic.Int64
}

// GitHTTPServer serves the bare repos under root over smart HTTP (clone,
// fetch) with basic auth: any user name, password token. It
// needs git with git-http-backend; the server stops when t ends.
func GitHTTPServer(t testing.TB, root, token string) *GitHTTP {
	t.Helper()
	git := Tool(t, "git")
	out, err := exec.Command(git, "--exec-path").Output()
	if err != nil {
		Missing(t, "git --exec-path failed: "+err.Error())
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	g := &GitHTTP{}
	cgiHandler := &cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME=" + root},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(pass), []byte(token)) != 1 {
			g.Refused.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		cgiHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}
