package web

import (
	"sync"
	"time"

	"github.com/berthdev/berth/internal/core"
)

// hub fans core events out to the open event streams. A stream that does
// not keep up loses events rather than slowing the operation down.
type hub struct {
	mu   sync.Mutex
	subs map[chan core.Event]struct{}
}

func newHub() *hub { return &hub{subs: map[chan core.Event]struct{}{}} }

// subscribe returns a channel of events and the function that closes it.
func (h *hub) subscribe() (<-chan core.Event, func()) {
	c := make(chan core.Event, 256)
	h.mu.Lock()
	h.subs[c] = struct{}{}
	h.mu.Unlock()
	return c, func() {
		h.mu.Lock()
		delete(h.subs, c)
		h.mu.Unlock()
	}
}

// publish sends ev to every stream; it is a core.Emit.
func (h *hub) publish(ev core.Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.subs {
		select {
		case c <- ev:
		default:
		}
	}
}
