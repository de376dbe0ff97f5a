// Package envlock makes sure only one operation runs on an environment at a
// time, across processes (the CLI and the desktop app at once), with a lock
// that a crashed or killed process cannot leave stuck.
//
// On Unix the lock is flock(2) on DIR/locks/ENV.lock: the kernel releases it
// when the holding process dies, however it dies. The file also says who
// holds the lock (pid, host, operation, start time), so a refused caller can
// tell the user what it is waiting for. Lock files are never removed:
// removing one would let two processes lock two different files of the same
// name.
package envlock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrBusy is what a refused Acquire's error Is: another operation holds
// the environment. errors.As with *BusyError gives the holder.
var ErrBusy = errors.New("environment is busy")

// Holder says who holds an environment's lock.
type Holder struct {
	Env     string    `json:"env"`
	What    string    `json:"what"` // the operation: "deploy", "up"...
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command,omitempty"` // "berth deploy"
	Since   time.Time `json:"since"`
}

// BusyError is the error of an Acquire refused because another process (or
// another Lock in this one) holds the environment.
type BusyError struct {
	Env string
	// Holder is who holds it; nil when the lock file did not say (the
	// holder had not written it yet).
	Holder *Holder
}

func (e *BusyError) Error() string {
	if e.Holder == nil {
		return fmt.Sprintf("environment %s is busy: another operation holds it", e.Env)
	}
	h := e.Holder
	var b strings.Builder
	fmt.Fprintf(&b, "environment %s is busy: ", e.Env)
	if h.What != "" {
		b.WriteString(h.What + " ")
	}
	if !h.Since.IsZero() {
		fmt.Fprintf(&b, "started %s ago ", time.Since(h.Since).Round(time.Second))
	}
	fmt.Fprintf(&b, "by pid %d", h.PID)
	if host, _ := os.Hostname(); h.Host != "" && h.Host != host {
		fmt.Fprintf(&b, " on %s", h.Host)
	}
	if h.Command != "" {
		fmt.Fprintf(&b, " (%s)", h.Command)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrBusy) true.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Lock is a held environment lock.
type Lock struct {
	Holder Holder
	path   string

	mu   sync.Mutex
	file *os.File // nil once released
}

// Path is the lock file.
func (l *Lock) Path() string { return l.path }

// onWait is called each time Acquire finds the lock held and waits; tests
// replace it to know that a caller is blocked.
var onWait = func(env string) {}

// envName is what an environment name may look like (it names a file).
var envName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Acquire takes the lock of environment env under dir (the data folder),
// for the operation what. When another holds it, Acquire returns a
// *BusyError at once, or, with wait, tries again until it gets the lock or
// ctx ends (then the error is both ErrBusy and ctx's error).
func Acquire(ctx context.Context, dir, env, what string, wait bool) (*Lock, error) {
	if !envName.MatchString(env) || len(env) > 200 {
		return nil, fmt.Errorf("envlock: %q is not an environment name", env)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("envlock: %s: %w", env, err)
	}
	locks := filepath.Join(dir, "locks")
	if err := os.MkdirAll(locks, 0o700); err != nil {
		return nil, fmt.Errorf("envlock: %w", err)
	}
	path := filepath.Join(locks, env+".lock")
	host, _ := os.Hostname()
	h := Holder{Env: env, What: what, PID: os.Getpid(), Host: host, Command: command()}

	delay := 20 * time.Millisecond
	for {
		h.Since = time.Now()
		f, err := tryLock(path, h)
		if err == nil {
			return &Lock{Holder: h, path: path, file: f}, nil
		}
		if !errors.Is(err, errLocked) {
			return nil, fmt.Errorf("envlock: %s: %w", env, err)
		}
		busy := &BusyError{Env: env, Holder: readHolder(path)}
		if !wait {
			return nil, busy
		}
		onWait(env)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (gave up waiting: %w)", busy, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

// Release gives the lock up. Releasing twice is harmless.
func (l *Lock) Release() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return nil
	}
	err := unlock(l.path, l.file)
	l.file = nil
	if err != nil {
		return fmt.Errorf("envlock: release %s: %w", l.Holder.Env, err)
	}
	return nil
}

// errLocked is tryLock's "someone else holds it".
var errLocked = errors.New("locked")

// writeHolder replaces the lock file's content with h.
func writeHolder(f *os.File, h Holder) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err = f.WriteAt(b, 0)
	return err
}

// readHolder reads who holds path; nil when the file does not say (yet).
// The holder writes right after it locks, so an empty or half-written file
// is read again a few times.
func readHolder(path string) *Holder {
	for range 5 {
		if b, err := readAtMost(path, maxHolderBytes); err == nil {
			if h := parseHolder(b); h != nil {
				return h
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// maxHolderBytes is the most of a lock file a refused caller reads: a
// holder is a line of JSON of a few hundred bytes.
const maxHolderBytes = 4 << 10

// maxHolderText is the most of each text field of a holder that is shown.
const maxHolderText = 200

// readAtMost reads the first n bytes of path.
func readAtMost(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// parseHolder reads a lock file's content: nil unless it names a holder
// (a process id above 0). The file is another process's writing, read
// into an error shown on a terminal: its text fields are cut to
// maxHolderText characters, with anything but printable characters (line
// breaks, escape sequences, invalid UTF-8) replaced.
func parseHolder(b []byte) *Holder {
	if len(b) == 0 {
		return nil
	}
	var h Holder
	if json.Unmarshal(b, &h) != nil || h.PID <= 0 {
		return nil
	}
	for _, s := range []*string{&h.Env, &h.What, &h.Host, &h.Command} {
		*s = printable(*s)
	}
	return &h
}

// printable is s with every rune that is not printable (or a plain space)
// replaced by U+FFFD, at most maxHolderText of them.
func printable(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxHolderText {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// command is how this process was started, short: the program's name and
// its first argument when that is a subcommand ("berth deploy").
func command() string {
	if len(os.Args) == 0 {
		return ""
	}
	c := filepath.Base(os.Args[0])
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") && len(os.Args[1]) < 40 {
		c += " " + os.Args[1]
	}
	return c
}
