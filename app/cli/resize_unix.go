//go:build unix

package cli

import (
	"os"
	"os/signal"
	"syscall"
)

// terminalResizes signals each time the terminal on fd may have changed
// size (SIGWINCH) until stop is called, which closes it.
func terminalResizes(int) (resized <-chan struct{}, stop func()) {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	out := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case <-winch:
				select {
				case out <- struct{}{}:
				default:
				}
			case <-done:
				return
			}
		}
	}()
	return out, func() { signal.Stop(winch); close(done) }
}
