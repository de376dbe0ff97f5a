package cli

// End-to-end tests: the real command line, in process, against the real
// Docker engine, on a copy of the shop example. They check what runs with
// real clients (HTTP to the published port, psql into PostgreSQL) and what
// the engine holds with the docker CLI, independently of Berth's own code.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/testenv"
)

var shopImages = []string{"postgres:15", "redis:7", "nginx:1.27", "golang:1.26-bookworm", "debian:bookworm-slim"}

// berth runs the command line in process and returns exit code and
// output. It passes --trust, as a script would: the definitions the tests
// run are their own (trust_e2e_test.go tests the questions themselves).
func berth(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return berthRaw(t, append([]string{"--trust"}, args...)...)
}

// berthRaw is berth without --trust.
func berthRaw(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	code := run(ctx, args, &out, &errb)
	t.Logf("berth %s -> %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	return code, out.String(), errb.String()
}

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%06d", prefix, rand.IntN(1000000))
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// copyDefinitions copies the repo's environments/ into a temp dir so tests
// can change a definition without touching the repo.
func copyDefinitions(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src, _ := filepath.Abs("../../environments")
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("copy definitions: %v: %s", err, out)
	}
	return dst
}

// labelled lists what the engine holds with the environment's project
// label, asked through the docker CLI (not through Berth).
func labelled(t *testing.T, env string) []string {
	t.Helper()
	var all []string
	for _, kind := range []string{"container", "network", "volume"} {
		args := []string{kind, "ls", "-q", "--filter", "label=com.docker.compose.project=" + env}
		if kind == "container" {
			args = []string{"ps", "-aq", "--filter", "label=com.docker.compose.project=" + env}
		}
		out, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %v: %v: %s", args, err, out)
		}
		for _, id := range strings.Fields(string(out)) {
			all = append(all, kind+":"+id)
		}
	}
	return all
}

// removeLabelled removes whatever a failed test left, through the docker CLI.
func removeLabelled(env string) {
	f := "label=com.docker.compose.project=" + env
	if out, _ := exec.Command("docker", "ps", "-aq", "--filter", f).Output(); len(out) > 0 {
		exec.Command("docker", append([]string{"rm", "-f"}, strings.Fields(string(out))...)...).Run()
	}
	for _, kind := range []string{"network", "volume"} {
		if out, _ := exec.Command("docker", kind, "ls", "-q", "--filter", f).Output(); len(out) > 0 {
			exec.Command("docker", append([]string{kind, "rm"}, strings.Fields(string(out))...)...).Run()
		}
	}
	// The images built for the environment are tagged <env>-<service>.
	if out, _ := exec.Command("docker", "images", "-q", "--filter", "reference="+env+"-*").Output(); len(out) > 0 {
		ids := slices.Compact(slices.Sorted(slices.Values(strings.Fields(string(out)))))
		exec.Command("docker", append([]string{"rmi", "-f"}, ids...)...).Run()
	}
}

func containerIDs(t *testing.T, env string) map[string]string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label=com.docker.compose.project="+env,
		"--format", `{{.Label "com.docker.compose.service"}} {{.ID}}`).CombinedOutput()
	if err != nil {
		t.Fatalf("docker ps: %v: %s", err, out)
	}
	ids := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			ids[f[0]] = f[1]
		}
	}
	return ids
}

func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	var lastErr error
	for i := 0; i < 30; i++ {
		resp, err := c.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, body
		}
		lastErr = err
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, lastErr)
	return 0, nil
}

func TestShopEndToEnd(t *testing.T) {
	testenv.Image(t, shopImages...)
	psql := testenv.Tool(t, "psql")
	defs := copyDefinitions(t)
	env := uniqueName("e2e-shop")
	webPort, dbPort := freePort(t), freePort(t)
	t.Setenv("SHOP_WEB_PORT", fmt.Sprint(webPort))
	t.Setenv("SHOP_DB_PORT", fmt.Sprint(dbPort))
	t.Cleanup(func() { removeLabelled(env) })

	// Plan of a cold environment: everything is created.
	code, out, _ := berth(t, "--definitions", defs, "plan", "shop", "--as", env, "-o", "json")
	if code != 0 {
		t.Fatalf("plan exit %d", code)
	}
	var planned core.Result
	if err := json.Unmarshal([]byte(out), &planned); err != nil {
		t.Fatalf("plan -o json is not JSON: %v", err)
	}
	if len(planned.Plan.Ops) == 0 {
		t.Fatal("a cold environment planned nothing")
	}

	// Up.
	code, out, _ = berth(t, "--definitions", defs, "up", "shop", "--as", env, "-o", "json")
	if code != 0 {
		t.Fatalf("up exit %d", code)
	}
	var res core.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("up -o json is not JSON: %v\n%s", err, out)
	}

	// The web front answers on the published port and the API behind it
	// reads from PostgreSQL.
	status, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/api/products", webPort))
	if status != 200 {
		t.Fatalf("GET /api/products: %d %s", status, body)
	}
	var products []map[string]any
	if err := json.Unmarshal(body, &products); err != nil || len(products) == 0 {
		t.Fatalf("GET /api/products: want a non-empty JSON list, got %s (%v)", body, err)
	}

	// psql into the database with the password from the definition.
	cmd := exec.Command(psql, "-h", "127.0.0.1", "-p", fmt.Sprint(dbPort), "-U", "shop", "-d", "shop", "-tAc", "select count(*) from products")
	cmd.Env = append(os.Environ(), "PGPASSWORD=shop", "PGCONNECT_TIMEOUT=5")
	pout, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v: %s", err, pout)
	}
	if n := strings.TrimSpace(string(pout)); n != fmt.Sprint(len(products)) {
		t.Fatalf("psql counts %s products, the API served %d", n, len(products))
	}

	// docker compose, when it is installed, sees an ordinary Compose project.
	if exec.Command("docker", "compose", "version").Run() == nil {
		out, err := exec.Command("docker", "compose", "ls", "--all", "--format", "json").CombinedOutput()
		if err != nil {
			t.Fatalf("docker compose ls: %v: %s", err, out)
		}
		var projects []struct{ Name, Status string }
		if err := json.Unmarshal(out, &projects); err != nil {
			t.Fatalf("docker compose ls: %v: %s", err, out)
		}
		found := false
		for _, p := range projects {
			found = found || (p.Name == env && strings.HasPrefix(p.Status, "running(5)"))
		}
		if !found {
			t.Fatalf("docker compose ls does not list %s as running(5): %s", env, out)
		}
	} else {
		t.Log("docker compose is not installed: its view of the environment is not checked")
	}

	// Status and ls see it running.
	code, out, _ = berth(t, "--definitions", defs, "status", env, "-o", "json")
	var st core.Environment
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.State != core.StateRunning {
		t.Fatalf("status: exit %d, state %q", code, st.State)
	}

	// A second up changes nothing.
	before := containerIDs(t, env)
	code, out, _ = berth(t, "--definitions", defs, "plan", env)
	if code != 0 || !strings.Contains(out, "nothing to do") {
		t.Fatalf("plan after up: want nothing to do, got exit %d:\n%s", code, out)
	}

	// Change one service's definition: exactly that container is recreated.
	compose := filepath.Join(defs, "shop", "compose.yaml")
	data, err := os.ReadFile(compose)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), "  cache:\n", "  cache:\n    labels:\n      e2e.changed: \"yes\"\n", 1)
	if changed == string(data) {
		t.Fatal("could not change the cache service in compose.yaml")
	}
	if err := os.WriteFile(compose, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = berth(t, "--definitions", defs, "up", env, "-o", "json")
	if code != 0 {
		t.Fatalf("up after change: exit %d", code)
	}
	res = core.Result{}
	_ = json.Unmarshal([]byte(out), &res)
	if len(res.Plan.Ops) != 1 || res.Plan.Ops[0].Resource != env+"-cache-1" {
		t.Fatalf("want one op on %s-cache-1, got %+v", env, res.Plan.Ops)
	}
	after := containerIDs(t, env)
	for svc, id := range before {
		if svc == "cache" {
			if after[svc] == id {
				t.Errorf("cache was not recreated")
			}
			continue
		}
		if after[svc] != id {
			t.Errorf("service %s was recreated (%s -> %s) though its definition did not change", svc, id, after[svc])
		}
	}

	// Logs of one service.
	code, out, _ = berth(t, "--definitions", defs, "logs", env, "db", "--tail", "50")
	if code != 0 || !strings.Contains(out, env+"-db-1") {
		t.Fatalf("logs db: exit %d, want lines prefixed with the container name", code)
	}

	// Down with volumes leaves nothing labelled, and takes the anonymous
	// volumes of its containers (the redis image declares one) with them.
	anon := anonymousVolumes(t, env)
	if len(anon) == 0 {
		t.Fatal("want at least one anonymous volume (the cache's /data) to check down --volumes with")
	}
	code, _, _ = berth(t, "--definitions", defs, "down", env, "--volumes")
	if code != 0 {
		t.Fatalf("down exit %d", code)
	}
	if left := labelled(t, env); len(left) > 0 {
		t.Fatalf("down left labelled objects: %v", left)
	}
	for _, v := range anon {
		if exec.Command("docker", "volume", "inspect", v).Run() == nil {
			t.Errorf("down --volumes left the anonymous volume %s", v)
		}
	}
}

// anonymousVolumes lists the unnamed volumes the environment's containers
// mount, asked through the docker CLI.
func anonymousVolumes(t *testing.T, env string) []string {
	t.Helper()
	var out []string
	for _, id := range containerIDs(t, env) {
		b, err := exec.Command("docker", "inspect", "--format",
			`{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}`, id).CombinedOutput()
		if err != nil {
			t.Fatalf("docker inspect %s: %v: %s", id, err, b)
		}
		for _, name := range strings.Fields(string(b)) {
			if !strings.HasPrefix(name, env+"_") {
				out = append(out, name)
			}
		}
	}
	return out
}

// shopRepo makes a definitions repo holding the shop, committed twice: the
// second revision changes the page nginx serves from its bind mount.
func shopRepo(t *testing.T) (r *defRepo, rev1, rev2 string) {
	t.Helper()
	r = newDefRepo(t)
	src, _ := filepath.Abs("../../environments/shop")
	dst := filepath.Join(r.dir, "environments", "shop")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("copy the shop: %v: %s", err, out)
	}
	r.git("add", "-A")
	r.git("commit", "-q", "-m", "the shop")
	rev1 = r.git("rev-parse", "HEAD")
	page := filepath.Join(dst, "web", "public", "index.html")
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, append(b, "\n<!-- remote-rev2 -->\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	r.git("commit", "-q", "-am", "a marker in the page")
	rev2 = r.git("rev-parse", "HEAD")
	return r, rev1, rev2
}
