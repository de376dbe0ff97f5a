package core

import (
	"context"
	"errors"
	"fmt"
)

// Discard puts env's workspace files back to the deployed commit (in
// place, so bind-mounted files change under the containers) and returns
// what it put back.
func (b *Berth) Discard(ctx context.Context, env string, emit Emit) ([]FileChange, error) {
	release, _, err := b.acquire(ctx, env, KindHeal, emit)
	if err != nil {
		return nil, err
	}
	defer release()
	d, err := b.deployed(ctx, env)
	if err != nil {
		return nil, err
	}
	if d.rev == nil {
		return nil, fmt.Errorf("environment %q was not deployed from a revision: it has no workspace to discard", env)
	}
	fd, ok := b.revs.(FileDrifter)
	if !ok {
		return nil, errors.New("the definitions repo cannot restore workspaces")
	}
	out, err := fd.Restore(ctx, *d.rev, d.def, d.dir)
	if out == nil {
		out = []FileChange{}
	}
	return out, err
}
