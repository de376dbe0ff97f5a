//go:build unix

// The fake ssh of these tests is a shell script, and their gates are named pipes.

package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
)

// TestMain lets the test binary stand in for `docker system dial-stdio` on
// the far side of a fake ssh: with BERTH_TEST_DIAL_STDIO set to a socket
// path it copies stdin/stdout to that socket and exits.
func TestMain(m *testing.M) {
	if sock := os.Getenv("BERTH_TEST_DIAL_STDIO"); sock != "" {
		os.Exit(dialStdio(sock))
	}
	os.Exit(m.Run())
}

func dialStdio(sock string) int {
	conn, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial-stdio:", err)
		return 1
	}
	go func() {
		io.Copy(conn, os.Stdin)
		conn.(*net.UnixConn).CloseWrite()
	}()
	io.Copy(os.Stdout, conn)
	return 0
}

// fakeSSH puts an `ssh` on PATH that logs its arguments and runs script.
func fakeSSH(t *testing.T, script string) (logFile string) {
	t.Helper()
	dir := t.TempDir()
	logFile = filepath.Join(dir, "args.log")
	body := "#!/bin/sh\necho \"$@\" >> " + logFile + "\n" + script + "\n"
	if err := os.WriteFile(filepath.Join(dir, "ssh"), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return logFile
}

// TestConnectSSH connects through a fake ssh whose remote end is this test
// binary proxying to the local engine's socket, as `docker system
// dial-stdio` would on a remote host.
func TestConnectSSH(t *testing.T) {
	testenv.Engine(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	logFile := fakeSSH(t, "BERTH_TEST_DIAL_STDIO=/var/run/docker.sock exec "+exe)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := Connect(ctx, Options{Host: "ssh://deploy@build-host:2222"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ep := e.Endpoint()
	if ep.Host != "ssh://deploy@build-host:2222" || ep.Context != "default" || ep.APIVersion == "" || ep.ServerVersion == "" || ep.OS != "linux" {
		t.Errorf("endpoint %+v", ep)
	}
	if _, err := e.Projects(ctx); err != nil {
		t.Fatalf("an API call over ssh: %v", err)
	}
	if err := e.Ping(ctx); err != nil {
		t.Fatalf("ping over ssh: %v", err)
	}
	args, _ := os.ReadFile(logFile)
	first, _, _ := strings.Cut(string(args), "\n")
	if first != "-o ConnectTimeout=6 -T -p 2222 -- deploy@build-host docker system dial-stdio" {
		t.Errorf("ssh ran with %q", first)
	}
}

// TestConnectSSHFails: ssh's complaint reaches the user.
func TestConnectSSHFails(t *testing.T) {
	fakeSSH(t, "echo 'ssh: Could not resolve hostname nohost: Name or service not known' >&2\nexit 255")
	_, err := Connect(context.Background(), Options{Host: "ssh://nohost"})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("error = %v", err)
	}
	for _, want := range []string{"ssh://nohost", "Could not resolve hostname nohost", "check that `ssh nohost` works"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// ssh's exit ends the wait, not the ping's timeout.
	if strings.Contains(err.Error(), "no answer within") {
		t.Errorf("error %q: Connect waited for the ping's timeout", err)
	}
	t.Log(err)
}

// gate is a named pipe a shell script blocks on ("read x < PATH") until
// the test opens it.
type gate string

func newGate(t *testing.T, dir, name string) gate {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return gate(p)
}

// open lets the script past "read x < g" (once; later calls do nothing).
func (g gate) open(once *sync.Once) {
	once.Do(func() {
		f, err := os.OpenFile(string(g), os.O_WRONLY, 0)
		if err == nil {
			f.Write([]byte("go\n"))
			f.Close()
		}
	})
}

// within runs f and fails the test when it has not returned in 30 s.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: no end in 30 s", what)
	}
}

// lateComplaint is a process that closes its stdin and stdout, says so on
// the named pipe ready, waits for the gate to open, and only then
// complains on standard error and exits: the complaint comes strictly
// after the parent's read or write failed.
func lateComplaint(ready, g gate) string {
	return "exec 0<&- 1>&-\necho closed > '" + string(ready) + "'\nread x < '" + string(g) +
		"'\necho 'ssh: Could not resolve hostname nohost: Name or service not known' >&2\nexit 255"
}

// TestCmdConnWaitsForTheComplaint forces the order that lost ssh's message
// on a loaded machine: the pipe fails first (a write on a closed stdin, a
// read of a closed stdout), and the process writes to standard error and
// exits only afterwards. The failed call must wait for it and return its
// words, still wrapping the pipe's error.
func TestCmdConnWaitsForTheComplaint(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   func(c *cmdConn) error
		pipe error
	}{
		{"write", func(c *cmdConn) error { _, err := c.Write([]byte("GET /_ping HTTP/1.1\r\n\r\n")); return err }, syscall.EPIPE},
		{"read", func(c *cmdConn) error { _, err := c.Read(make([]byte, 64)); return err }, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ready, g := newGate(t, dir, "ready"), newGate(t, dir, "go")
			c, err := dialCommand("sh", "-c", lateComplaint(ready, g))
			if err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			failedFirst := false
			c.pipeFailed = func() {
				failedFirst = c.stderr.String() == "" // nothing said yet
				g.open(&once)
			}
			t.Cleanup(func() {
				go g.open(&once) // never leave the script blocked
				c.Close()
			})
			// Once the script says so, its stdin has no reader and its
			// stdout no writer.
			within(t, "waiting for the script to close its pipes", func() {
				if _, err := os.ReadFile(string(ready)); err != nil {
					t.Error(err)
				}
			})
			var opErr error
			within(t, tc.name, func() { opErr = tc.op(c) })
			if !failedFirst {
				t.Fatal("the pipe did not fail before the complaint (the test proves nothing)")
			}
			if opErr == nil || !strings.Contains(opErr.Error(), "Could not resolve hostname nohost") {
				t.Fatalf("%s error %v, want the process's complaint", tc.name, opErr)
			}
			if !errors.Is(opErr, tc.pipe) {
				t.Errorf("%s error %v does not wrap %v", tc.name, opErr, tc.pipe)
			}
			t.Log(opErr)
		})
	}
}

// TestConnectSSHFailsLate: the same order through Connect and the HTTP
// transport; ssh complains only once the transport's write or read failed.
func TestConnectSSHFailsLate(t *testing.T) {
	dir := t.TempDir()
	ready, g := newGate(t, dir, "ready"), newGate(t, dir, "go")
	// The script announces itself on ready; nobody needs to wait for it
	// here, so a reader drains it.
	go os.ReadFile(string(ready))
	fakeSSH(t, lateComplaint(ready, g))
	var once sync.Once
	sshPipeFailed = func() { g.open(&once) }
	t.Cleanup(func() {
		sshPipeFailed = nil
		go g.open(&once)
	})
	var err error
	within(t, "Connect", func() { _, err = Connect(context.Background(), Options{Host: "ssh://nohost"}) })
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "Could not resolve hostname nohost") {
		t.Fatalf("error %v, want ssh's complaint", err)
	}
	t.Log(err)
}
