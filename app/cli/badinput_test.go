package cli

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/testenv"
)

const probe = "berth-test/probe:latest"

// writeDefs writes definitions: folder -> file -> content.
func writeDefs(t *testing.T, defs map[string]map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for def, files := range defs {
		for name, content := range files {
			p := filepath.Join(dir, def, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func manifest(name string) string { return "name: " + name + "\ndescription: test\n" }

// TestInvalidDefinitions: each bad input is refused before anything is
// created, with exit code 3 and an error naming file, line and field.
func TestInvalidDefinitions(t *testing.T) {
	testenv.Engine(t)
	cases := []struct {
		name  string
		files map[string]string
		want  string // regexp over stderr
	}{
		{"no-manifest", map[string]string{"compose.yaml": "services:\n  a:\n    image: " + probe + "\n"},
			`no-manifest.*berth\.yaml`},
		{"bad-manifest", map[string]string{"berth.yaml": "name: [bad\n", "compose.yaml": "services: {}\n"},
			`berth\.yaml:\d+`},
		{"unknown-manifest-key", map[string]string{"berth.yaml": manifest("unknown-manifest-key") + "databse: []\n", "compose.yaml": "services:\n  a:\n    image: " + probe + "\n"},
			`berth\.yaml:3: databse`},
		{"bad-compose-yaml", map[string]string{"berth.yaml": manifest("bad-compose-yaml"), "compose.yaml": "services:\n  a:\n    image: " + probe + "\n   ports: [\n"},
			`compose\.yaml:\d+`},
		{"no-compose-file", map[string]string{"berth.yaml": manifest("no-compose-file")},
			`compose\.yaml`},
		{"unknown-dependency", map[string]string{"berth.yaml": manifest("unknown-dependency"),
			"compose.yaml": "services:\n  a:\n    image: " + probe + "\n    depends_on:\n      - nothere\n"},
			`compose\.yaml:[45]: services\.a\.depends_on.*nothere`},
		{"bad-port", map[string]string{"berth.yaml": manifest("bad-port"),
			"compose.yaml": "services:\n  a:\n    image: " + probe + "\n    ports:\n      - \"notaport:80\"\n"},
			`compose\.yaml:[45]: services\.a\.ports`},
		{"database-not-a-service", map[string]string{"berth.yaml": manifest("database-not-a-service") + "databases:\n  - service: db\n    engine: postgres\n",
			"compose.yaml": "services:\n  a:\n    image: " + probe + "\n"},
			`berth\.yaml:4: databases\[0\]\.service`},
	}
	defs := map[string]map[string]string{}
	for _, tc := range cases {
		defs[tc.name] = tc.files
	}
	dir := writeDefs(t, defs)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := uniqueName("bad")
			t.Cleanup(func() { removeLabelled(env) })
			code, _, stderr := berth(t, "--definitions", dir, "up", tc.name, "--as", env)
			if code != ExitInvalid {
				t.Errorf("exit code %d, want %d (invalid definition)", code, ExitInvalid)
			}
			if !regexp.MustCompile(tc.want).MatchString(stderr) {
				t.Errorf("error does not match %q:\n%s", tc.want, stderr)
			}
			if left := labelled(t, env); len(left) > 0 {
				t.Errorf("an invalid definition left objects behind: %v", left)
			}
		})
	}
}

func TestUnknownDefinition(t *testing.T) {
	testenv.Engine(t)
	dir := writeDefs(t, map[string]map[string]string{})
	code, _, stderr := berth(t, "--definitions", dir, "up", "nothing-here")
	if code != ExitNotFound || !strings.Contains(stderr, "nothing-here") {
		t.Fatalf("exit %d (want %d), stderr %q", code, ExitNotFound, stderr)
	}
}

// TestFailedUpLeavesNothing: failures at apply time remove what the run
// created, name the cause, and exit 1.
func TestFailedUpLeavesNothing(t *testing.T) {
	testenv.Image(t, probe)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port

	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		// A taken port would move to a free one; pinned, it cannot.
		{"port-taken", map[string]string{"berth.yaml": manifest("port-taken") + "ports:\n  pin: [web]\n", "compose.yaml": fmt.Sprintf(`services:
  ok:
    image: %s
  web:
    image: %s
    ports: ["127.0.0.1:%d:8080"]
volumes:
  data: {}
`, probe, probe, taken)}, fmt.Sprintf(`host port %d is taken by another program, and ports.pin`, taken)},
		{"image-missing", map[string]string{"berth.yaml": manifest("image-missing"), "compose.yaml": `services:
  a:
    image: berth-test/does-not-exist:1
`}, `berth-test/does-not-exist:1.*could not be pulled`},
		{"build-fails", map[string]string{"berth.yaml": manifest("build-fails"), "compose.yaml": `services:
  a:
    build: ./app
`, "app/Dockerfile": "FROM " + probe + "\nRUN [\"/probe\", \"exit\", \"3\"]\n"}, `(?s)build.*(exit|code|returned).*3`},
		{"dependency-unhealthy", map[string]string{"berth.yaml": manifest("dependency-unhealthy"), "compose.yaml": fmt.Sprintf(`services:
  dep:
    image: %s
    command: ["sleep"]
    healthcheck:
      test: ["CMD", "/probe", "exit", "1"]
      interval: 200ms
      retries: 2
  a:
    image: %s
    depends_on:
      dep: {condition: service_healthy}
`, probe, probe)}, `dep.*unhealthy`},
	}
	defs := map[string]map[string]string{}
	for _, tc := range cases {
		defs[tc.name] = tc.files
	}
	dir := writeDefs(t, defs)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := uniqueName("fail")
			t.Cleanup(func() { removeLabelled(env) })
			code, _, stderr := berth(t, "--definitions", dir, "up", tc.name, "--as", env, "--timeout", "60s")
			if code != ExitFailed {
				t.Errorf("exit code %d, want %d", code, ExitFailed)
			}
			if !regexp.MustCompile(tc.want).MatchString(stderr) {
				t.Errorf("error does not match %q:\n%s", tc.want, stderr)
			}
			if left := labelled(t, env); len(left) > 0 {
				t.Errorf("a failed up left objects behind: %v", left)
			}
		})
	}
}

func TestEngineUnreachable(t *testing.T) {
	dir := writeDefs(t, map[string]map[string]string{"a": {"berth.yaml": manifest("a"), "compose.yaml": "services:\n  a:\n    image: " + probe + "\n"}})
	sock := filepath.Join(t.TempDir(), "no-engine.sock")
	code, _, stderr := berth(t, "--definitions", dir, "--host", "unix://"+sock, "up", "a")
	if code != ExitEngine || !strings.Contains(stderr, sock) {
		t.Fatalf("exit %d (want %d), stderr should name %s: %q", code, ExitEngine, sock, stderr)
	}
	// ls still lists definitions and says the engine is down.
	code, out, _ := berth(t, "--definitions", dir, "--host", "unix://"+sock, "ls")
	if code != 0 || !strings.Contains(out, "a ") || !strings.Contains(out, sock) {
		t.Fatalf("ls without an engine: exit %d\n%s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"up"}, {"up", "a", "b"}, {"status"}, {"ls", "--nope"}, {"ls", "-o", "yaml"}} {
		code, _, _ := berth(t, args...)
		if code != ExitUsage {
			t.Errorf("berth %v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}

// TestForeignContainerIsNeverTouched: a container Berth did not create that
// holds a name Berth needs is a conflict (exit 5); it keeps running as it was.
func TestForeignContainerIsNeverTouched(t *testing.T) {
	testenv.Image(t, probe)
	dir := writeDefs(t, map[string]map[string]string{"a": {"berth.yaml": manifest("a"), "compose.yaml": "services:\n  app:\n    image: " + probe + "\n"}})
	env := uniqueName("foreign")
	name := env + "-app-1"
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run(); removeLabelled(env) })
	out, err := exec.Command("docker", "run", "-d", "--name", name, probe, "sleep").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v: %s", err, out)
	}
	id := strings.TrimSpace(string(out))
	code, _, stderr := berth(t, "--definitions", dir, "up", "a", "--as", env)
	if code != ExitConflict || !strings.Contains(stderr, name) {
		t.Fatalf("exit %d (want %d), stderr should name %s: %q", code, ExitConflict, name, stderr)
	}
	state, err := exec.Command("docker", "inspect", "-f", "{{.Id}} {{.State.Running}}", name).CombinedOutput()
	if err != nil || strings.TrimSpace(string(state)) != id+" true" {
		t.Fatalf("the foreign container changed: %s (%v)", state, err)
	}
	if left := labelled(t, env); len(left) > 0 {
		t.Fatalf("a refused up left objects behind: %v", left)
	}
}
