// Package corpus holds a corpus of Compose projects written the way teams
// write them (web, database, cache, worker, proxy), each using several
// Compose keys, and the test that brings every one up with the berth
// binary on the real engine and checks, through the docker CLI and
// independently of Berth's code, that the engine holds what the project
// declares. When docker compose is on PATH, the same projects are brought
// up with it too and the normalised inspect output of both compared
// (differential_test.go).
package corpus

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/berthdev/berth/internal/testenv"
)

// berthBin is the berth binary TestMain builds.
var berthBin string

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		if testing.Short() && !testenv.Required() {
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "berth-corpus-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		berthBin = filepath.Join(dir, "berth")
		if out, err := exec.Command("go", "build", "-tags", "nogui", "-o", berthBin, "../..").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// corpusImages are the images the corpus runs (scripts/images.sh makes them).
var corpusImages = []string{"berth-test/probe:latest", "redis:7", "nginx:1.27", "postgres:15", "mariadb:10.11", "debian:bookworm-slim"}

// Expect is a project's expect.yaml: what the engine must hold once the
// project is up.
type Expect struct {
	// Inspect maps a service to docker inspect paths (segments separated
	// by '/') of its first container and the JSON value each must have.
	// Strings may hold ${id:SERVICE}, ${name:SERVICE} and ${project}.
	Inspect map[string]map[string]any `yaml:"inspect"`
	// Files maps a service to files in its first container, read with
	// docker cp (so FROM scratch images work too).
	Files map[string]map[string]File `yaml:"files"`
	// Exec runs commands in a service's first container.
	Exec []Exec `yaml:"exec"`
	// HTTP gets a path from a published port of a service.
	HTTP []HTTP `yaml:"http"`
	// Error, when set, is what up must fail with (and leave nothing).
	Error string `yaml:"error"`
	// ErrorBelowAPI applies Error only on engines below this API version.
	ErrorBelowAPI string `yaml:"error_below_api"`
	// Replicas maps a service to the number of containers it must have.
	Replicas map[string]int `yaml:"replicas"`
	// Change edits the project and brings it up again.
	Change *Change `yaml:"change"`
	// Differences lists inspect paths that may differ from docker compose,
	// each with its reason (differential_test.go).
	Differences map[string]string `yaml:"differences"`
}

// File is what one file in a container must be.
type File struct {
	Content string `yaml:"content"`
	Mode    string `yaml:"mode"` // octal, e.g. "0400"
	UID     *int   `yaml:"uid"`
	GID     *int   `yaml:"gid"`
}

// Exec is a command that must exit 0 with Want in its output (or, with
// Exact, with exactly Want as its output, blanks around it aside).
type Exec struct {
	Service string   `yaml:"service"`
	Cmd     []string `yaml:"cmd"`
	Want    string   `yaml:"want"`
	Exact   bool     `yaml:"exact"`
}

// matches says whether a command's output is what x wants.
func (x Exec) matches(out, want string) bool {
	if x.Exact {
		return strings.TrimSpace(out) == want
	}
	return strings.Contains(out, want)
}

// HTTP is a GET on a published port whose body must contain Want.
type HTTP struct {
	Service string `yaml:"service"`
	Port    string `yaml:"port"` // container port, e.g. 80/tcp
	Path    string `yaml:"path"`
	Want    string `yaml:"want"`
}

// Change replaces text in a file of the project, brings it up again and
// checks which containers were recreated, restarted or kept.
type Change struct {
	File      string   `yaml:"file"`
	Replace   []string `yaml:"replace"` // old, new
	Recreated []string `yaml:"recreated"`
	Restarted []string `yaml:"restarted"`
	Kept      []string `yaml:"kept"`
}

// projects lists the corpus.
func projects(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) < 25 {
		t.Fatalf("the corpus has %d projects, want at least 25", len(out))
	}
	return out
}

func readExpect(t *testing.T, dir string) Expect {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "expect.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var e Expect
	if err := yaml.Unmarshal(data, &e); err != nil {
		t.Fatalf("%s/expect.yaml: %v", dir, err)
	}
	return e
}

// TestCorpus brings each project up with berth and checks what the engine
// holds, then takes it down and checks that nothing is left.
func TestCorpus(t *testing.T) {
	testenv.Short(t)
	testenv.Engine(t)
	testenv.Image(t, corpusImages...)
	api := engineAPI(t)
	for _, name := range projects(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newProject(t, name, "berth")
			exp := readExpect(t, p.src)
			wantErr := exp.Error != "" && (exp.ErrorBelowAPI == "" || apiBelow(api, exp.ErrorBelowAPI))
			code, out := p.berth("up", name, "--as", p.env)
			if wantErr {
				if code == 0 || !strings.Contains(out, exp.Error) {
					t.Fatalf("up: exit %d, want a failure saying %q:\n%s", code, exp.Error, out)
				}
				if left := labelled(t, p.env); len(left) > 0 {
					t.Errorf("a refused up left %v", left)
				}
				return
			}
			if code != 0 {
				t.Fatalf("up: exit %d\n%s", code, out)
			}
			p.check(exp)
			if exp.Change != nil {
				p.change(*exp.Change)
			}
			// In sync after up: no drift.
			if code, out := p.berth("check", p.env); code != 0 {
				t.Errorf("check after up: exit %d (drift on a fresh environment)\n%s", code, out)
			}
			if code, out := p.berth("down", p.env, "--volumes"); code != 0 {
				t.Fatalf("down: exit %d\n%s", code, out)
			}
			if left := labelled(t, p.env); len(left) > 0 {
				t.Errorf("down left %v", left)
			}
		})
	}
}

// project is one corpus project copied into a definitions folder of its
// own, with its own state folder.
type project struct {
	t     *testing.T
	name  string
	src   string // testdata/<name>
	defs  string // the definitions folder holding <name>/
	state string
	env   string
}

func newProject(t *testing.T, name, tool string) *project {
	t.Helper()
	p := &project{t: t, name: name, src: filepath.Join("testdata", name), defs: t.TempDir(), state: t.TempDir(),
		env: fmt.Sprintf("c%s-%s-%05d", tool[:1], shortName(name), rand.IntN(100000))}
	if err := os.CopyFS(filepath.Join(p.defs, name), os.DirFS(p.src)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeLabelled(p.env) })
	return p
}

// shortName keeps environment names (and so container and network names)
// short.
func shortName(name string) string {
	if len(name) > 14 {
		return name[:14]
	}
	return name
}

// berth runs the binary with the project's folders; output is stdout and
// stderr together.
func (p *project) berth(args ...string) (int, string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, append([]string{"--trust", "--definitions", p.defs, "--state-dir", p.state}, args...)...)
	cmd.Env = append(os.Environ(), "BERTH_FETCH_INTERVAL=0")
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("berth %v: %v", args, err)
	}
	p.t.Logf("berth %s -> %d\n%s", strings.Join(args, " "), code, out)
	return code, string(out)
}

// check runs every check of exp against the running project.
func (p *project) check(exp Expect) {
	t := p.t
	t.Helper()
	ids := serviceContainers(t, p.env)
	expand := func(s string) string {
		return placeholder.ReplaceAllStringFunc(s, func(m string) string {
			sub := placeholder.FindStringSubmatch(m)
			switch sub[1] {
			case "project":
				return p.env
			case "id":
				return ids[sub[2]]
			case "name":
				return p.env + "-" + sub[2] + "-1"
			case "dir":
				return filepath.Join(p.defs, p.name)
			}
			return m
		})
	}
	for _, svc := range slices.Sorted(maps.Keys(exp.Inspect)) {
		id := ids[svc]
		if id == "" {
			t.Errorf("service %s: no container", svc)
			continue
		}
		doc := inspect(t, id)
		for _, path := range slices.Sorted(maps.Keys(exp.Inspect[svc])) {
			want := canonical(t, expandAll(exp.Inspect[svc][path], expand))
			got, ok := lookup(doc, expand(path))
			if !ok {
				t.Errorf("service %s: inspect has no %s (want %s)", svc, path, want)
				continue
			}
			if g := canonical(t, got); g != want {
				t.Errorf("service %s: %s = %s, want %s", svc, path, g, want)
			}
		}
	}
	for _, svc := range slices.Sorted(maps.Keys(exp.Replicas)) {
		out, err := exec.Command("docker", "ps", "-q", "--filter", "label=com.docker.compose.project="+p.env,
			"--filter", "label=com.docker.compose.service="+svc).Output()
		if err != nil {
			t.Fatalf("docker ps: %v", err)
		}
		if n := len(strings.Fields(string(out))); n != exp.Replicas[svc] {
			t.Errorf("service %s runs %d containers, want %d", svc, n, exp.Replicas[svc])
		}
	}
	for _, svc := range slices.Sorted(maps.Keys(exp.Files)) {
		for _, path := range slices.Sorted(maps.Keys(exp.Files[svc])) {
			want := exp.Files[svc][path]
			hdr, content := copyOut(t, ids[svc], path)
			if hdr == nil {
				continue
			}
			if string(content) != want.Content {
				t.Errorf("service %s: %s holds %q, want %q", svc, path, content, want.Content)
			}
			if want.Mode != "" {
				if m, _ := strconv.ParseInt(want.Mode, 8, 32); hdr.Mode&0o7777 != m {
					t.Errorf("service %s: %s mode %o, want %s", svc, path, hdr.Mode&0o7777, want.Mode)
				}
			}
			if want.UID != nil && hdr.Uid != *want.UID {
				t.Errorf("service %s: %s uid %d, want %d", svc, path, hdr.Uid, *want.UID)
			}
			if want.GID != nil && hdr.Gid != *want.GID {
				t.Errorf("service %s: %s gid %d, want %d", svc, path, hdr.Gid, *want.GID)
			}
		}
	}
	for _, x := range exp.Exec {
		var out []byte
		var err error
		// A server may still be starting: wait for the answer, with a deadline.
		waitFor(t, 2*time.Minute, func() bool {
			out, err = exec.Command("docker", append([]string{"exec", ids[x.Service]}, expandList(x.Cmd, expand)...)...).CombinedOutput()
			return err == nil && x.matches(string(out), expand(x.Want))
		})
		if err != nil || !x.matches(string(out), expand(x.Want)) {
			t.Errorf("service %s: %v: %v: %s; want %q in the output", x.Service, x.Cmd, err, out, x.Want)
		}
	}
	for _, h := range exp.HTTP {
		hostPort := publishedPort(t, ids[h.Service], h.Port)
		url := "http://" + hostPort + h.Path
		var body string
		var status int
		waitFor(t, 2*time.Minute, func() bool {
			status, body = get(url)
			return status == 200 && strings.Contains(body, h.Want)
		})
		if status != 200 || !strings.Contains(body, h.Want) {
			t.Errorf("GET %s (service %s): %d %q; want 200 and %q", url, h.Service, status, body, h.Want)
		}
	}
}

// change edits the project, brings it up again and checks which
// containers followed.
func (p *project) change(c Change) {
	t := p.t
	t.Helper()
	before := containerStates(t, p.env)
	file := filepath.Join(p.defs, p.name, c.File)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Replace) != 2 || !bytes.Contains(data, []byte(c.Replace[0])) {
		t.Fatalf("change: %q is not in %s", c.Replace, c.File)
	}
	if err := os.WriteFile(file, bytes.Replace(data, []byte(c.Replace[0]), []byte(c.Replace[1]), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := p.berth("up", p.name, "--as", p.env); code != 0 {
		t.Fatalf("up after the change: exit %d\n%s", code, out)
	}
	after := containerStates(t, p.env)
	for _, s := range c.Recreated {
		if before[s].id == after[s].id {
			t.Errorf("service %s was not recreated", s)
		}
	}
	for _, s := range c.Restarted {
		if before[s].id != after[s].id || before[s].started == after[s].started {
			t.Errorf("service %s: want the same container restarted; before %+v after %+v", s, before[s], after[s])
		}
	}
	for _, s := range c.Kept {
		if before[s] != after[s] {
			t.Errorf("service %s: want it left alone; before %+v after %+v", s, before[s], after[s])
		}
	}
}

type ctrState struct{ id, started string }

func containerStates(t *testing.T, env string) map[string]ctrState {
	t.Helper()
	out := map[string]ctrState{}
	for svc, id := range serviceContainers(t, env) {
		doc := inspect(t, id)
		started, _ := lookup(doc, "State/StartedAt")
		out[svc] = ctrState{id: id, started: fmt.Sprint(started)}
	}
	return out
}

var placeholder = regexp.MustCompile(`\$\{(project|dir|id|name):?([a-z0-9_-]*)\}`)

func expandAll(v any, expand func(string) string) any {
	switch x := v.(type) {
	case string:
		return expand(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = expandAll(e, expand)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = expandAll(e, expand)
		}
		return out
	}
	return v
}

func expandList(xs []string, expand func(string) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = expand(x)
	}
	return out
}

// canonical is a value as JSON with sorted keys and numbers as numbers.
func canonical(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&back); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(back)
	return string(out)
}

// lookup walks a decoded JSON document along a path of '/'-separated
// segments (a number indexes a list).
func lookup(doc any, path string) (any, bool) {
	cur := doc
	for _, seg := range strings.Split(path, "/") {
		switch x := cur.(type) {
		case map[string]any:
			v, ok := x[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			cur = x[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func inspect(t *testing.T, id string) any {
	t.Helper()
	out, err := exec.Command("docker", "inspect", id).Output()
	if err != nil {
		t.Fatalf("docker inspect %s: %v", id, err)
	}
	var docs []any
	if err := json.Unmarshal(out, &docs); err != nil || len(docs) != 1 {
		t.Fatalf("docker inspect %s: %v", id, err)
	}
	return docs[0]
}

// copyOut reads one file of a container with docker cp, as a tar stream.
func copyOut(t *testing.T, id, path string) (*tar.Header, []byte) {
	t.Helper()
	out, err := exec.Command("docker", "cp", id+":"+path, "-").Output()
	if err != nil {
		t.Errorf("docker cp %s:%s: %v", id, path, err)
		return nil, nil
	}
	tr := tar.NewReader(bytes.NewReader(out))
	hdr, err := tr.Next()
	if err != nil {
		t.Errorf("docker cp %s:%s: %v", id, path, err)
		return nil, nil
	}
	content, _ := io.ReadAll(tr)
	return hdr, content
}

// serviceContainers maps each service to its first container's ID.
func serviceContainers(t *testing.T, env string) map[string]string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label=com.docker.compose.project="+env,
		"--format", `{{.Label "com.docker.compose.service"}} {{.Label "com.docker.compose.container-number"}} {{.ID}}`).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	ids := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[1] == "1" {
			full, err := exec.Command("docker", "inspect", "-f", "{{.Id}}", f[2]).Output()
			if err != nil {
				t.Fatalf("docker inspect %s: %v", f[2], err)
			}
			ids[f[0]] = strings.TrimSpace(string(full))
		}
	}
	return ids
}

func publishedPort(t *testing.T, id, port string) string {
	t.Helper()
	out, err := exec.Command("docker", "port", id, port).Output()
	if err != nil {
		t.Fatalf("docker port %s %s: %v", id, port, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(line, "127.0.0.1:") || strings.HasPrefix(line, "0.0.0.0:") {
			return strings.Replace(line, "0.0.0.0:", "127.0.0.1:", 1)
		}
	}
	t.Fatalf("docker port %s %s: %q has no IPv4 binding", id, port, out)
	return ""
}

func get(url string) (int, string) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b)
}

// waitFor polls cond until it holds or the deadline passes; each try is a
// real request, not a sleep standing in for one.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for !cond() && time.Now().Before(deadline) {
		<-tick.C
	}
}

// labelled lists what the engine holds with the project label.
func labelled(t *testing.T, env string) []string {
	t.Helper()
	var all []string
	f := "label=com.docker.compose.project=" + env
	for _, args := range [][]string{{"ps", "-aq", "--filter", f}, {"network", "ls", "-q", "--filter", f}, {"volume", "ls", "-q", "--filter", f}} {
		out, err := exec.Command("docker", args...).Output()
		if err != nil {
			t.Fatalf("docker %v: %v", args, err)
		}
		for _, id := range strings.Fields(string(out)) {
			all = append(all, args[0]+":"+id)
		}
	}
	return all
}

// removeLabelled removes what a failed test left.
func removeLabelled(env string) {
	f := "label=com.docker.compose.project=" + env
	if out, _ := exec.Command("docker", "ps", "-aq", "--filter", f).Output(); len(out) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f", "-v"}, strings.Fields(string(out))...)...).Run()
	}
	for _, kind := range []string{"network", "volume"} {
		if out, _ := exec.Command("docker", kind, "ls", "-q", "--filter", f).Output(); len(out) > 0 {
			_ = exec.Command("docker", append([]string{kind, "rm"}, strings.Fields(string(out))...)...).Run()
		}
	}
}

var apiOnce struct {
	sync.Once
	v string
}

func engineAPI(t *testing.T) string {
	t.Helper()
	apiOnce.Do(func() {
		out, err := exec.Command("docker", "version", "-f", "{{.Server.APIVersion}}").Output()
		if err == nil {
			apiOnce.v = strings.TrimSpace(string(out))
		}
	})
	if apiOnce.v == "" {
		t.Fatal("docker version: the engine's API version is unknown")
	}
	return apiOnce.v
}

// apiBelow compares dotted API versions.
func apiBelow(have, want string) bool {
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := 0; i < len(h) && i < len(w); i++ {
		a, _ := strconv.Atoi(h[i])
		b, _ := strconv.Atoi(w[i])
		if a != b {
			return a < b
		}
	}
	return len(h) < len(w)
}
