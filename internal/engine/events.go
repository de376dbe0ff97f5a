package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/internal/reconcile"
)

// Event is something that happened to a container of an environment.
type Event struct {
	Time        time.Time `json:"time"`
	Project     string    `json:"project"`
	Action      string    `json:"action"` // create, start, die, stop, health_status, destroy
	ContainerID string    `json:"containerID"`
	Container   string    `json:"container"`
	Service     string    `json:"service"`
	Number      int       `json:"number"`
	ExitCode    *int      `json:"exitCode,omitempty"` // die
	Health      string    `json:"health,omitempty"`   // health_status
	// Network names the network of a connect or disconnect (DriftEvents
	// only); Project is then empty and ContainerID names the container.
	Network string `json:"network,omitempty"`
}

var eventActions = map[string]bool{"create": true, "start": true, "die": true, "stop": true, "health_status": true, "destroy": true}

// Events streams the container events of an environment until ctx ends
// (then it returns nil) or the stream fails (then it returns the error;
// reconnecting is the caller's job). out is called from one goroutine.
func (e *Engine) Events(ctx context.Context, project string, out func(Event)) error {
	return e.events(ctx, reconcile.LabelProject+"="+project, out)
}

// AllEvents streams the container events of every environment Berth
// manages (label dev.berth.managed=true), as Events does for one.
func (e *Engine) AllEvents(ctx context.Context, out func(Event)) error {
	return e.events(ctx, reconcile.LabelManaged+"=true", out)
}

func (e *Engine) events(ctx context.Context, label string, out func(Event)) error {
	opts := events.ListOptions{Filters: filters.NewArgs(
		filters.Arg("type", string(events.ContainerEventType)),
		filters.Arg("label", label),
	)}
	if !e.eventsSince.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", e.eventsSince.Unix(), e.eventsSince.Nanosecond())
	}
	msgs, errs := e.cli.Events(ctx, opts)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errs:
			if ctx.Err() != nil {
				return nil
			}
			return err
		case m := <-msgs:
			if ev, ok := toEvent(m); ok {
				out(ev)
			}
		}
	}
}

// toEvent converts a container lifecycle message (eventActions); it
// says false for any other.
func toEvent(m events.Message) (Event, bool) {
	action, _, _ := strings.Cut(string(m.Action), ":")
	if !eventActions[action] {
		return Event{}, false
	}
	return containerEvent(m), true
}

// containerEvent converts any container message.
func containerEvent(m events.Message) Event {
	action, detail, _ := strings.Cut(string(m.Action), ":")
	a := m.Actor.Attributes
	ev := Event{
		Project:     a[reconcile.LabelProject],
		Action:      action,
		ContainerID: m.Actor.ID,
		Container:   a["name"],
		Service:     a[reconcile.LabelService],
		Health:      strings.TrimSpace(detail),
	}
	ev.Number, _ = strconv.Atoi(a[reconcile.LabelNumber])
	ev.Time = eventTime(m)
	if action == "die" {
		if code, err := strconv.Atoi(a["exitCode"]); err == nil {
			ev.ExitCode = &code
		}
	}
	return ev
}

func eventTime(m events.Message) time.Time {
	if m.TimeNano != 0 {
		return time.Unix(0, m.TimeNano).UTC()
	}
	return time.Unix(m.Time, 0).UTC()
}
