package desktop

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTerminalCommand(t *testing.T) {
	have := map[string]bool{"gnome-terminal": true, "xterm": true, "kitty": true}
	look := func(n string) (string, error) {
		if have[filepath.Base(n)] {
			return "/usr/bin/" + filepath.Base(n), nil
		}
		return "", errors.New("not found")
	}
	argv := []string{"/opt/berth", "exec", "shop", "web"}
	for _, c := range []struct {
		terminal string
		want     []string
	}{
		{"", []string{"/usr/bin/gnome-terminal", "--", "/opt/berth", "exec", "shop", "web"}},
		{"kitty", []string{"/usr/bin/kitty", "/opt/berth", "exec", "shop", "web"}},
		{"nosuch", []string{"/usr/bin/gnome-terminal", "--", "/opt/berth", "exec", "shop", "web"}},
	} {
		term, args, err := terminalCommand(func(k string) string {
			if k == "TERMINAL" {
				return c.terminal
			}
			return ""
		}, look, argv)
		if got := append([]string{term}, args...); err != nil || !slices.Equal(got, c.want) {
			t.Errorf("TERMINAL=%q: %q, %v; want %q", c.terminal, got, err, c.want)
		}
	}
	if _, _, err := terminalCommand(func(string) string { return "" }, func(string) (string, error) { return "", errors.New("no") }, argv); err == nil {
		t.Error("no terminal at all: no error")
	}
}

// A Shell button starts the terminal found on PATH with berth exec.
func TestOpenShellStartsTheTerminal(t *testing.T) {
	bin := t.TempDir()
	got := filepath.Join(t.TempDir(), "args")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + got + ".tmp && /bin/mv " + got + ".tmp " + got + "\n"
	if err := os.WriteFile(filepath.Join(bin, "x-terminal-emulator"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	t.Setenv("TERMINAL", "")
	a := &API{}
	sh, err := a.OpenShell("shop", "web")
	if err != nil || !sh.Opened || sh.Terminal != "x-terminal-emulator" || sh.Command != "berth exec shop web" {
		t.Fatalf("OpenShell: %+v, %v", sh, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var b []byte
	for time.Now().Before(deadline) {
		if b, err = os.ReadFile(got); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	self, _ := os.Executable()
	if want := "-e\n" + self + "\nexec\nshop\nweb\n"; string(b) != want {
		t.Fatalf("the terminal ran with %q, want %q", b, want)
	}
	if _, err := a.OpenShell("shop; rm -rf /", "web"); err == nil || !strings.Contains(err.Error(), "not an environment") {
		t.Fatalf("a name that is no name: %v", err)
	}
	t.Setenv("PATH", t.TempDir())
	if sh, err := a.OpenShell("shop", "web"); err != nil || sh.Opened || sh.Why == "" {
		t.Fatalf("no terminal: %+v, %v (want the command and why)", sh, err)
	}
}
