//go:build unix

package cli

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestTerminalResizes: a SIGWINCH comes out as one resize, and stop closes
// the channel, which ends berth exec's resize loop.
func TestTerminalResizes(t *testing.T) {
	resized, stop := terminalResizes(0)
	if err := syscall.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	select {
	case _, ok := <-resized:
		if !ok {
			t.Fatal("closed before stop")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no resize after SIGWINCH")
	}
	stop()
	select {
	case _, ok := <-resized:
		if ok {
			t.Fatal("a resize after stop")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stop did not close the channel")
	}
}
