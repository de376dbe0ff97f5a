package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/gitsrc"
)

// workspaces adapts gitsrc's workspace clean-up to core.Workspaces: the
// workspaces live in the data folder's workspaces/.
type workspaces struct {
	dataDir string
	err     error // why there is no data folder
}

func (w workspaces) Prune(ctx context.Context, req core.WorkspacePrune) (*core.PruneResult, error) {
	if w.err != nil {
		return nil, w.err
	}
	rep, err := gitsrc.Prune(ctx, filepath.Join(w.dataDir, "workspaces"), gitsrc.PruneOptions{Keep: req.Keep, UsedSince: req.UsedSince, DryRun: req.DryRun, Wait: req.Wait})
	if errors.Is(err, gitsrc.ErrBusy) {
		err = mark(err, core.ErrBusy)
	}
	res := &core.PruneResult{Removed: entries(rep.Removed), Kept: entries(rep.Kept), Leftovers: rep.Leftovers, BytesFreed: rep.BytesFreed}
	return res, err
}

func entries(us []gitsrc.WorkspaceUse) []core.WorkspaceEntry {
	out := make([]core.WorkspaceEntry, len(us))
	for i, u := range us {
		out[i] = core.WorkspaceEntry{Tree: u.Tree, Dir: u.Dir, LastUsed: u.LastUsed, Bytes: u.Bytes, Kept: u.Kept}
	}
	return out
}

// logf writes what background work has to say to standard error.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "berth: "+format+"\n", args...)
}
