package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
)

func (b *Berth) needRepo() error {
	if b.revs == nil {
		return fmt.Errorf("%w: deploy, rollback and revisions read a Git repo (use --repo, or run inside a Git repo with environments/)", ErrNoRepo)
	}
	return nil
}

// definitionFor is the definition env comes from: asked for, else the one
// recorded, else the one on its containers, else env itself.
func (b *Berth) definitionFor(ctx context.Context, env, asked string) string {
	if asked != "" {
		return asked
	}
	if b.store != nil {
		if ds, err := b.store.History(ctx, env, HistoryFilter{Limit: 1}); err == nil && len(ds) == 1 && ds[0].Definition != "" {
			return ds[0].Definition
		}
	}
	if e, err := b.eng(ctx); err == nil {
		if o, err := e.ObserveProject(ctx, env); err == nil {
			return definitionOf(o, env)
		}
	}
	return env
}

// Revisions lists the commits that touch env's definition, newest first
// (at most limit; 0: all), marking the one deployed. env may also name a
// definition that has no environment yet: its commits are listed, none
// marked. When the deployed commit did not touch the definition (a
// branch head after a commit elsewhere in the repo), the newest listed
// revision whose definition folder has the same tree hash is marked.
func (b *Berth) Revisions(ctx context.Context, env string, limit int) ([]RevisionEntry, error) {
	if err := b.needRepo(); err != nil {
		return nil, err
	}
	def := b.definitionFor(ctx, env, "")
	revs, err := b.revs.Log(ctx, def, limit)
	if err != nil {
		return nil, err
	}
	if len(revs) == 0 {
		return nil, fmt.Errorf("definition %q: no commit touches it: %w", def, ErrNotFound)
	}
	cur, err := b.current(ctx, env)
	if err != nil {
		return nil, err
	}
	out := make([]RevisionEntry, len(revs))
	marked := false
	for i, r := range revs {
		out[i] = RevisionEntry{Revision: r, Deployed: cur != nil && cur.Revision == r.Hash}
		marked = marked || out[i].Deployed
	}
	if cur == nil || marked || cur.Revision == "" {
		return out, nil
	}
	// The deployed commit is not listed: find the listed revision with the
	// same definition content.
	deployed, err := b.revs.Resolve(ctx, cur.Revision)
	if err != nil {
		return out, nil // gone from the repo (a rewritten branch): nothing to mark
	}
	tree, err := b.revs.DefinitionTree(ctx, deployed, cmp.Or(cur.Definition, def))
	if err != nil {
		return out, nil
	}
	for i := range out {
		if out[i].DefinitionTree == tree {
			out[i].Deployed = true
			break
		}
	}
	return out, nil
}

// History returns env's recorded operations, newest first.
func (b *Berth) History(ctx context.Context, env string, f HistoryFilter) ([]Deployment, error) {
	if b.store == nil {
		return nil, errors.New("no store: history is not recorded")
	}
	return b.store.History(ctx, env, f)
}
