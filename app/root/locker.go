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
}

func (l locker) Lock(ctx context.Context, env, what string) (func(), error) {
	if l.err != nil {
		return nil, l.err
	}
	lk, err := envlock.Acquire(ctx, l.dataDir, env, what, false)
	if err != nil {
		if errors.Is(err, envlock.ErrBusy) {
			return nil, mark(err, core.ErrBusy)
		}
		return nil, err
	}
	return func() { lk.Release() }, nil
}
