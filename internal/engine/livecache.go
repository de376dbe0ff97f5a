package engine

import (
	"sync"

	"github.com/berthdev/berth/internal/drift"
)

// liveCache keeps container and network inspects between drift checks,
// for as long as an open event stream vouches for them.
//
// The invariant: an entry is used only while a DriftEvents stream is open
// (armed), and every engine event about an object invalidates its entry
// before the event is passed on. An inspect stores its result only when no
// event about the object arrived while it ran (the object's sequence is
// unchanged) and no stream dropped meanwhile (the epoch is unchanged), so
// a cached answer is never older than the last event the caller was told
// about: an event still in flight is delivered afterwards and leads to a
// new check. A stream that drops (or closes) empties the cache. Image
// configurations are kept by image ID, which names immutable content.
type liveCache struct {
	mu    sync.Mutex
	armed int    // open DriftEvents streams
	epoch uint64 // bumped whenever a stream opens, drops or closes
	seq   map[string]uint64
	ctrs  map[string]drift.Container
	nets  map[string]drift.Network
	imgs  map[string]*drift.ImageConfig

	// hits and misses count container inspects answered from the cache
	// and from the engine (for tests and the bench).
	hits, misses int
}

// cacheToken is what an inspect remembers to store its result safely.
type cacheToken struct {
	epoch, seq uint64
	armed      bool
}

func (c *liveCache) init() {
	if c.seq == nil {
		c.seq = map[string]uint64{}
		c.ctrs = map[string]drift.Container{}
		c.nets = map[string]drift.Network{}
		c.imgs = map[string]*drift.ImageConfig{}
	}
}

// reset drops every container and network entry.
func (c *liveCache) reset() {
	c.epoch++
	clear(c.seq)
	clear(c.ctrs)
	clear(c.nets)
}

// arm counts a stream that opened; the returned func disarms it.
func (c *liveCache) arm() (disarm func()) {
	c.mu.Lock()
	c.init()
	c.armed++
	c.reset()
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.armed--
			c.reset()
			c.mu.Unlock()
		})
	}
}

// invalidate drops id's entry (a container or a network) and marks
// inspects of it under way as stale.
func (c *liveCache) invalidate(id string) {
	if id == "" {
		return
	}
	c.mu.Lock()
	c.init()
	c.seq[id]++
	delete(c.ctrs, id)
	delete(c.nets, id)
	c.mu.Unlock()
}

// invalidateNetworks drops every network entry (a container was renamed:
// the networks it is attached to report the old name).
func (c *liveCache) invalidateNetworks() {
	c.mu.Lock()
	c.init()
	for id := range c.nets {
		c.seq[id]++
	}
	clear(c.nets)
	c.mu.Unlock()
}

// container returns id's cached inspect, or a token to store a new one.
// fresh skips the cache (the periodic resync).
func (c *liveCache) container(id string, fresh bool) (drift.Container, bool, cacheToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	if c.armed > 0 && !fresh {
		if v, ok := c.ctrs[id]; ok {
			c.hits++
			return v, true, cacheToken{}
		}
	}
	c.misses++
	return drift.Container{}, false, cacheToken{epoch: c.epoch, seq: c.seq[id], armed: c.armed > 0}
}

// putContainer stores an inspect made with token t, unless it may be
// stale. Only containers Berth manages are kept: the event stream follows
// only those.
func (c *liveCache) putContainer(t cacheToken, v drift.Container) {
	if !t.armed || !v.Managed {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed > 0 && c.epoch == t.epoch && c.seq[v.ID] == t.seq {
		c.ctrs[v.ID] = v
	}
}

func (c *liveCache) network(id string, fresh bool) (drift.Network, bool, cacheToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	if c.armed > 0 && !fresh {
		if v, ok := c.nets[id]; ok {
			return v, true, cacheToken{}
		}
	}
	return drift.Network{}, false, cacheToken{epoch: c.epoch, seq: c.seq[id], armed: c.armed > 0}
}

func (c *liveCache) putNetwork(t cacheToken, v drift.Network) {
	if !t.armed {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed > 0 && c.epoch == t.epoch && c.seq[v.ID] == t.seq {
		c.nets[v.ID] = v
	}
}

// maxImageConfigs bounds the image configurations kept.
const maxImageConfigs = 512

func (c *liveCache) image(id string) *drift.ImageConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	return c.imgs[id]
}

func (c *liveCache) putImage(id string, ic *drift.ImageConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	if len(c.imgs) >= maxImageConfigs {
		clear(c.imgs)
	}
	c.imgs[id] = ic
}

// LiveCacheStats says how many container inspects were answered from the
// cache and how many went to the engine since the connection was made.
func (e *Engine) LiveCacheStats() (hits, misses int) {
	e.live.mu.Lock()
	defer e.live.mu.Unlock()
	return e.live.hits, e.live.misses
}
