package envlock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary act as another process (see TestMain).
const helperEnv = "BERTH_ENVLOCK_TEST_HELPER"

func TestMain(m *testing.M) {
	role := os.Getenv(helperEnv)
	if role == "" {
		os.Exit(m.Run())
	}
	dir, env := os.Args[len(os.Args)-2], os.Args[len(os.Args)-1]
	l, err := Acquire(context.Background(), dir, env, "deploy", false)
	switch {
	case errors.Is(err, ErrBusy):
		fmt.Println(err)
		os.Exit(3)
	case err != nil:
		fmt.Println(err)
		os.Exit(1)
	}
	if role == "hold" {
		fmt.Println("locked")
		time.Sleep(time.Minute) // until killed
	}
	l.Release()
	os.Exit(0)
}

// helper starts the test binary as another process in role.
func helper(t *testing.T, role, dir, env string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", dir, env)
	cmd.Env = append(os.Environ(), helperEnv+"="+role)
	return cmd
}

// holdInChild starts a process that holds env's lock until killed.
func holdInChild(t *testing.T, dir, env string) *exec.Cmd {
	t.Helper()
	cmd := helper(t, "hold", dir, env)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("child: %q, %v", line, err)
	}
	return cmd
}

func TestOtherProcessRefusedUntilKilled(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	child := holdInChild(t, dir, "shop")

	_, err := Acquire(ctx, dir, "shop", "up", false)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
	var busy *BusyError
	if !errors.As(err, &busy) || busy.Holder == nil {
		t.Fatalf("no holder in %v", err)
	}
	if busy.Holder.PID != child.Process.Pid || busy.Holder.What != "deploy" || busy.Holder.Env != "shop" {
		t.Errorf("holder %+v, want pid %d deploying shop", busy.Holder, child.Process.Pid)
	}
	msg := err.Error()
	prefix := "environment shop is busy: deploy started "
	suffix := fmt.Sprintf("s ago by pid %d (envlock.test)", child.Process.Pid)
	if !strings.HasPrefix(msg, prefix) || !strings.HasSuffix(msg, suffix) {
		t.Errorf("message %q, want %q…%q", msg, prefix, suffix)
	}

	// Another environment is free meanwhile.
	other, err := Acquire(ctx, dir, "blog", "up", false)
	if err != nil {
		t.Fatal(err)
	}
	other.Release()

	// SIGKILL: no chance to clean up, and yet no stale lock.
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	l, err := Acquire(ctx, dir, "shop", "up", false)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second release: %v", err)
	}
}

func TestThisProcessHoldsOtherRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := Acquire(ctx, dir, "shop", "deploy", false)
	if err != nil {
		t.Fatal(err)
	}
	out, err := helper(t, "try", dir, "shop").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("child: %v: %s", err, out)
	}
	if want := fmt.Sprintf("by pid %d", os.Getpid()); !strings.Contains(string(out), want) {
		t.Errorf("child said %q, want it to name %q", out, want)
	}
	// A second Lock in this same process is refused too.
	if _, err := Acquire(ctx, dir, "shop", "up", false); !errors.Is(err, ErrBusy) {
		t.Errorf("second acquire in-process: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if out, err := helper(t, "try", dir, "shop").CombinedOutput(); err != nil {
		t.Errorf("after release, child: %v: %s", err, out)
	}
}

func TestWaitGetsTheLockOnceReleased(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()
	first, err := Acquire(ctx, dir, "shop", "deploy", false)
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{}, 1)
	onWait = func(string) {
		select {
		case waiting <- struct{}{}:
		default:
		}
	}
	t.Cleanup(func() { onWait = func(string) {} })

	var released atomic.Bool
	type result struct {
		lock     *Lock
		err      error
		released bool
	}
	got := make(chan result, 1)
	go func() {
		l, err := Acquire(ctx, dir, "shop", "rollback", true)
		got <- result{l, err, released.Load()}
	}()
	// The second caller found the lock held and waits.
	select {
	case <-waiting:
	case r := <-got:
		t.Fatalf("the second caller did not wait: %v", r.err)
	case <-ctx.Done():
		t.Fatal("the second caller never waited")
	}
	released.Store(true)
	first.Release()
	var r result
	select {
	case r = <-got:
	case <-ctx.Done():
		t.Fatal("the second caller never got the lock")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.lock.Release()
	if !r.released {
		t.Error("the second caller got the lock before it was released")
	}
	if h := readHolder(r.lock.Path()); h == nil || h.What != "rollback" {
		t.Errorf("lock file names %+v", h)
	}
}

func TestWaitForKilledProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()
	child := holdInChild(t, dir, "shop")
	time.AfterFunc(300*time.Millisecond, func() { child.Process.Signal(syscall.SIGKILL) })
	l, err := Acquire(ctx, dir, "shop", "up", true)
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
}

func TestWaitGivesUpWhenContextEnds(t *testing.T) {
	dir := t.TempDir()
	first, err := Acquire(context.Background(), dir, "shop", "deploy", false)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = Acquire(ctx, dir, "shop", "up", true)
	if !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrBusy and DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "deploy started") {
		t.Errorf("message %q does not name the holder", err)
	}
}

func TestRejectsBadNames(t *testing.T) {
	for _, env := range []string{"", "../x", "a/b", ".hidden", "a b"} {
		if _, err := Acquire(context.Background(), t.TempDir(), env, "up", false); err == nil || errors.Is(err, ErrBusy) {
			t.Errorf("%q: %v", env, err)
		}
	}
}

func TestBusyMessage(t *testing.T) {
	host, _ := os.Hostname()
	tests := []struct {
		h    *Holder
		want string
	}{
		{nil, "environment shop is busy: another operation holds it"},
		{&Holder{What: "deploy", PID: 4242, Host: host, Command: "berth deploy", Since: time.Now().Add(-12 * time.Second)},
			"environment shop is busy: deploy started 12s ago by pid 4242 (berth deploy)"},
		{&Holder{What: "up", PID: 7, Host: "other-host"}, "environment shop is busy: up by pid 7 on other-host"},
	}
	for i, tt := range tests {
		if got := (&BusyError{Env: "shop", Holder: tt.h}).Error(); got != tt.want {
			t.Errorf("%d: %q, want %q", i, got, tt.want)
		}
	}
}
