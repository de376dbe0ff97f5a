package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sshTarget is a parsed ssh://[user@]host[:port] engine address.
type sshTarget struct {
	User, Host string
	Port       int
}

func parseSSH(host string) (sshTarget, error) {
	u, err := url.Parse(host)
	if err != nil {
		return sshTarget{}, fmt.Errorf("engine host %q: %w", host, err)
	}
	if u.Scheme != "ssh" {
		return sshTarget{}, fmt.Errorf("engine host %q is not an ssh:// address", host)
	}
	if _, has := u.User.Password(); has {
		return sshTarget{}, fmt.Errorf("engine host %q: put no password in an ssh:// address (use keys or an agent)", host)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return sshTarget{}, fmt.Errorf("engine host %q: an ssh:// address takes no path or query", host)
	}
	t := sshTarget{User: u.User.Username(), Host: u.Hostname()}
	if t.Host == "" || strings.HasPrefix(t.Host, "-") || strings.HasPrefix(t.User, "-") {
		return sshTarget{}, fmt.Errorf("engine host %q: not a valid ssh host", host)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return sshTarget{}, fmt.Errorf("engine host %q: bad port %q", host, p)
		}
		t.Port = n
	}
	return t, nil
}

// args is the ssh command line that opens a stdio connection to the remote
// engine.
func (t sshTarget) args() []string {
	a := []string{"-o", "ConnectTimeout=" + strconv.Itoa(sshConnectWait), "-T"}
	if t.Port != 0 {
		a = append(a, "-p", strconv.Itoa(t.Port))
	}
	dest := t.Host
	if t.User != "" {
		dest = t.User + "@" + t.Host
	}
	return append(a, "--", dest, "docker", "system", "dial-stdio")
}

// dial starts ssh and returns its stdin/stdout as a connection. The network
// and address the HTTP transport passes are placeholders and ignored.
func (t sshTarget) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return dialCommand("ssh", t.args()...)
}

// cmdConn is a net.Conn over a child process's stdin and stdout.
type cmdConn struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr *syncBuffer

	closeOnce sync.Once
	closeErr  error
}

func dialCommand(name string, args ...string) (net.Conn, error) {
	cmd := exec.Command(name, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &cmdConn{cmd: cmd, stdin: stdin, stdout: stdout, stderr: &syncBuffer{}}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	return c, nil
}

func (c *cmdConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if err == io.EOF {
		// Give the process a moment to say why it closed.
		for range 10 {
			if c.stderr.Len() > 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if msg := strings.TrimSpace(c.stderr.String()); msg != "" {
			return n, fmt.Errorf("%s closed the connection: %s", filepath.Base(c.cmd.Path), lastLine(msg))
		}
	}
	return n, err
}

func (c *cmdConn) Write(p []byte) (int, error) { return c.stdin.Write(p) }

// CloseWrite closes the process's stdin (half-close).
func (c *cmdConn) CloseWrite() error { return c.stdin.Close() }

func (c *cmdConn) Close() error {
	c.closeOnce.Do(func() {
		c.stdin.Close()
		if c.cmd.Process != nil {
			c.cmd.Process.Kill()
		}
		c.cmd.Wait()
	})
	return c.closeErr
}

type cmdAddr struct{}

func (cmdAddr) Network() string { return "cmd" }
func (cmdAddr) String() string  { return "cmd" }

func (c *cmdConn) LocalAddr() net.Addr                { return cmdAddr{} }
func (c *cmdConn) RemoteAddr() net.Addr               { return cmdAddr{} }
func (c *cmdConn) SetDeadline(t time.Time) error      { return nil }
func (c *cmdConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *cmdConn) SetWriteDeadline(t time.Time) error { return nil }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 64<<10 {
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
