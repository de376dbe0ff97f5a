package engine

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/testenv"
)

// TestHelperAndManagedVolumes: helper containers report exit code and
// output and are removed; volumes and containers without the managed label
// are never removed or stopped.
func TestHelperAndManagedVolumes(t *testing.T) {
	e := testEngine(t)
	testenv.Image(t, "postgres:15")
	ctx := testCtx(t, 3*time.Minute)
	name := uniqueProject(t, e)
	mine, foreign := name+"-mine", name+"-foreign"
	t.Cleanup(func() { exec.Command("docker", "volume", "rm", "-f", mine, foreign).Run() })

	if err := e.CreateManagedVolume(ctx, mine, map[string]string{"dev.berth.test": name}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateManagedVolume(ctx, mine, nil, nil); err == nil {
		t.Error("a second volume of the same name was created")
	}
	var lines []string
	res, err := e.RunHelper(ctx, HelperSpec{Image: "postgres:15", Cmd: []string{"sh", "-c", "echo one; echo two >&2; echo data > /v/f; exit 3"},
		Mounts: []HelperMount{{Volume: mine, Target: "/v"}}, Labels: map[string]string{"dev.berth.test": name},
		Line: func(l string) { lines = append(lines, l) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || !strings.Contains(res.Output, "one") || !strings.Contains(res.Output, "two") || len(lines) != 2 {
		t.Errorf("result %+v, lines %q", res, lines)
	}
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=dev.berth.test="+name).Output()
	if strings.TrimSpace(string(out)) != "" {
		t.Errorf("the helper container is still there: %s", out)
	}
	// The image declares VOLUME /var/lib/postgresql/data: the anonymous
	// volume the engine made for it (named in the helper's mountinfo) goes
	// with the helper.
	res, err = e.RunHelper(ctx, HelperSpec{Image: "postgres:15", Cmd: []string{"grep", " /var/lib/postgresql/data ", "/proc/self/mountinfo"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	anon := ""
	for _, f := range strings.Fields(res.Output) {
		if rest, ok := strings.CutPrefix(f[strings.Index(f, "/volumes/")+1:], "volumes/"); ok && strings.Contains(f, "/volumes/") {
			anon, _, _ = strings.Cut(rest, "/")
			break
		}
	}
	if anon == "" {
		t.Fatalf("no anonymous volume in the helper's mountinfo:\n%s", res.Output)
	}
	if _, ok, _ := e.InspectVolume(ctx, anon); ok {
		t.Errorf("the helper's anonymous volume %s is left behind", anon)
	}

	if out, err := exec.Command("docker", "volume", "create", foreign).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := e.RemoveManagedVolume(ctx, foreign); !errors.Is(err, ErrNotManaged) {
		t.Errorf("removing a foreign volume: %v, want ErrNotManaged", err)
	}
	if _, ok, _ := e.InspectVolume(ctx, foreign); !ok {
		t.Error("the foreign volume is gone")
	}
	cname := name + "-foreign"
	if out, err := exec.Command("docker", "run", "-d", "--name", cname, "--entrypoint", "sleep", "postgres:15", "300").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", cname).Run() })
	if err := e.StopContainer(ctx, cname, time.Second); !errors.Is(err, ErrNotManaged) {
		t.Errorf("stopping a foreign container: %v, want ErrNotManaged", err)
	}
	if _, running, _ := e.ContainerRunning(ctx, cname); !running {
		t.Error("the foreign container was stopped")
	}
	if err := e.RemoveManagedVolume(ctx, mine); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := e.InspectVolume(ctx, mine); ok {
		t.Error("the managed volume is still there")
	}
}

// TestHelperNetworks: no helper runs in the engine host's network
// namespace. One that reaches nothing (dbclone.NoNetwork, the default)
// has a namespace of its own with only loopback; one that reads a live
// source (dbclone.SourceNetwork) is on the default bridge; the host's
// namespace and another container's are refused outright.
func TestHelperNetworks(t *testing.T) {
	e := testEngine(t)
	testenv.Image(t, "postgres:15")
	ctx := testCtx(t, 2*time.Minute)
	// what a helper sees: its namespace, its interfaces, its routes
	const look = `readlink /proc/self/ns/net; echo "ifaces $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' ')"; echo "routes $(($(wc -l </proc/net/route) - 1))"`
	type view struct {
		ns, ifaces string
		routes     int
	}
	inside := func(network string) view {
		t.Helper()
		res, err := e.DBClone().RunHelper(ctx, dbclone.Helper{Image: "postgres:15", Network: network, Cmd: []string{"bash", "-c", look}})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("helper on %q: %+v %v", network, res, err)
		}
		var v view
		for _, l := range strings.Split(strings.TrimSpace(res.Output), "\n") {
			switch {
			case strings.HasPrefix(l, "net:"):
				v.ns = l
			case strings.HasPrefix(l, "ifaces "):
				v.ifaces = strings.TrimSpace(strings.TrimPrefix(l, "ifaces "))
			case strings.HasPrefix(l, "routes "):
				v.routes, _ = strconv.Atoi(strings.TrimPrefix(l, "routes "))
			}
		}
		if v.ns == "" {
			t.Fatalf("helper on %q printed no namespace:\n%s", network, res.Output)
		}
		return v
	}
	out, err := exec.Command("docker", "run", "--rm", "--network", "host", "--entrypoint", "readlink", "postgres:15", "/proc/self/ns/net").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run --network host: %v: %s", err, out)
	}
	host := strings.TrimSpace(string(out))
	for _, network := range []string{dbclone.NoNetwork, ""} {
		v := inside(network)
		if v.ns == host {
			t.Errorf("a helper on %q runs in the host's network namespace %s", network, host)
		}
		if v.ifaces != "lo" || v.routes != 0 {
			t.Errorf("a helper on %q has interfaces %q and %d routes, want loopback only", network, v.ifaces, v.routes)
		}
	}
	v := inside(dbclone.SourceNetwork)
	if v.ns == host {
		t.Errorf("a source's helper runs in the host's network namespace %s", host)
	}
	if !strings.Contains(v.ifaces, "eth0") || v.routes == 0 {
		t.Errorf("a source's helper has interfaces %q and %d routes, want the bridge's eth0 and a route", v.ifaces, v.routes)
	}
	for _, network := range []string{"host", "container:" + host, "default", "berth:no-sockets"} {
		_, err := e.DBClone().RunHelper(ctx, dbclone.Helper{Image: "postgres:15", Network: network, Cmd: []string{"true"}})
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("a helper on %q: %v, want it refused", network, err)
		}
	}
}

// TestStopRightAfterStart: a database container stopped the moment it
// starts (its entrypoint script, the container's init, ignores a signal
// until it hands over to the server) still stops cleanly, long before the
// timeout: the stop signal is sent again until it lands. The old way (one
// signal, then SIGKILL at the timeout) would leave this test waiting for
// the ten-minute timeout past its deadline, and exit 137.
func TestStopRightAfterStart(t *testing.T) {
	e := testEngine(t)
	testenv.Image(t, "postgres:15")
	ctx := testCtx(t, 3*time.Minute)
	name := uniqueProject(t, e) + "-stop"
	t.Cleanup(func() {
		exec.Command("docker", "rm", "-f", name).Run()
		exec.Command("docker", "volume", "rm", "-f", name).Run()
	})
	if out, err := exec.Command("docker", "run", "-d", "--name", name, "--label", "dev.berth.managed=true", "-e", "POSTGRES_PASSWORD=x",
		"-v", name+":/var/lib/postgresql/data", "postgres:15").CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	// Initialised once, so that later starts only start the server.
	for {
		if exec.Command("docker", "exec", name, "pg_isready", "-h", "127.0.0.1").Run() == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("postgres never became ready")
		case <-time.After(200 * time.Millisecond):
		}
	}
	for i := 0; i < 3; i++ {
		if err := e.StopContainer(ctx, name, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		code := strings.TrimSpace(string(must(exec.Command("docker", "inspect", "-f", "{{.State.ExitCode}}", name).Output())))
		if code != "0" {
			t.Fatalf("stop %d: exit code %s, want a clean shutdown (0)", i, code)
		}
		if err := e.StartContainer(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
