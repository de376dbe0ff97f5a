package api

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
)

// listingCore counts listings; each one says how many came before it.
// release, when set, holds every listing until it is closed.
type listingCore struct {
	Core
	lists   atomic.Int32
	release chan struct{}
	watch   func(out func(core.Change))
}

func (c *listingCore) List(ctx context.Context) (*core.Listing, error) {
	n := c.lists.Add(1)
	if c.release != nil {
		select {
		case <-c.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &core.Listing{Environments: make([]core.Environment, n)}, nil
}

func (c *listingCore) WatchAll(ctx context.Context, opts core.DriftWatchOptions, out func(core.Change)) error {
	c.watch(out)
	return nil
}

func TestPrefetchServesTheFirstListingOnce(t *testing.T) {
	c := &listingCore{release: make(chan struct{})}
	s := New(c, nil, func(string, any) {})
	s.Prefetch(t.Context())

	// The page asks while the early listing is still under way: it waits
	// for that one instead of starting a second.
	got := make(chan *core.Listing, 1)
	go func() {
		l, err := s.ListEnvironments(t.Context())
		if err != nil {
			t.Error(err)
		}
		got <- l
	}()
	// It has taken the early listing over (and waits for it: the listing
	// is held) once s.early is gone.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		taken := s.early == nil
		s.mu.Unlock()
		if taken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the page's listing never took the early one over")
		}
		time.Sleep(time.Millisecond)
	}
	close(c.release)
	first := <-got
	if len(first.Environments) != 1 || c.lists.Load() != 1 {
		t.Fatalf("first listing: %d environments after %d listings, want the prefetched one (1, 1)", len(first.Environments), c.lists.Load())
	}
	// Later calls list afresh.
	second, err := s.ListEnvironments(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Environments) != 2 || c.lists.Load() != 2 {
		t.Fatalf("second listing: %d environments after %d listings, want a new one (2, 2)", len(second.Environments), c.lists.Load())
	}
}

func TestPrefetchDroppedAfterAnEnvironmentChange(t *testing.T) {
	for _, tc := range []struct {
		kind  string
		fresh bool // whether the page should get a new listing
	}{
		{core.ChangeEngine, false},
		{core.ChangeEnvironment, true},
		{core.ChangeRemoved, true},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			c := &listingCore{}
			c.watch = func(out func(core.Change)) { out(core.Change{Kind: tc.kind, Env: "shop"}) }
			var emitted []string
			s := New(c, nil, func(name string, _ any) { emitted = append(emitted, name) })
			s.Prefetch(t.Context())
			deadline := time.Now().Add(5 * time.Second)
			for c.lists.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if err := s.Watch(t.Context()); err != nil {
				t.Fatal(err)
			}
			l, err := s.ListEnvironments(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if tc.fresh {
				want = 2
			}
			if len(l.Environments) != want {
				t.Fatalf("listing %d after a %s change, want listing %d", len(l.Environments), tc.kind, want)
			}
			if len(emitted) != 1 || emitted[0] != EventChange {
				t.Fatalf("emitted %v, want the change passed on", emitted)
			}
		})
	}
}
