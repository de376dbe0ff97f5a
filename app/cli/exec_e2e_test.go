package cli

// berth exec end to end: a command in a service's running container, its
// output and exit code passed through, input piped in, a terminal given
// when there is one (under script(1), a real pseudo-terminal), and the
// errors for a service that does not exist or does not run.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/testenv"
)

func TestExecEndToEnd(t *testing.T) {
	testenv.Image(t, probe)
	env := uniqueName("exec")
	t.Cleanup(func() { removeLabelled(env) })
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	dir := writeDefs(t, map[string]map[string]string{"shell": {"berth.yaml": manifest("shell"),
		"compose.yaml": "services:\n  web:\n    image: " + probe + "\n    environment:\n      GREETING: hello from web\n  idle:\n    image: " + probe + "\n    command: [\"exit\", \"0\"]\n    restart: \"no\"\n"}})
	if code, _, _ := berth(t, "--definitions", dir, "up", "shell", "--as", env, "--no-wait"); code != ExitOK {
		t.Fatalf("up: exit %d", code)
	}
	web := containerIDs(t, env)["web"]
	if out, err := exec.Command("docker", "exec", web, "/probe", "write", "/tmp/note", "written in the container").CombinedOutput(); err != nil {
		t.Fatalf("docker exec: %v %s", err, out)
	}

	code, out, _ := berth(t, "--definitions", dir, "exec", env, "web", "--", "/probe", "cat", "/tmp/note")
	if code != ExitOK || out != "written in the container\n" {
		t.Fatalf("exec cat: exit %d, %q", code, out)
	}
	if code, _, _ := berth(t, "--definitions", dir, "exec", env, "web", "--", "/probe", "exit", "7"); code != 7 {
		t.Fatalf("exec exit 7: berth exited %d", code)
	}
	code, _, errOut := berth(t, "--definitions", dir, "exec", env, "nope")
	if code != ExitNotFound || !strings.Contains(errOut, `no service "nope"`) || !strings.Contains(errOut, "web") {
		t.Fatalf("unknown service: exit %d %s", code, errOut)
	}
	// docker wait returns once idle has exited.
	if out, err := exec.Command("docker", "wait", containerIDs(t, env)["idle"]).CombinedOutput(); err != nil {
		t.Fatalf("docker wait: %v %s", err, out)
	}
	code, _, errOut = berth(t, "--definitions", dir, "exec", env, "idle")
	if code != ExitNotFound || !strings.Contains(errOut, "service idle of "+env+" has no running container") {
		t.Fatalf("a service that exited: exit %d %s", code, errOut)
	}
	code, _, errOut = berth(t, "--definitions", dir, "exec", env, "web", "--index", "2", "--", "/probe", "ls")
	if code != ExitNotFound || !strings.Contains(errOut, "no running container number 2") {
		t.Fatalf("index 2: exit %d %s", code, errOut)
	}

	// Input piped in reaches the command: the built binary, with a file
	// on its stdin, and the command copies it into the container.
	if berthBin == "" {
		t.Fatal("the CLI was not built in TestMain")
	}
	in := filepath.Join(t.TempDir(), "in")
	os.WriteFile(in, []byte("ignored input\n"), 0o644)
	cmd := exec.Command(berthBin, "--definitions", dir, "exec", "-T", env, "web", "--", "/probe", "ls", "/")
	f, _ := os.Open(in)
	defer f.Close()
	cmd.Stdin = f
	o, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(o), "probe") || strings.Contains(string(o), "\r\n") {
		t.Fatalf("exec -T with a file on stdin: %v %q (want the listing, no terminal line ends)", err, o)
	}

	// Under a pseudo-terminal the command gets a terminal: its output
	// comes back with a terminal's line ends.
	script, err := exec.LookPath("script")
	if err != nil {
		testenv.Missing(t, "script(1) (bsdutils) is not installed")
	}
	tty := exec.Command(script, "-qefc", berthBin+" --definitions "+dir+" exec "+env+" web -- /probe ls /", "/dev/null")
	o, err = tty.CombinedOutput()
	if err != nil || !strings.Contains(string(o), "probe\r\n") {
		t.Fatalf("exec under a terminal: %v %q", err, o)
	}
}
