package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
	"github.com/berthdev/berth/internal/testenv"
)

func (c *liveCache) state() (armed, entries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.armed, len(c.ctrs) + len(c.nets)
}

// TestIntegrationLiveCacheEvents proves the inspect cache against the real
// engine, seen through a socket proxy the test can cut: inspects are kept
// while the event stream is open, an event about a container makes exactly
// that one be inspected again (and its change seen), fresh inspects
// everything, and when the stream drops (the proxy cut, as an engine
// restart looks to Berth) the cache is dropped, so that a change made
// while Berth could not hear events is seen once it reconnects.
func TestIntegrationLiveCacheEvents(t *testing.T) {
	direct := testEngine(t)
	host := direct.Endpoint().Host
	if !strings.HasPrefix(host, "unix://") {
		testenv.Missing(t, "the engine is at "+host+": the socket proxy forwards a unix socket")
	}
	img := probeImage(t, direct)
	name := uniqueProject(t, direct)
	ctx := testCtx(t, 3*time.Minute)
	proxy := testenv.NewSocketProxy(t, strings.TrimPrefix(host, "unix://"))
	e, err := Connect(ctx, Options{Host: "unix://" + proxy.Path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "berth.yaml"), []byte("name: cache\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  web:\n    image: "+img+"\n    command: [\"sleep\"]\n  side:\n    image: "+img+"\n    command: [\"sleep\"]\n"), 0o644)
	p, err := spec.LoadDefinition(ctx, dir, spec.LoadOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := direct.Observe(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := reconcile.Up(p, obs)
	if err != nil {
		t.Fatal(err)
	}
	if err := direct.Apply(ctx, p, plan, ApplyOptions{Wait: true, WaitTimeout: time.Minute}, func(reconcile.Progress) {}); err != nil {
		t.Fatal(err)
	}

	// follow runs DriftEvents on e until it ends, passing on events of
	// the project, and waits until the stream is open.
	type result struct{ err error }
	follow := func() (<-chan string, <-chan result) {
		evs, done := make(chan string, 100), make(chan result, 1)
		sctx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel)
		go func() {
			err := e.DriftEvents(sctx, func(ev Event) {
				if ev.Project == name {
					evs <- ev.Container + " " + ev.Action
				}
			})
			done <- result{err}
		}()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if armed, _ := e.live.state(); armed > 0 {
				return evs, done
			}
			if time.Now().After(deadline) {
				t.Fatal("the event stream did not open")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	live := func(fresh bool) (drift.Live, int, int) {
		t.Helper()
		h0, m0 := e.LiveCacheStats()
		m, err := e.LiveMany(ctx, []*spec.Project{p}, fresh)
		if err != nil {
			t.Fatal(err)
		}
		h1, m1 := e.LiveCacheStats()
		return m[name], h1 - h0, m1 - m0
	}
	await := func(evs <-chan string, want string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case ev := <-evs:
				if ev == want {
					return
				}
			case <-deadline:
				t.Fatalf("no event %q", want)
			}
		}
	}

	// Without an open stream nothing is kept.
	if _, hits, misses := live(false); hits != 0 || misses != 2 {
		t.Fatalf("without a stream: %d hits, %d misses, want 0 and 2", hits, misses)
	}
	evs, done := follow()
	if l, hits, misses := live(false); hits != 0 || misses != 2 || len(drift.Diff(p, l)) != 0 {
		t.Fatalf("first look: %d hits, %d misses, drift %v; want 0, 2, none", hits, misses, drift.Diff(p, l))
	}
	if _, hits, misses := live(false); hits != 2 || misses != 0 {
		t.Fatalf("nothing happened: %d hits, %d misses, want 2 and 0", hits, misses)
	}

	// docker update on web: its event invalidates web only.
	web := name + "-web-1"
	if _, err := direct.cli.ContainerUpdate(ctx, web, container.UpdateConfig{Resources: container.Resources{Memory: 256 << 20, MemorySwap: -1}}); err != nil {
		t.Fatal(err)
	}
	await(evs, web+" update")
	l, hits, misses := live(false)
	if hits != 1 || misses != 1 {
		t.Errorf("after an update of web: %d hits, %d misses, want 1 and 1", hits, misses)
	}
	if got := render(drift.Diff(p, l)); !strings.Contains(got, "web /deploy/resources/limits/memory added") {
		t.Errorf("the update is not seen:\n%s", got)
	}
	if _, hits, misses := live(true); hits != 0 || misses != 2 {
		t.Errorf("fresh: %d hits, %d misses, want 0 and 2", hits, misses)
	}

	// The engine goes away for Berth: the stream ends with an error and
	// the cache is dropped.
	proxy.Cut()
	select {
	case r := <-done:
		if r.err == nil {
			t.Error("DriftEvents returned nil when its stream was cut")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("DriftEvents did not notice the cut")
	}
	if armed, entries := e.live.state(); armed != 0 || entries != 0 {
		t.Fatalf("after the cut: armed %d, %d entries kept; want none", armed, entries)
	}
	if _, err := e.LiveMany(ctx, []*spec.Project{p}, false); err == nil {
		t.Fatal("LiveMany answered through a cut proxy")
	}
	// Meanwhile side is killed: an event Berth cannot hear.
	if err := direct.cli.ContainerKill(ctx, name+"-side-1", "KILL"); err != nil {
		t.Fatal(err)
	}
	waitState(t, direct, name+"-side-1", "exited")

	proxy.Open()
	var reconnectErr error
	for range 50 { // the client reconnects on the next call
		if reconnectErr = e.Ping(ctx); reconnectErr == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if reconnectErr != nil {
		t.Fatal(reconnectErr)
	}
	follow()
	l, _, misses = live(false)
	if misses != 2 {
		t.Errorf("after reconnecting: %d misses, want 2 (nothing kept across the cut)", misses)
	}
	got := render(drift.Diff(p, l))
	if !strings.Contains(got, "side /state stopped") {
		t.Errorf("the container killed while the stream was down is not seen:\n%s", got)
	}
}

func waitState(t *testing.T, e *Engine, name, state string) {
	t.Helper()
	for range 100 {
		ins, err := e.cli.ContainerInspect(context.Background(), name)
		if err == nil && string(ins.State.Status) == state {
			return
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("inspect %s: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never %s", name, state)
}

// TestLiveCacheTokens: what the cache keeps and when, without an engine.
func TestLiveCacheTokens(t *testing.T) {
	ctr := func(id string, managed bool) drift.Container {
		return drift.Container{ID: id, Managed: managed, State: "running"}
	}
	tests := []struct {
		name string
		run  func(c *liveCache) // inspect "a" and store it, with whatever happens meanwhile
		kept bool
	}{
		{"no stream open", func(c *liveCache) {
			_, _, tok := c.container("a", false)
			c.putContainer(tok, ctr("a", true))
		}, false},
		{"stream open", func(c *liveCache) {
			c.arm()
			_, _, tok := c.container("a", false)
			c.putContainer(tok, ctr("a", true))
		}, true},
		{"not Berth's", func(c *liveCache) {
			c.arm()
			_, _, tok := c.container("a", false)
			c.putContainer(tok, ctr("a", false))
		}, false},
		{"event during the inspect", func(c *liveCache) {
			c.arm()
			_, _, tok := c.container("a", false)
			c.invalidate("a")
			c.putContainer(tok, ctr("a", true))
		}, false},
		{"event about another container", func(c *liveCache) {
			c.arm()
			_, _, tok := c.container("a", false)
			c.invalidate("b")
			c.putContainer(tok, ctr("a", true))
		}, true},
		{"stream dropped during the inspect", func(c *liveCache) {
			disarm := c.arm()
			_, _, tok := c.container("a", false)
			disarm()
			c.arm() // reconnected meanwhile
			c.putContainer(tok, ctr("a", true))
		}, false},
		{"event after the store", func(c *liveCache) {
			c.arm()
			_, _, tok := c.container("a", false)
			c.putContainer(tok, ctr("a", true))
			c.invalidate("a")
		}, false},
		{"stream dropped after the store", func(c *liveCache) {
			disarm := c.arm()
			c.arm() // a second stream stays open
			_, _, tok := c.container("a", false)
			c.putContainer(tok, ctr("a", true))
			disarm()
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &liveCache{}
			tt.run(c)
			_, hit, _ := c.container("a", false)
			if hit != tt.kept {
				t.Errorf("kept = %v, want %v", hit, tt.kept)
			}
			if hit {
				if _, fresh, _ := c.container("a", true); fresh {
					t.Error("a fresh look used the cache")
				}
			}
		})
	}
}
