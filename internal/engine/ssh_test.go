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
	start := time.Now()
	_, err := Connect(context.Background(), Options{Host: "ssh://nohost"})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("error = %v", err)
	}
	for _, want := range []string{"ssh://nohost", "Could not resolve hostname nohost", "check that `ssh nohost` works"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	t.Log(err)
}
