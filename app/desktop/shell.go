package desktop

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"

	"github.com/berthdev/berth/app/api"
)

// A Shell button opens the user's terminal emulator running berth exec
// ENV SERVICE. Which terminal: $TERMINAL when set, else the system's
// choice (x-terminal-emulator on Debian), else the first of the common
// ones on PATH. Each takes the command after its own flag; the arguments
// go to it as a list, never through a shell.

// terminals are the emulators tried, with the flag before the command.
var terminals = []struct{ name, flag string }{
	{"x-terminal-emulator", "-e"},
	{"gnome-terminal", "--"},
	{"konsole", "-e"},
	{"xfce4-terminal", "-x"},
	{"kitty", ""},
	{"alacritty", "-e"},
	{"foot", ""},
	{"xterm", "-e"},
}

var shellName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)

// terminalCommand is the terminal to start and its arguments for argv.
func terminalCommand(getenv func(string) string, lookPath func(string) (string, error), argv []string) (string, []string, error) {
	if t := getenv("TERMINAL"); t != "" {
		if p, err := lookPath(t); err == nil {
			flag := "-e"
			for _, k := range terminals {
				if k.name == filepath.Base(t) {
					flag = k.flag
				}
			}
			return p, withFlag(flag, argv), nil
		}
	}
	for _, k := range terminals {
		if p, err := lookPath(k.name); err == nil {
			return p, withFlag(k.flag, argv), nil
		}
	}
	return "", nil, errors.New("no terminal emulator found (set TERMINAL, or install one such as xterm)")
}

func withFlag(flag string, argv []string) []string {
	if flag == "" {
		return append([]string{}, argv...)
	}
	return append([]string{flag}, argv...)
}

// OpenShell opens a terminal running berth exec ENV SERVICE; when none can
// be started it says the command to run.
func (a *API) OpenShell(env, service string) (*api.Shell, error) {
	if !shellName.MatchString(env) || !shellName.MatchString(service) {
		return nil, fmt.Errorf("%q / %q is not an environment and service name", env, service)
	}
	out := &api.Shell{Command: "berth exec " + env + " " + service}
	self, err := os.Executable()
	if err != nil {
		out.Why = err.Error()
		return out, nil
	}
	term, args, err := terminalCommand(os.Getenv, exec.LookPath, []string{self, "exec", env, service})
	if err != nil {
		out.Why = err.Error()
		return out, nil
	}
	cmd := exec.Command(term, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	if err := cmd.Start(); err != nil {
		out.Why = fmt.Sprintf("starting %s: %v", filepath.Base(term), err)
		return out, nil
	}
	go func() { _ = cmd.Wait() }() // reaped when the window closes
	out.Opened, out.Terminal = true, filepath.Base(term)
	return out, nil
}
