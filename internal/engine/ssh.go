package engine

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
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
	c, err := dialCommand("ssh", t.args()...)
	if err != nil {
		return nil, err
	}
	c.pipeFailed = sshPipeFailed
	return c, nil
}

// sshPipeFailed, when set (tests only), is called by every ssh connection
// as soon as a read or write on its pipes fails, before it waits for ssh
// to exit.
var sshPipeFailed func()

// How long a connection over a process waits, once its pipes failed, for
// the process to exit and its standard error to be read; and how long the
// process's standard error may stay open after it exited (a descendant
// holding it).
var (
	cmdExitWait   = 5 * time.Second
	cmdStderrWait = time.Second
)

// cmdConn is a net.Conn over a child process's stdin and stdout.
//
// When a read or a write fails (the process closed its end or died: EOF,
// a broken pipe), what the process printed on standard error says why, and
// it may come after the pipe error: ssh closes its end, then prints
// "Could not resolve hostname" and exits. So the failing call waits for
// the process to exit and for its standard error to be read in full (at
// most cmdExitWait), and reports the last line it printed instead of the
// pipe error.
type cmdConn struct {
	name   string
	cmd    *exec.Cmd
	stdin  *os.File // the write end of the process's stdin
	stdout *os.File // the read end of its stdout
	stderr *tailBuffer
	// exited is closed once the process exited and its standard error was
	// read to the end (or cmdStderrWait passed).
	exited chan struct{}
	// pipeFailed, when set, is called when a read or a write fails,
	// before waiting (tests).
	pipeFailed func()

	closeOnce sync.Once
}

// dialCommand starts name with args and connects to its stdin and stdout.
// The pipes are made here rather than by exec.Cmd, whose Wait closes them:
// a goroutine waits for the process from the start, and what it wrote
// before exiting can still be read afterwards.
func dialCommand(name string, args ...string) (*cmdConn, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	cmd := exec.Command(name, args...)
	c := &cmdConn{name: filepath.Base(name), cmd: cmd, stdin: inW, stdout: outR, stderr: &tailBuffer{}, exited: make(chan struct{})}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, c.stderr
	cmd.WaitDelay = cmdStderrWait
	err = cmd.Start()
	// The child has its own copies; the parent keeps only its ends, so
	// that the child closing or exiting is seen as EOF and a broken pipe.
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		_ = cmd.Wait() // the exit status says less than standard error
		close(c.exited)
	}()
	return c, nil
}

func (c *cmdConn) Read(p []byte) (int, error) {
	n, err := c.stdout.Read(p)
	if err != nil {
		err = c.failed(err)
	}
	return n, err
}

func (c *cmdConn) Write(p []byte) (int, error) {
	n, err := c.stdin.Write(p)
	if err != nil {
		err = c.failed(err)
	}
	return n, err
}

// failed is what a failed read or write returns: err, or when the process
// said something on standard error by the time it exited, that.
func (c *cmdConn) failed(err error) error {
	if c.pipeFailed != nil {
		c.pipeFailed()
	}
	wait := time.NewTimer(cmdExitWait)
	defer wait.Stop()
	select {
	case <-c.exited:
	case <-wait.C:
	}
	msg := strings.TrimSpace(c.stderr.String())
	if msg == "" {
		return err
	}
	return &processError{name: c.name, msg: lastLine(msg), err: err}
}

// processError is a connection's process gone, in its own words.
type processError struct {
	name, msg string
	err       error // the pipe's error
}

func (e *processError) Error() string {
	return e.name + " closed the connection: " + e.msg
}

func (e *processError) Unwrap() error { return e.err }

// CloseWrite closes the process's stdin (half-close).
func (c *cmdConn) CloseWrite() error { return c.stdin.Close() }

// Close ends the process and releases the pipes.
func (c *cmdConn) Close() error {
	c.closeOnce.Do(func() {
		c.stdin.Close()
		_ = c.cmd.Process.Kill() // "already finished" is fine
		wait := time.NewTimer(cmdExitWait)
		defer wait.Stop()
		select {
		case <-c.exited:
		case <-wait.C:
		}
		c.stdout.Close()
	})
	return nil
}

type cmdAddr struct{}

func (cmdAddr) Network() string { return "cmd" }
func (cmdAddr) String() string  { return "cmd" }

func (c *cmdConn) LocalAddr() net.Addr                { return cmdAddr{} }
func (c *cmdConn) RemoteAddr() net.Addr               { return cmdAddr{} }
func (c *cmdConn) SetDeadline(t time.Time) error      { return nil }
func (c *cmdConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *cmdConn) SetWriteDeadline(t time.Time) error { return nil }

// tailBuffer keeps the last 64 KiB written to it.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

const tailMax = 64 << 10

func (s *tailBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	if len(s.b) > 2*tailMax {
		s.b = append(s.b[:0], s.b[len(s.b)-tailMax:]...)
	}
	return len(p), nil
}

func (s *tailBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.b) > tailMax {
		return string(s.b[len(s.b)-tailMax:])
	}
	return string(s.b)
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
