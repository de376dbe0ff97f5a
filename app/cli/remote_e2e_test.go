//go:build linux

package cli

// The shop on a second, real Docker engine that behaves like another host
// (testenv.Rig: its own dockerd and sshd in a network namespace, where this
// machine's temp folders do not exist), reached the three ways a user
// would: ssh with an ~/.ssh/config alias, tcp with TLS, and a docker
// context made with the docker CLI. Each way brings the shop up with its
// review seed cloned, serves HTTP on the rig's address, snapshots and
// restores the database, reports a change made on the remote as drift,
// deploys and rolls back (the bind-mounted web content follows), and goes
// down leaving nothing on the engine.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/testenv"
)

func TestRemoteEngines(t *testing.T) {
	testenv.Short(t)
	rig := testenv.StartRig(t, shopImages...)

	home := t.TempDir()
	rig.WriteSSHConfig(t, home, "berth-remote")
	t.Setenv("HOME", home)
	// ssh reads the config of the home folder in the user database, not
	// $HOME; this ssh reads the test's, as the user's own would be read.
	bin := t.TempDir()
	real := testenv.Tool(t, "ssh")
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte("#!/bin/sh\nexec "+real+" -F \"$HOME/.ssh/config\" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DOCKER_CONFIG", filepath.Join(home, ".docker"))
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	// A context made by the docker CLI itself, naming the rig over TLS.
	ctxDesc := fmt.Sprintf("host=%s,ca=%s,cert=%s,key=%s", rig.TLSHost,
		filepath.Join(rig.CertDir, "ca.pem"), filepath.Join(rig.CertDir, "cert.pem"), filepath.Join(rig.CertDir, "key.pem"))
	if out, err := exec.Command("docker", "context", "create", "rig", "--docker", ctxDesc).CombinedOutput(); err != nil {
		t.Fatalf("docker context create: %v: %s", err, out)
	}

	// A known_hosts line for another key is refused, naming the host.
	t.Run("ssh-unknown-host-key", func(t *testing.T) {
		other := t.TempDir()
		rig.WriteSSHConfig(t, other, "berth-remote")
		if err := os.WriteFile(filepath.Join(other, ".ssh", "known_hosts"), []byte(rig.Addr+" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq0Yq2g3N0cVZ3tr0x6Q5n4b6m0cOSVvYbm2KJ7c1Xk\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("HOME", other)
		code, _, stderr := berth(t, "-H", "ssh://berth-remote", "status", "nothing-here")
		if code == ExitOK || !strings.Contains(stderr, "ssh://berth-remote") || !strings.Contains(strings.ToLower(stderr), "host key") {
			t.Fatalf("a wrong host key: exit %d, want a failure naming the host and its key:\n%s", code, stderr)
		}
	})

	ways := []struct {
		name  string
		flags []string
		env   map[string]string
	}{
		{"ssh", []string{"-H", "ssh://berth-remote"}, nil},
		{"tls", []string{"-H", rig.TLSHost}, map[string]string{"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": rig.CertDir}},
		{"context", []string{"--context", "rig"}, nil},
	}
	for _, w := range ways {
		t.Run(w.name, func(t *testing.T) {
			for k, v := range w.env {
				t.Setenv(k, v)
			}
			remoteShop(t, rig, w.flags)
		})
	}
}

func remoteShop(t *testing.T, rig *testenv.Rig, flags []string) {
	repo, rev1, rev2 := shopRepo(t)
	env := uniqueName("remote-shop")
	base := append(append([]string{}, flags...), "--definitions", filepath.Join(repo.dir, "environments"))
	cli := func(args ...string) (int, string, string) { return berth(t, append(base, args...)...) }
	t.Cleanup(func() {
		for _, kind := range []string{"container", "volume"} {
			ids := strings.Fields(rigTry(rig, kind, "ls", "-aq", "--filter", "label=com.docker.compose.project="+env))
			if kind == "volume" {
				ids = append(strings.Fields(rigTry(rig, "volume", "ls", "-q", "--filter", "label=com.docker.compose.project="+env)),
					strings.Fields(rigTry(rig, "volume", "ls", "-q", "--filter", "label=dev.berth.source-of="+env))...)
			}
			if len(ids) > 0 {
				rigTry(rig, append([]string{kind, "rm", "-f"}, ids...)...)
			}
		}
	})

	// Up from the checkout (the second revision), as the review variant:
	// its seed is cloned into the database.
	if code, _, _ := cli("up", "shop", "--as", env, "--variant", "review"); code != ExitOK {
		t.Fatalf("up on the remote engine: exit %d", code)
	}
	web := "http://" + rig.Addr + ":8080"
	status, body := httpGet(t, web+"/api/products")
	var products []map[string]any
	if status != 200 || json.Unmarshal(body, &products) != nil || len(products) != 2 {
		t.Fatalf("GET /api/products on the remote: %d %s; want the review seed's 2 products", status, body)
	}
	// The containers run on the rig's engine, not on the local one.
	if ids := strings.Fields(rig.Docker(t, "ps", "-q", "--filter", "label=com.docker.compose.project="+env)); len(ids) != 5 {
		t.Fatalf("want 5 containers of %s on the rig, got %d", env, len(ids))
	}
	local := exec.Command("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+env)
	local.Env = append(os.Environ(), "DOCKER_TLS_VERIFY=", "DOCKER_CERT_PATH=", "DOCKER_CONFIG="+t.TempDir())
	if out, err := local.CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("the local engine holds containers of %s (or did not answer: %v): %s", env, err, out)
	}
	// The bind sources went into volumes on the rig.
	if copies := rig.Docker(t, "volume", "ls", "-q", "--filter", "label=dev.berth.source-of="+env); len(strings.Fields(copies)) != 2 {
		t.Fatalf("want 2 source copies (db/init and web/public) on the rig, got %q", copies)
	}
	db := env + "-db-1"
	psql := func(sql string) string {
		t.Helper()
		// After a snapshot or a restore the server starts again: wait
		// until it takes connections.
		rig.Docker(t, "exec", db, "sh", "-c", "for i in $(seq 600); do pg_isready -q -U shop && exit 0; sleep 0.1; done; exit 1")
		return rig.Docker(t, "exec", db, "psql", "-U", "shop", "-d", "shop", "-tAc", sql)
	}
	rows := func() string { return psql("select count(*) from products") }

	// A snapshot, a change, a restore.
	if code, _, _ := cli("db", "snapshot", env, "--name", "before"); code != ExitOK {
		t.Fatalf("db snapshot: exit %d", code)
	}
	psql("delete from orders; delete from products")
	if n := rows(); n != "0" {
		t.Fatalf("products after delete: %s", n)
	}
	if code, _, _ := cli("db", "restore", env, "before", "--yes"); code != ExitOK {
		t.Fatalf("db restore: exit %d", code)
	}
	if n := rows(); n != "2" {
		t.Fatalf("products after restore: %s, want 2", n)
	}

	// A change made on the remote is drift.
	rig.Docker(t, "update", "--memory", "256m", "--memory-swap", "-1", env+"-cache-1")
	code, r := check(t, base, env)
	if code != ExitDrift || findItem(r, "cache", "/deploy/resources/limits/memory", drift.KindAdded) == nil {
		t.Fatalf("docker update on the remote: exit %d, items %+v", code, r.Runtime)
	}
	if code, _, _ := cli("sync", env, "--yes"); code != ExitOK {
		t.Fatalf("sync: exit %d", code)
	}
	if code, r := check(t, base, env); code != ExitOK {
		t.Fatalf("after sync: exit %d, items %+v (the copied binds must read as the declared binds)", code, r.Runtime)
	}

	// The page nginx serves from its copied bind follows each deploy (the
	// checkout is at the second revision) and the rollback.
	marked := func(when string, want bool) {
		t.Helper()
		if _, page := httpGet(t, web+"/"); strings.Contains(string(page), "remote-rev2") != want {
			t.Fatalf("%s: the page has the marker %v, want %v:\n%s", when, !want, want, page)
		}
	}
	marked("after up from the checkout", true)
	for _, rev := range []string{rev1, rev2} {
		if code, _, _ := cli("deploy", env, rev, "--yes"); code != ExitOK {
			t.Fatalf("deploy %s: exit %d", rev[:7], code)
		}
		marked("after the deploy of "+rev[:7], rev == rev2)
	}
	if code, _, _ := cli("rollback", env, "--yes"); code != ExitOK {
		t.Fatalf("rollback: exit %d", code)
	}
	marked("after the rollback", false)
	if n := rows(); n != "2" {
		t.Fatalf("products after deploy and rollback: %s, want 2", n)
	}
	_, out, _ := cli("history", env, "-o", "json")
	var ds []core.Deployment
	if err := json.Unmarshal([]byte(out), &ds); err != nil || len(ds) < 2 {
		t.Fatalf("history on the remote: %d records (%v), want the deploy and the rollback", len(ds), err)
	}

	// The records are the remote engine's: the local engine has none of
	// this environment, though it has the same name.
	for _, d := range ds {
		if flags[0] == "-H" && d.Engine != flags[1] {
			t.Errorf("a record of the remote names engine %q, want %q", d.Engine, flags[1])
		}
	}
	_, out, _ = berth(t, "-H", "unix:///var/run/docker.sock", "history", env, "-o", "json")
	if strings.TrimSpace(out) != "[]" && strings.TrimSpace(out) != "null" {
		t.Fatalf("the local engine's history lists the remote's records:\n%s", out)
	}

	// Down: nothing of the environment stays on the remote.
	if code, _, _ := cli("down", env, "--volumes"); code != ExitOK {
		t.Fatalf("down: exit %d", code)
	}
	for _, args := range [][]string{
		{"ps", "-aq", "--filter", "label=com.docker.compose.project=" + env},
		{"volume", "ls", "-q", "--filter", "label=com.docker.compose.project=" + env},
		{"volume", "ls", "-q", "--filter", "label=dev.berth.source-of=" + env},
		{"network", "ls", "-q", "--filter", "label=com.docker.compose.project=" + env},
	} {
		if left := rig.Docker(t, args...); left != "" {
			t.Fatalf("down left on the remote (%s): %s", strings.Join(args, " "), left)
		}
	}
}

// rigTry runs the docker CLI against the rig and ignores failures (clean-up).
func rigTry(rig *testenv.Rig, args ...string) string {
	out, _ := exec.Command("docker", append([]string{"-H", "unix://" + rig.Socket}, args...)...).Output()
	return string(out)
}
