package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/berthdev/berth/internal/reconcile"
)

// TestIntegrationAllEvents: the all-environments stream reports the
// containers Berth manages, with their project, and nothing else.
func TestIntegrationAllEvents(t *testing.T) {
	e := testEngine(t)
	ctx := testCtx(t, time.Minute)
	img := probeImage(t, e)
	name := uniqueProject(t, e)

	e.eventsSince = time.Now() // the stream replays what happens before it opens
	evCtx, stop := context.WithCancel(ctx)
	var (
		mu   sync.Mutex
		seen []Event
		done = make(chan error, 1)
	)
	go func() {
		done <- e.AllEvents(evCtx, func(ev Event) {
			mu.Lock()
			seen = append(seen, ev)
			mu.Unlock()
		})
	}()

	labels := map[string]string{reconcile.LabelProject: name, reconcile.LabelService: "svc", reconcile.LabelNumber: "1"}
	managed := map[string]string{reconcile.LabelManaged: "true"}
	for k, v := range labels {
		managed[k] = v
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{{name + "-svc-1", managed}, {name + "-other-1", labels}} {
		created, err := e.cli.ContainerCreate(ctx, &container.Config{Image: img, Labels: c.labels}, nil, nil, nil, c.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.cli.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		var acts []string
		for _, ev := range seen {
			if ev.Project != name {
				continue
			}
			if ev.Container != name+"-svc-1" {
				t.Errorf("an unmanaged container's event came through: %+v", ev)
			}
			acts = append(acts, ev.Action)
		}
		mu.Unlock()
		if has(acts, "create") && has(acts, "destroy") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events of %s: %v", name, acts)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("AllEvents returned %v", err)
	}
}
