package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/berthdev/berth/internal/core"
)

// developIf runs develop when --watch was given.
func (a *app) developIf(ctx context.Context, watch bool, env string) error {
	if !watch {
		return nil
	}
	return a.develop(ctx, env)
}

// develop follows env's develop.watch after up --watch until Ctrl-C,
// printing each action ("synced api: src/app.js → /app/src/app.js"), or
// one JSON object a line with -o json.
func (a *app) develop(ctx context.Context, env string) error {
	enc := json.NewEncoder(a.stdout)
	err := a.berth.Develop(ctx, env, core.DevOptions{}, func(ev core.DevEvent) {
		switch {
		case a.json():
			enc.Encode(ev)
		case ev.Action == core.DevWatching:
			fmt.Fprintf(a.stdout, "watching %s: %s; Ctrl-C stops\n", env, ev.Detail)
		case ev.Action == core.DevStopped:
			fmt.Fprintf(a.stdout, "stopped watching %s\n", env)
		case ev.Action == core.DevError:
			fmt.Fprintln(a.stderr, ev.String())
		default:
			fmt.Fprintln(a.stdout, ev.String())
		}
	})
	if err != nil {
		return fmt.Errorf("watching %s: %w", env, err)
	}
	return nil
}
