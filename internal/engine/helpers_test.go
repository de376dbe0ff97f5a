package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
	"github.com/berthdev/berth/internal/testenv"
)

// testEngine connects to the engine integration tests use.
func testEngine(t *testing.T) *Engine {
	t.Helper()
	testenv.Engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e, err := Connect(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// uniqueProject returns a fresh project name and removes everything
// labelled with it when the test ends.
func uniqueProject(t *testing.T, e *Engine) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "berthtest-" + hex.EncodeToString(b)
	t.Cleanup(func() { cleanupProject(t, e, name) })
	return name
}

func cleanupProject(t *testing.T, e *Engine, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	byLabel := filters.NewArgs(filters.Arg("label", reconcile.LabelProject+"="+name))
	byName := filters.NewArgs(filters.Arg("name", name))
	for _, f := range []filters.Args{byLabel, byName} {
		cs, _ := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		for _, c := range cs {
			if err := e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
				t.Logf("cleanup: removing container %s: %v", c.ID[:12], err)
			}
		}
	}
	for _, f := range []filters.Args{byLabel, byName} {
		ns, _ := e.cli.NetworkList(ctx, network.ListOptions{Filters: f})
		for _, n := range ns {
			if err := e.cli.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
				t.Logf("cleanup: removing network %s: %v", n.Name, err)
			}
		}
		vs, _ := e.cli.VolumeList(ctx, volume.ListOptions{Filters: f})
		for _, v := range vs.Volumes {
			if err := e.cli.VolumeRemove(ctx, v.Name, true); err != nil && !cerrdefs.IsNotFound(err) {
				t.Logf("cleanup: removing volume %s: %v", v.Name, err)
			}
		}
	}
	imgs, _ := e.cli.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "berth-test/build-"+name+"*"))})
	for _, im := range imgs {
		e.cli.ImageRemove(ctx, im.ID, image.RemoveOptions{Force: true, PruneChildren: true})
	}
}

var (
	probeMu  sync.Mutex
	probeRef string
)

// probeImage builds (once, and only when the engine lacks it) a FROM
// scratch image holding testdata/probe compiled as a static binary, through
// the engine's own build op. Its tag carries a hash of the source and the
// Go version, so a changed probe gets a new image.
func probeImage(t *testing.T, e *Engine) string {
	t.Helper()
	probeMu.Lock()
	defer probeMu.Unlock()
	if probeRef != "" {
		return probeRef
	}
	src, err := os.ReadFile(filepath.Join("testdata", "probe", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append(src, runtime.Version()...))
	ref := "berth-test/engine-probe:" + hex.EncodeToString(sum[:6])
	ctx := testCtx(t, 3*time.Minute)
	if _, err := e.cli.ImageInspect(ctx, ref); err == nil {
		probeRef = ref
		return ref
	}
	dir := t.TempDir()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building the probe needs the go command: %v", err)
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "probe"), "./testdata/probe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY probe /probe\nENTRYPOINT [\"/probe\"]\nCMD [\"serve\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &spec.Service{Name: "probe", Image: ref, Build: &spec.Build{Context: dir, Dockerfile: "Dockerfile"}, BuildHash: hex.EncodeToString(sum[:])}
	if err := e.buildImage(ctx, &spec.Project{Name: "probe"}, s, ref, func(string) {}); err != nil {
		t.Fatalf("building the probe image: %v", err)
	}
	probeRef = ref
	return ref
}

// freePort returns a TCP port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// httpGet fetches a URL, retrying briefly while the server starts.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	var last error
	for range 40 {
		resp, err := c.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b)
			}
			err = fmt.Errorf("%s: %s", resp.Status, b)
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

// recorder collects progress reports.
type recorder struct {
	mu  sync.Mutex
	all []reconcile.Progress
}

func (r *recorder) add(p reconcile.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, p)
}

// statuses lists the statuses reported for an op id, in order.
func (r *recorder) statuses(id int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range r.all {
		if p.Op.ID == id && p.Op.Kind != OpWait {
			out = append(out, string(p.Status))
		}
	}
	return out
}

func (r *recorder) details(id int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range r.all {
		if p.Op.ID == id && p.Status == reconcile.StatusProgress {
			out = append(out, p.Detail)
		}
	}
	return out
}

func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, p := range r.all {
		fmt.Fprintf(&b, "%d %s %s %s: %s\n", p.Op.ID, p.Op.Kind, p.Op.Resource, p.Status, p.Detail)
	}
	return b.String()
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containerByName(t *testing.T, e *Engine, name string) container.InspectResponse {
	t.Helper()
	ins, err := e.cli.ContainerInspect(context.Background(), name)
	if err != nil {
		t.Fatalf("inspecting %s: %v", name, err)
	}
	return ins
}

func projectContainers(t *testing.T, e *Engine, project string) []container.Summary {
	t.Helper()
	cs, err := e.cli.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", reconcile.LabelProject+"="+project))})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func portStr(p int) string { return strconv.Itoa(p) }
