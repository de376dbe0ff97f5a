//go:build !unix

package cli

import (
	"time"

	"golang.org/x/term"
)

// terminalResizes signals each time the terminal on fd changed size until
// stop is called. A Windows console sends no signal when resized: its
// size is read four times a second, as the docker CLI does there.
func terminalResizes(fd int) (resized <-chan struct{}, stop func()) {
	out := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(out)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		w0, h0, _ := term.GetSize(fd)
		for {
			select {
			case <-tick.C:
				w, h, err := term.GetSize(fd)
				if err != nil || (w == w0 && h == h0) {
					continue
				}
				w0, h0 = w, h
				select {
				case out <- struct{}{}:
				default:
				}
			case <-done:
				return
			}
		}
	}()
	return out, func() { close(done) }
}
