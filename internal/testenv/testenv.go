// Package testenv gates tests that need real things (a Docker engine, local
// images, PostgreSQL clients). Such a test calls the gate first: without the
// thing it is skipped on a developer's machine, and it fails when
// BERTH_INTEGRATION=1 (make test and CI set it), so CI can never pass by
// skipping the real proof.
package testenv

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Required reports whether missing real dependencies fail tests instead of
// skipping them.
func Required() bool { return os.Getenv("BERTH_INTEGRATION") == "1" }

// Missing skips or fails the test, saying what is missing.
func Missing(t testing.TB, what string) {
	t.Helper()
	if Required() {
		t.Fatalf("BERTH_INTEGRATION=1 but %s", what)
	}
	t.Skipf("skipped: %s (set BERTH_INTEGRATION=1 to make this a failure)", what)
}

// Short skips tests that need real things under go test -short.
func Short(t testing.TB) {
	t.Helper()
	if testing.Short() && !Required() {
		t.Skip("skipped in -short mode: needs a Docker engine")
	}
}

// Engine makes sure a Docker engine answers on the default socket (or
// DOCKER_HOST), the way integration tests reach it.
func Engine(t testing.TB) {
	t.Helper()
	Short(t)
	if !engineAnswers() {
		Missing(t, "no Docker engine answers (run scripts/engine.sh as root)")
	}
}

// Image makes sure the named local images exist (built by make images).
func Image(t testing.TB, refs ...string) {
	t.Helper()
	Engine(t)
	for _, ref := range refs {
		out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", ref).CombinedOutput()
		if err != nil {
			Missing(t, "image "+ref+" is missing (run make images): "+strings.TrimSpace(string(out)))
		}
	}
}

// Tool makes sure a program is on PATH.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed")
	}
	return p
}

func engineAnswers() bool {
	host := os.Getenv("DOCKER_HOST")
	sock := "/var/run/docker.sock"
	if strings.HasPrefix(host, "unix://") {
		sock = strings.TrimPrefix(host, "unix://")
	} else if host != "" {
		// A TCP or SSH engine: trust the docker CLI to say.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return exec.CommandContext(ctx, "docker", "version").Run() == nil
	}
	c := http.Client{
		Timeout: 3 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}
	resp, err := c.Get("http://engine/_ping")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
