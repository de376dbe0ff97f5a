package root

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/gitsrc"
)

// OpenRepo makes where (a URL or a path) the definitions repo: a URL is
// cloned into into (default: a folder named after the repo in parent, or
// in the current directory, as git clone does; an existing clone of it
// there is used),
// a path is used as it is. The folder becomes the saved definitions
// folder, so that the next command, and the app, work on it.
func (r *Root) OpenRepo(ctx context.Context, where, into, parent string) (*core.OpenedRepo, error) {
	if where == "" {
		return nil, errors.New("no repository named")
	}
	out := &core.OpenedRepo{}
	if isURL(where) {
		dir := into
		if dir == "" && parent != "" {
			dir = filepath.Join(parent, repoName(where))
		}
		if dir == "" {
			dir = repoName(where)
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(abs, ".git")); err == nil {
			out.Repo = abs // cloned before: used as it is
		} else {
			r.repo.mu.Lock()
			auth := r.repo.auth
			r.repo.mu.Unlock()
			if err := gitsrc.Checkout(ctx, gitsrc.Source{URL: where, Auth: auth}, abs); err != nil {
				return nil, mark(fmt.Errorf("cloning %s: %w", gitsrc.Redact(where), gitError(err)), core.ErrNoRepo)
			}
			out.Repo, out.Cloned = abs, true
		}
	} else {
		abs, err := filepath.Abs(where)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(abs)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, mark(fmt.Errorf("%s: no such folder", abs), core.ErrNotFound)
			}
			return nil, err
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("%s is not a folder", abs)
		}
		out.Repo = abs
	}
	out.DefinitionsDir = out.Repo
	if fi, err := os.Stat(filepath.Join(out.Repo, "environments")); err == nil && fi.IsDir() {
		out.DefinitionsDir = filepath.Join(out.Repo, "environments")
	}
	r.mu.Lock()
	s := r.saved
	r.mu.Unlock()
	s.DefinitionsDir = out.DefinitionsDir
	if _, err := r.SaveSettings(s); err != nil {
		return out, fmt.Errorf("saving %s as the definitions folder: %w", out.DefinitionsDir, err)
	}
	// This run works on it whatever flags or BERTH_DEFINITIONS said (they
	// win over the saved setting in later runs: Overridden says so).
	r.defs.point(out.DefinitionsDir)
	r.repo.point(out.DefinitionsDir)
	r.mu.Lock()
	v := r.view()
	r.mu.Unlock()
	if v.Effective.DefinitionsDir != out.DefinitionsDir {
		out.Overridden = v.Effective.DefinitionsDir
	}
	return out, nil
}

// repoName is the folder git clone would make for url.
func repoName(url string) string {
	name := strings.TrimSuffix(filepath.Base(strings.TrimRight(url, "/")), ".git")
	if i := strings.LastIndexAny(name, ":"); i >= 0 {
		name = name[i+1:]
	}
	if name == "" || name == "." || name == ".." {
		name = "definitions"
	}
	return name
}
