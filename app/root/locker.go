package root

import (
	"context"
	"errors"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/envlock"
)

// locker adapts envlock to core.Locker.
type locker struct {
	dataDir string
	err     error // why there is no data folder
	// engine names the engine the lock is on: an environment of one name
	// on two engines is two environments (nil: none, tests).
	engine func(ctx context.Context) (id, host string, err error)
}

func (l locker) Lock(ctx context.Context, env, what string) (func(), error) {
	if l.err != nil {
		return nil, l.err
	}
	dir := l.dataDir
	if l.engine != nil {
		id, _, err := l.engine(ctx)
		if err != nil {
			return nil, err
		}
		dir = engineDir(l.dataDir, id)
	}
	lk, err := envlock.Acquire(ctx, dir, env, what, false)
	if err != nil {
		if errors.Is(err, envlock.ErrBusy) {
			return nil, mark(err, core.ErrBusy)
		}
		return nil, err
	}
	return func() { lk.Release() }, nil
}
