package web

import (
	"sync"
	"time"

	"github.com/berthdev/berth/internal/core"
)

// message is one server-sent event: its name and its JSON data.
type message struct {
	name string
	data any
}

// hub fans events out to the open event streams. A stream that does not
// keep up loses events rather than slowing the operation down. The last
// engine state is kept and sent first to a new stream, so that a page
// opened while the engine is down says so at once.
type hub struct {
	mu     sync.Mutex
	subs   map[chan message]struct{}
	engine *message
}

func newHub() *hub { return &hub{subs: map[chan message]struct{}{}} }

// subscribe returns a channel of events and the function that closes it.
func (h *hub) subscribe() (<-chan message, func()) {
	c := make(chan message, 1024)
	h.mu.Lock()
	if h.engine != nil {
		c <- *h.engine
	}
	h.subs[c] = struct{}{}
	h.mu.Unlock()
	return c, func() {
		h.mu.Lock()
		delete(h.subs, c)
		h.mu.Unlock()
	}
}

// publish sends data under name to every stream; it is an api.Emitter.
func (h *hub) publish(name string, data any) {
	if ev, ok := data.(core.Event); ok && ev.Time.IsZero() {
		ev.Time = time.Now()
		data = ev
	}
	m := message{name, data}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c, ok := data.(core.Change); ok && c.Kind == core.ChangeEngine {
		h.engine = &m
	}
	for c := range h.subs {
		select {
		case c <- m:
		default:
		}
	}
}
