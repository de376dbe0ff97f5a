package api

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
)

// devCore's Develop reports watching, one sync, and stopped when its
// context ends; env "plain" has no develop.watch.
type devCore struct {
	Core
}

func (devCore) Develop(ctx context.Context, env string, opts core.DevOptions, out func(core.DevEvent)) error {
	if env == "plain" {
		return errors.New(`definition "plain" has no develop.watch: nothing to watch`)
	}
	out(core.DevEvent{Env: env, Action: core.DevWatching})
	out(core.DevEvent{Env: env, Action: core.DevSynced, Service: "api", Path: "src/a.js", Target: "/app/src/a.js"})
	<-ctx.Done()
	out(core.DevEvent{Env: env, Action: core.DevStopped})
	return nil
}

// TestSetWatch: the toggle starts the watch (once), its actions reach
// the frontend as changes of kind develop, WatchStatus follows, turning
// it off waits for the end, and a start that fails is the answer.
func TestSetWatch(t *testing.T) {
	var mu sync.Mutex
	var got []core.Change
	s := New(devCore{}, nil, func(name string, data any) {
		if c, ok := data.(core.Change); ok && name == EventChange {
			mu.Lock()
			got = append(got, c)
			mu.Unlock()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := s.SetWatch(ctx, "shop", true)
	if err != nil || !st.Watching {
		t.Fatalf("SetWatch on = %+v, %v", st, err)
	}
	if st, _ := s.SetWatch(ctx, "shop", true); !st.Watching {
		t.Error("a second start stopped the watch")
	}
	if st, _ := s.WatchStatus("shop"); !st.Watching {
		t.Error("WatchStatus says not watching")
	}
	if st, err := s.SetWatch(ctx, "shop", false); err != nil || st.Watching {
		t.Fatalf("SetWatch off = %+v, %v", st, err)
	}
	if st, _ := s.WatchStatus("shop"); st.Watching {
		t.Error("WatchStatus says watching after off")
	}
	mu.Lock()
	var actions []string
	for _, c := range got {
		if c.Kind != core.ChangeDevelop || c.Env != "shop" || c.Develop == nil {
			t.Errorf("unexpected change %+v", c)
			continue
		}
		actions = append(actions, c.Develop.Action)
	}
	mu.Unlock()
	want := []string{core.DevWatching, core.DevSynced, core.DevStopped}
	if len(actions) != len(want) {
		t.Fatalf("actions %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Errorf("actions %v, want %v", actions, want)
		}
	}
	if _, err := s.SetWatch(ctx, "plain", true); err == nil {
		t.Error("a definition without develop.watch started a watch")
	}
	if st, _ := s.WatchStatus("plain"); st.Watching {
		t.Error("a failed start is watching")
	}
}
