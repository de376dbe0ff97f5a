package engine

import (
	"context"
	"time"
)

// Ping checks that the engine still answers, within a few seconds.
func (e *Engine) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := e.cli.Ping(ctx); err != nil {
		return &UnreachableError{Host: e.endpoint.Host, Context: e.endpoint.Context, Err: err}
	}
	return nil
}
