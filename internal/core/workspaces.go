package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Workspaces is the folder of materialised revisions.
type Workspaces interface {
	// Prune removes the workspaces that req neither keeps nor saw used
	// since req.UsedSince. When materialisations under way hold them
	// longer than req.Wait it fails with an error that Is ErrBusy.
	Prune(ctx context.Context, req WorkspacePrune) (*PruneResult, error)
}

// RevisionUsers tells which revisions the environments need.
type RevisionUsers interface {
	// InUse lists, for every environment, the revisions of its running
	// operations, its current deployment, its last good one and the one
	// rollback would go back to.
	InUse(ctx context.Context) ([]RevisionUse, error)
}

// RevisionUse is a revision an environment needs, and why ("current",
// "last good", "rollback target", "running").
type RevisionUse struct {
	Env        string
	Definition string
	Revision   string
	Why        string
}

// WorkspacePrune is what Workspaces.Prune keeps.
type WorkspacePrune struct {
	// Keep maps the tree hashes of workspaces in use to why.
	Keep      map[string]string
	UsedSince time.Time
	DryRun    bool
	Wait      time.Duration
}

// PruneRequest asks for a workspace clean-up.
type PruneRequest struct {
	// DryRun reports what would be removed and removes nothing.
	DryRun bool
	// Golden cleans up the golden copies of database sources too (on the
	// engine; see GoldenPrune).
	Golden bool
}

// PruneResult is what a workspace clean-up removed (or would remove) and
// kept.
type PruneResult struct {
	DryRun bool `json:"dryRun"`
	// KeepDays is the setting in effect: unused workspaces used within
	// that many days stay.
	KeepDays int              `json:"keepDays"`
	Removed  []WorkspaceEntry `json:"removed"`
	Kept     []WorkspaceEntry `json:"kept"`
	// Leftovers counts half-written or half-deleted folders left by
	// killed processes, removed too.
	Leftovers  int   `json:"leftovers,omitempty"`
	BytesFreed int64 `json:"bytesFreed"`
	// Golden is the clean-up of golden copies, when asked for.
	Golden *GoldenPrune `json:"golden,omitempty"`
}

// WorkspaceEntry is one workspace: the definition's tree hash names it.
type WorkspaceEntry struct {
	Tree     string    `json:"tree"`
	Dir      string    `json:"dir"`
	LastUsed time.Time `json:"lastUsed"`
	// Bytes is its size (for removed ones).
	Bytes int64 `json:"bytes,omitempty"`
	// Kept says why it stays.
	Kept string `json:"kept,omitempty"`
}

// DefaultWorkspaceKeepDays is how long an unused workspace stays after its
// last use unless the settings say otherwise.
const DefaultWorkspaceKeepDays = 14

// workspaceGrace is how recently used a workspace always stays, whatever
// the setting: an operation may be between materialising it and
// recording its deployment, or waiting for the user to confirm its plan.
const workspaceGrace = time.Hour

// backgroundPrune bounds the clean-up that follows a deploy or rollback.
var backgroundPrune = 10 * time.Second

// WithWorkspaces lets core clean up workspaces: ws holds them, users says
// which revisions environments need, keepDays (read at each clean-up; nil:
// DefaultWorkspaceKeepDays) how long unused ones stay, and logf where the
// errors of the clean-up after each deploy go (nil: nowhere).
func WithWorkspaces(ws Workspaces, users RevisionUsers, keepDays func() int, logf func(format string, args ...any)) Option {
	return func(b *Berth) { b.workspaces, b.revUsers, b.keepDays, b.logf = ws, users, keepDays, logf }
}

// PruneWorkspaces removes the workspaces no environment needs (and with
// req.Golden the golden copies nothing needs, see pruneGolden): it keeps
// those of every environment's running operations, current deployment,
// last good deployment and rollback target (read from the records), and
// those used within the keep-days setting (at least the last hour). When
// it cannot tell which workspace a needed revision uses (the commit is
// gone from the repo), it removes nothing.
func (b *Berth) PruneWorkspaces(ctx context.Context, req PruneRequest) (*PruneResult, error) {
	return b.prune(ctx, req, 30*time.Second)
}

func (b *Berth) prune(ctx context.Context, req PruneRequest, wait time.Duration) (*PruneResult, error) {
	if b.workspaces == nil || b.revUsers == nil {
		return nil, errors.New("workspace clean-up is not available here")
	}
	uses, err := b.revUsers.InUse(ctx)
	if err != nil {
		return nil, err
	}
	keep := map[string]string{}
	if len(uses) > 0 {
		if err := b.needRepo(); err != nil {
			return nil, err
		}
	}
	trees := map[string]string{} // revision+definition → tree
	for _, u := range uses {
		def := cmp.Or(u.Definition, u.Env)
		key := u.Revision + "\x00" + def
		tree, ok := trees[key]
		if !ok {
			tree, err = b.revs.DefinitionTree(ctx, Revision{Hash: u.Revision, Short: shortRev(u.Revision)}, def)
			if err != nil {
				return nil, fmt.Errorf("cannot tell which workspace %s (%s) uses, so none was removed: definition %q at %s: %w",
					u.Env, u.Why, def, shortRev(u.Revision), err)
			}
			trees[key] = tree
		}
		addReason(keep, tree, u.Env+": "+u.Why)
	}
	days := DefaultWorkspaceKeepDays
	if b.keepDays != nil {
		days = b.keepDays()
	}
	now := b.now()
	since := now.Add(-time.Duration(days) * 24 * time.Hour)
	if g := now.Add(-workspaceGrace); g.Before(since) {
		since = g
	}
	res, err := b.workspaces.Prune(ctx, WorkspacePrune{Keep: keep, UsedSince: since, DryRun: req.DryRun, Wait: wait})
	if res != nil {
		res.DryRun, res.KeepDays = req.DryRun, days
		sort.SliceStable(res.Kept, func(i, j int) bool { return res.Kept[i].LastUsed.After(res.Kept[j].LastUsed) })
	}
	if err == nil && req.Golden {
		res.Golden = b.pruneGolden(ctx, req.DryRun, since)
	}
	return res, err
}

// pruneInBackground cleans up workspaces after a successful deploy or
// rollback without holding up its result: one clean-up at a time, bounded
// in time, giving way to other processes' materialisations; errors are
// only logged. Close waits for it.
func (b *Berth) pruneInBackground() {
	if b.workspaces == nil || b.revUsers == nil || !b.pruning.CompareAndSwap(false, true) {
		return
	}
	b.background.Add(1)
	go func() {
		defer b.background.Done()
		defer b.pruning.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), backgroundPrune)
		defer cancel()
		_, err := b.prune(ctx, PruneRequest{}, 0)
		if err != nil && !errors.Is(err, ErrBusy) && b.logf != nil {
			b.logf("workspace clean-up: %v", err)
		}
	}()
}

// Close waits for the background work core started (the clean-up after a
// deploy), which is bounded in time.
func (b *Berth) Close() { b.background.Wait() }

// addReason adds why to the reasons keep gives for key ("a; b"), once.
func addReason(keep map[string]string, key, why string) {
	switch prev := keep[key]; {
	case prev == "":
		keep[key] = why
	case !strings.Contains(prev, why):
		keep[key] = prev + "; " + why
	}
}
