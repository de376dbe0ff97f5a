package cli

// The fault-injection suite: a CLI built with the "failpoint" tag is
// killed (SIGKILL, as a crash would) at every point an operation passes
// (internal/failpoint: after its record begins, after each op of its plan,
// in the middle of a container's replacement, while a helper container
// copies, in a helper's swap of data folders), one run per point, on the
// real engine with a real PostgreSQL database; the same command then runs
// again and must converge: it succeeds, the plan is empty, the database
// holds either the old or the new content (never a mix, never nothing),
// no helper or half-replaced container is left, and the objects the test
// made beside Berth's are untouched. A connection to the engine cut in the
// middle of an operation is one more fault class.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/failpoint"
	"github.com/berthdev/berth/internal/testenv"
)

var (
	faultBinOnce sync.Once
	faultBin     string
	faultBinErr  error
)

// faultBinary builds the CLI with failpoints compiled in, once.
func faultBinary(t *testing.T) string {
	t.Helper()
	faultBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "berth-fault-")
		if err != nil {
			faultBinErr = err
			return
		}
		faultBin = filepath.Join(dir, "berth")
		if out, err := exec.Command("go", "build", "-tags", "nogui,failpoint", "-o", faultBin, "../..").CombinedOutput(); err != nil {
			faultBinErr = fmt.Errorf("go build -tags failpoint: %v\n%s", err, out)
		}
	})
	if faultBinErr != nil {
		t.Fatal(faultBinErr)
	}
	return faultBin
}

// faultCompose is the definition: PostgreSQL from a seed, and a web
// service whose V changes between revisions.
func faultCompose(v string) string {
	db, volumes, _ := strings.Cut(pgCompose("1"), "volumes:\n  data:\n")
	_ = volumes
	return db + fmt.Sprintf(`  web:
    image: %s
    environment:
      V: %q
    depends_on:
      db:
        condition: service_healthy
volumes:
  data:
`, probe, v)
}

// faultRun is one run of the failpoint CLI.
type faultRun struct {
	code   int
	killed bool
	out    string
}

func TestFaultInjection(t *testing.T) {
	testenv.Engine(t)
	testenv.Image(t, probe)
	testenv.Image(t, "postgres:15")
	if !failpoint.Enabled {
		// This test binary has no failpoints; the CLI it runs does.
		t.Log("failpoints are compiled into the CLI built for this test, not into the test itself")
	}
	bin := faultBinary(t)
	env := uniqueName("fault")
	state := t.TempDir()
	t.Cleanup(func() {
		removeLabelled(env)
		removeVolumesLabelled("dev.berth.db-env=" + env)
	})

	repo := newDefRepo(t)
	manifest := "name: probe\ndatabases:\n  - service: db\n    engine: postgres\n    source: {seed: seed/app.sql}\n"
	r1 := repo.commit("v1", map[string]string{"berth.yaml": manifest, "compose.yaml": faultCompose("1"), "seed/app.sql": pgSeed})
	r2 := repo.commit("v2", map[string]string{"compose.yaml": faultCompose("2")})
	base := []string{"--repo", repo.dir, "--definitions", filepath.Join(repo.dir, "environments"), "--trust"}

	// Objects beside Berth's, which nothing may touch.
	foreignVol := env + "_not-berths"
	docker(t, "volume", "create", foreignVol)
	t.Cleanup(func() { exec.Command("docker", "volume", "rm", "-f", foreignVol).Run() })
	foreign := env + "-foreign"
	docker(t, "run", "-d", "--name", foreign, probe, "sleep")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", foreign).Run() })
	foreignID := docker(t, "inspect", "-f", "{{.Id}}", foreign)

	run := func(t *testing.T, extra []string, args ...string) faultRun {
		t.Helper()
		cmd := exec.Command(bin, append(append([]string{}, base...), args...)...)
		cmd.Env = append(os.Environ(), "BERTH_STATE_DIR="+state)
		cmd.Env = append(cmd.Env, extra...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		r := faultRun{out: out.String()}
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			r.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
				r.killed = true
			}
		default:
			t.Fatalf("running %v: %v", args, err)
		}
		return r
	}
	must := func(t *testing.T, args ...string) {
		t.Helper()
		if r := run(t, nil, args...); r.code != 0 {
			t.Fatalf("berth %s: exit %d\n%s", strings.Join(args, " "), r.code, r.out)
		}
	}
	seeded := ""
	sums := func(t *testing.T) string { return tableSums(t, env) }

	// converged checks what a run after a fault must leave.
	converged := func(t *testing.T, what string, want ...string) {
		t.Helper()
		// What runs is what the deployed revision says: no runtime drift,
		// no workspace file changed (the branch may be ahead: a rollback).
		r := run(t, nil, "check", env, "-o", "json")
		var rep core.DriftReport
		if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
			t.Errorf("%s: check: exit %d\n%s", what, r.code, r.out)
		} else if len(rep.Runtime) != 0 || len(rep.Files) != 0 {
			t.Errorf("%s: not converged: %d runtime differences %v, %d files", what, len(rep.Runtime), rep.Runtime, len(rep.Files))
		}
		got := sums(t)
		ok := false
		for _, w := range want {
			ok = ok || got == w
		}
		if !ok {
			t.Errorf("%s: DATA LOST: the database holds %s\nwant one of %q", what, got, want)
		}
		// Nothing left behind: no helper, no container half replaced. Only
		// this environment's containers count: the other suites run beside
		// this one and replace containers of their own.
		out := docker(t, "ps", "-a", "--filter", "label=dev.berth.managed=true", "--format", `{{.Names}}|{{.Label "dev.berth.helper"}}|{{.Label "com.docker.compose.project"}}|{{.Label "dev.berth.db-env"}}`)
		for _, line := range strings.Split(out, "\n") {
			f := strings.Split(line, "|")
			switch {
			case len(f) < 4 || (f[2] != env && f[3] != env):
			case strings.Contains(f[0], "berth-replaced"):
				t.Errorf("%s: a container left half replaced: %s", what, line)
			case f[1] == "true":
				t.Errorf("%s: a helper left: %s", what, line)
			}
		}
		// Nor a copy-on-write probe's volume (a probe killed mid-run).
		if vols := docker(t, "volume", "ls", "-q", "--filter", "label=dev.berth.db-role=probe", "--filter", "label=dev.berth.db-env="+env); vols != "" {
			t.Errorf("%s: probe volumes left: %s", what, vols)
		}
		if id := docker(t, "inspect", "-f", "{{.Id}} {{.State.Running}}", foreign); id != foreignID+" true" {
			t.Errorf("%s: the foreign container was touched: %s", what, id)
		}
		if _, err := exec.Command("docker", "volume", "inspect", foreignVol).Output(); err != nil {
			t.Errorf("%s: the foreign volume is gone", what)
		}
	}

	// A scenario: how to reach its starting point, its command, and the
	// contents the database may hold after it.
	type scenario struct {
		name  string
		setup func(t *testing.T)
		cmd   []string
		want  func() []string
	}
	modified := ""
	atR1 := func(t *testing.T) {
		must(t, "deploy", "probe", r1, "--as", env, "--yes")
	}
	modify := func(t *testing.T) {
		atR1(t)
		pgq(t, env, "UPDATE notes SET body = 'changed'; DELETE FROM items WHERE id % 5 = 0")
		modified = sums(t)
	}
	scenarios := []scenario{
		{name: "up", setup: func(t *testing.T) {
			if len(labelled(t, env)) > 0 {
				must(t, "down", env, "--volumes")
			}
		}, cmd: []string{"up", "probe", "--as", env}, want: func() []string { return []string{seeded} }},
		{name: "deploy", setup: atR1, cmd: []string{"deploy", "probe", r2, "--as", env, "--yes"}, want: func() []string { return []string{seeded} }},
		{name: "rollback", setup: func(t *testing.T) { atR1(t); must(t, "deploy", "probe", r2, "--as", env, "--yes") },
			cmd: []string{"rollback", env, "--yes"}, want: func() []string { return []string{seeded} }},
		{name: "db clone", setup: modify, cmd: []string{"db", "clone", env}, want: func() []string { return []string{modified, seeded} }},
		{name: "db restore", setup: modify, cmd: []string{"db", "restore", env, "base", "--yes"}, want: func() []string { return []string{modified, seeded} }},
	}

	// The starting point: the environment at r1 from its seed, and a
	// snapshot of the seeded database to restore.
	must(t, "deploy", "probe", r1, "--as", env, "--yes")
	seeded = sums(t)
	must(t, "db", "snapshot", env, "--name", "base")

	tried, converges := 0, 0
	for _, sc := range scenarios {
		sc.setup(t)
		// The points this command passes, from a trace of a clean run.
		trace := filepath.Join(t.TempDir(), "trace")
		if r := run(t, []string{"BERTH_FAILPOINT_TRACE=" + trace}, sc.cmd...); r.code != 0 {
			t.Fatalf("%s: the traced run failed: exit %d\n%s", sc.name, r.code, r.out)
		}
		points := tracedPoints(t, trace)
		if strings.HasPrefix(sc.name, "db") {
			points = append(points, failpoint.ScriptPoints...)
		}
		if len(points) == 0 {
			t.Fatalf("%s: no failpoint was passed", sc.name)
		}
		for _, point := range points {
			t.Run(sc.name+"/"+point, func(t *testing.T) {
				sc.setup(t)
				want := sc.want()
				r := run(t, []string{"BERTH_FAILPOINT=" + point}, sc.cmd...)
				script := !strings.Contains(point, ":")
				switch {
				case script && r.code == 0:
					// A helper script point this command's helpers do not pass.
					t.Skipf("%s is not on this command's path", point)
				case !script && !r.killed:
					t.Fatalf("not killed at %s: exit %d\n%s", point, r.code, r.out)
				}
				tried++
				if r2 := run(t, nil, sc.cmd...); r2.code != 0 {
					t.Fatalf("the run after the fault failed: exit %d\n%s", r2.code, r2.out)
				}
				converged(t, sc.name+" killed at "+point, want...)
				if !t.Failed() {
					converges++
				}
			})
		}
	}

	// The engine goes away in the middle: the connection cut as the
	// deploy starts its second container.
	t.Run("engine cut mid-deploy", func(t *testing.T) {
		atR1(t)
		proxy := testenv.NewSocketProxy(t, engineSocket(t))
		var starts atomic.Int32
		proxy.Watch(func(b []byte) {
			if bytes.Contains(b, []byte("/start ")) && starts.Add(1) == 1 {
				go proxy.Cut()
			}
		})
		cut := exec.Command(bin, append(append([]string{}, base...), "-H", "unix://"+proxy.Path, "deploy", "probe", r2, "--as", env, "--yes")...)
		cut.Env = append(os.Environ(), "BERTH_STATE_DIR="+state)
		out, err := cut.CombinedOutput()
		if err == nil {
			t.Fatalf("the deploy went through a cut connection:\n%s", out)
		}
		tried++
		if r := run(t, nil, "deploy", "probe", r2, "--as", env, "--yes"); r.code != 0 {
			t.Fatalf("the deploy after the cut: exit %d\n%s", r.code, r.out)
		}
		converged(t, "engine cut mid-deploy", seeded)
		if !t.Failed() {
			converges++
		}
	})
	report := fmt.Sprintf("fault points tried: %d; converged: %d; failed: %d", tried, converges, tried-converges)
	t.Log(report)
	// make test prints the report whether the suite passes or not.
	if f := os.Getenv("BERTH_FAULT_REPORT"); f != "" {
		if err := os.WriteFile(f, []byte(report+"\n"), 0o644); err != nil {
			t.Errorf("writing the report: %v", err)
		}
	}
}

// tracedPoints reads the points a traced run passed ("NAME:N" lines),
// each once, in the order they came.
func tracedPoints(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no trace: %v", err)
	}
	var out []string
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l != "" && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

// engineSocket is the path of the local engine's socket.
func engineSocket(t *testing.T) string {
	t.Helper()
	host := os.Getenv("DOCKER_HOST")
	if host == "" {
		return "/var/run/docker.sock"
	}
	if p, ok := strings.CutPrefix(host, "unix://"); ok {
		return p
	}
	testenv.Missing(t, "the engine is not on a unix socket ("+host+"): the socket proxy forwards one")
	return ""
}
