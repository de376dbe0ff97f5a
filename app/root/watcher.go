package root

import (
	"context"
	"time"

	"github.com/berthdev/berth/internal/watch"
)

// fileWatcher adapts the file event adapter to core.FileWatcher.
type fileWatcher struct{}

func (fileWatcher) WatchTree(ctx context.Context, dir string, out func(paths []string, rescan bool, notes []string)) error {
	// 100 ms of quiet (the low end of what drift allows) keeps a file
	// edit's report within its 300 ms budget on a loaded machine.
	return watch.Tree(ctx, dir, watch.Options{Quiet: 100 * time.Millisecond}, func(b watch.Batch) { out(b.Paths, b.Rescan, b.Notes) })
}

// WatchTreeReady is WatchTree calling ready once the tree is watched
// (core.ReadyFileWatcher), for live development: 30 ms of quiet close a
// batch (an editor's save is a burst of a few ms), under a third of the
// drift loop's, since the edit's way into the container is what the
// developer waits on.
func (fileWatcher) WatchTreeReady(ctx context.Context, dir string, ready func(), out func(paths []string, rescan bool, notes []string)) error {
	return watch.Tree(ctx, dir, watch.Options{Quiet: 30 * time.Millisecond, Ready: ready}, func(b watch.Batch) { out(b.Paths, b.Rescan, b.Notes) })
}
