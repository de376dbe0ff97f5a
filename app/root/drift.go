package root

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/engine"
	"github.com/berthdev/berth/internal/gitsrc"
	"github.com/berthdev/berth/internal/spec"
	"github.com/berthdev/berth/internal/watch"
)

// Live gives core the engine's live details (core.LiveObserver).
func (a *engineAdapter) Live(ctx context.Context, p *spec.Project) (drift.Live, error) {
	return a.e.Live(ctx, p)
}

func commitOf(rev core.Revision) gitsrc.Commit {
	return gitsrc.Commit{Hash: rev.Hash, Short: rev.Short, Tree: rev.Tree}
}

func fileChanges(cs []gitsrc.FileChange) []core.FileChange {
	out := make([]core.FileChange, len(cs))
	for i, c := range cs {
		out[i] = core.FileChange{Path: c.Path, Kind: string(c.Kind)}
	}
	return out
}

// defPath is the repo path of a definition, refusing names that are not
// one folder.
func (s *repoSource) defPath(definition string) (string, error) {
	if !filepath.IsLocal(definition) || filepath.Base(definition) != definition {
		return "", fmt.Errorf("definition %q: %w", definition, core.ErrNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return path.Join(s.prefix, definition), nil
}

// openFor opens the repo and gives definition's path in it.
func (s *repoSource) openFor(ctx context.Context, definition string) (*gitsrc.Repo, string, error) {
	p, err := s.defPath(definition)
	if err != nil {
		return nil, "", err
	}
	r, err := s.open(ctx)
	return r, p, err
}

// Changes compares a workspace with its commit (core.FileDrifter).
func (s *repoSource) Changes(ctx context.Context, rev core.Revision, definition, dir string) ([]core.FileChange, error) {
	r, p, err := s.openFor(ctx, definition)
	if err != nil {
		return nil, err
	}
	cs, err := r.Changes(ctx, commitOf(rev), p, dir)
	return fileChanges(cs), gitError(err)
}

// Restore puts a workspace back to its commit, in place.
func (s *repoSource) Restore(ctx context.Context, rev core.Revision, definition, dir string) ([]core.FileChange, error) {
	r, p, err := s.openFor(ctx, definition)
	if err != nil {
		return nil, err
	}
	cs, err := r.Restore(ctx, commitOf(rev), p, dir)
	return fileChanges(cs), gitError(err)
}

// Pristine materialises a definition into a folder of its own under the
// data folder, removed by release.
func (s *repoSource) Pristine(ctx context.Context, rev core.Revision, definition string) (string, func(), error) {
	r, p, err := s.openFor(ctx, definition)
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp(s.dataDir, "pristine-")
	if err != nil {
		return "", nil, err
	}
	release := func() { gitsrc.Remove(tmp) }
	ws, err := r.Materialise(ctx, commitOf(rev), p, tmp)
	if err != nil {
		release()
		return "", nil, gitError(err)
	}
	return ws.Dir, release, nil
}

// Upstream counts the tracked branch's commits touching the definition
// that rev lacks (core.UpstreamSource).
func (s *repoSource) Upstream(ctx context.Context, rev core.Revision, definition string) (core.Upstream, error) {
	r, p, err := s.openFor(ctx, definition)
	if err != nil {
		return core.Upstream{}, err
	}
	if err := s.fetch(ctx, r); err != nil {
		return core.Upstream{}, err
	}
	n, head, err := r.Behind(ctx, commitOf(rev), "", p)
	if err != nil {
		return core.Upstream{}, gitError(err)
	}
	branch, _ := r.Branch()
	return core.Upstream{Branch: branch, Head: revision(head), Behind: n}, nil
}

// LocalChanges lists uncommitted edits to the definition in the user's
// checkout: the files under it compared with HEAD by blob hashes. A
// cloned repo has no checkout of the user's.
func (s *repoSource) LocalChanges(ctx context.Context, definition string) ([]core.FileChange, error) {
	r, p, err := s.openFor(ctx, definition)
	if err != nil {
		return nil, err
	}
	if !r.Local() {
		return nil, nil
	}
	dir := filepath.Join(r.Dir(), filepath.FromSlash(p))
	if _, err := os.Stat(dir); err != nil {
		return nil, nil
	}
	head, err := r.Resolve("HEAD")
	if err != nil {
		return nil, nil // no commit yet
	}
	cs, err := r.Changes(ctx, head, p, dir)
	if errors.Is(err, gitsrc.ErrNotFound) {
		// not committed at all yet: every file is a local change
		cs, err = nil, nil
		filepath.WalkDir(dir, func(full string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(dir, full)
				cs = append(cs, gitsrc.FileChange{Path: filepath.ToSlash(rel), Kind: gitsrc.Added})
			}
			return nil
		})
	}
	return fileChanges(cs), gitError(err)
}

// Commit makes a commit of files (relative to the definition) on a new
// branch from rev, with the user's Git identity (core.Committer). A clone
// is refused: its branches mirror the remote's and a fetch would prune it.
func (s *repoSource) Commit(ctx context.Context, rev core.Revision, definition, branch string, files map[string][]byte, message string) (core.Revision, error) {
	r, p, err := s.openFor(ctx, definition)
	if err != nil {
		return core.Revision{}, err
	}
	if !r.Local() {
		return core.Revision{}, fmt.Errorf("adopt commits into a local definitions repo; %s is a clone of a remote (use --repo with a checkout of it)", s.where)
	}
	name, email := gitIdentity(os.Getenv)
	if name == "" || email == "" {
		return core.Revision{}, errors.New("no Git identity: set user.name and user.email (git config --global), or GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL")
	}
	repoFiles := make(map[string][]byte, len(files))
	for f, data := range files {
		repoFiles[path.Join(p, f)] = data
	}
	c, err := r.CommitFiles(ctx, commitOf(rev), branch, repoFiles, gitsrc.Signature{Name: name, Email: email, When: time.Now()}, message)
	if err != nil {
		return core.Revision{}, gitError(err)
	}
	return revision(c), nil
}

// DriftEvents passes the engine's finer events to core
// (core.DriftEventStream).
func (a *engineAdapter) DriftEvents(ctx context.Context, out func(core.ContainerEvent)) error {
	return a.e.DriftEvents(ctx, func(ev engine.Event) { out(containerEvent(ev)) })
}

// fileWatcher adapts the file event adapter to core.FileWatcher.
type fileWatcher struct{}

func (fileWatcher) WatchTree(ctx context.Context, dir string, out func(paths []string, rescan bool, notes []string)) error {
	// 100 ms of quiet (the low end of what drift allows) keeps a file
	// edit's report within its 300 ms budget on a loaded machine.
	return watch.Tree(ctx, dir, watch.Options{Quiet: 100 * time.Millisecond}, func(b watch.Batch) { out(b.Paths, b.Rescan, b.Notes) })
}

// LiveMany gives core several environments' live details in one round
// (core.LiveBatchObserver).
func (a *engineAdapter) LiveMany(ctx context.Context, ps []*spec.Project, fresh bool) (map[string]drift.Live, error) {
	return a.e.LiveMany(ctx, ps, fresh)
}
