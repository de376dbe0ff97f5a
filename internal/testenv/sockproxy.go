package testenv

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// SocketProxy forwards a unix socket of its own to another one (the
// engine's). Cut closes its socket and every connection through it, which
// a client sees as the engine going away; Open listens again. Tests use it
// to make a real engine "restart" without touching the shared engine.
type SocketProxy struct {
	// Path is the proxy's socket.
	Path string

	t        testing.TB
	upstream string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	// events counts event stream requests (GET /events) sent upstream.
	events atomic.Int64
	// watch, when set, sees what clients send (Watch).
	watch atomic.Pointer[func([]byte)]
}

// Watch calls fn with each piece of what clients send upstream (a request
// may span pieces), from the connections' goroutines: a test cuts the
// proxy from there at the request it chose.
func (p *SocketProxy) Watch(fn func([]byte)) { p.watch.Store(&fn) }

// EventStreams says how many engine event streams (the Engine API's
// GET /events) clients opened through the proxy since it started.
func (p *SocketProxy) EventStreams() int { return int(p.events.Load()) }

// NewSocketProxy starts a proxy to the unix socket upstream; it is cut
// when the test ends.
func NewSocketProxy(t testing.TB, upstream string) *SocketProxy {
	// A short folder: unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "berth-proxy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &SocketProxy{t: t, Path: filepath.Join(dir, "engine.sock"), upstream: upstream, conns: map[net.Conn]bool{}}
	p.Open()
	t.Cleanup(p.Cut)
	return p
}

// Open listens on Path and forwards each connection upstream.
func (p *SocketProxy) Open() {
	os.Remove(p.Path)
	ln, err := net.Listen("unix", p.Path)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", p.upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(&requestCounter{w: up, n: &p.events, watch: &p.watch}, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// Cut closes the socket and every connection through it.
func (p *SocketProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// eventsRequest is how an event stream request starts (the client always
// sends its filters); a match may span two writes.
var eventsRequest = []byte("/events?")

// requestCounter forwards what a client sends and counts the event
// stream requests in it.
type requestCounter struct {
	w     io.Writer
	n     *atomic.Int64
	watch *atomic.Pointer[func([]byte)]
	tail  []byte // the last bytes of the previous write
}

func (r *requestCounter) Write(b []byte) (int, error) {
	if fn := r.watch.Load(); fn != nil {
		(*fn)(b)
	}
	buf := append(r.tail, b...)
	r.n.Add(int64(bytes.Count(buf, eventsRequest)))
	keep := min(len(eventsRequest)-1, len(buf))
	r.tail = append(r.tail[:0], buf[len(buf)-keep:]...)
	return r.w.Write(b)
}
