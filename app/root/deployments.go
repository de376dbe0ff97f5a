package root

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/envlock"
	"github.com/berthdev/berth/internal/gitsrc"
	"github.com/berthdev/berth/internal/store"
)

// StateDir is Berth's data folder (berth.db, locks/, workspaces/, repos/):
// dir when given, else BERTH_STATE_DIR, else the folder of
// store.DefaultPath.
func StateDir(dir string, getenv func(string) string) (string, error) {
	if dir == "" {
		dir = getenv("BERTH_STATE_DIR")
	}
	if dir == "" {
		p, err := store.DefaultPath()
		if err != nil {
			return "", err
		}
		return filepath.Dir(p), nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("state folder: %w", err)
	}
	return abs, nil
}

// marked gives err a second identity for errors.Is (a core sentinel)
// without changing its text.
type marked struct{ err, kind error }

func (m marked) Error() string   { return m.err.Error() }
func (m marked) Unwrap() []error { return []error{m.err, m.kind} }

func mark(err, kind error) error {
	if err == nil {
		return nil
	}
	return marked{err, kind}
}

// gitError maps gitsrc's error classes onto core's.
func gitError(err error) error {
	switch {
	case errors.Is(err, gitsrc.ErrNotFound):
		return mark(err, core.ErrNotFound)
	case errors.Is(err, gitsrc.ErrUnsafe):
		return mark(err, core.ErrUnsafe)
	case errors.Is(err, gitsrc.ErrAuth):
		return mark(err, core.ErrAuth)
	}
	return err
}

// scpURL is the git@host:path form of a URL.
var scpURL = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+:`)

// repoSource adapts gitsrc to core.RevisionSource. The repo is opened (and
// a URL cloned) on first use; a clone is fetched before the branch head
// is resolved or the log read, at most every few seconds.
type repoSource struct {
	mu        sync.Mutex
	where     string // a path or URL
	branch    string
	prefix    string // the folder of definitions inside the repo
	fixed     bool   // named by --repo or BERTH_REPO: settings do not move it
	dataDir   string
	repo      *gitsrc.Repo
	fetchedAt time.Time
	auth      gitsrc.Auth // credentials for a URL (read from the environment at each use)
}

// newRepoSource picks the definitions repo: repo when given (a path or a
// URL, definitions under environments/), else the Git repo around the
// definitions folder, else the one around the current directory. With
// none, its methods fail with core.ErrNoRepo.
func newRepoSource(repo, branch, defsDir, dataDir string) *repoSource {
	s := &repoSource{branch: branch, dataDir: dataDir, fixed: repo != ""}
	s.pick(repo, defsDir)
	return s
}

// pick sets where the repo is; callers hold s.mu or own s.
func (s *repoSource) pick(repo, defsDir string) {
	s.where, s.prefix = repo, "environments"
	if repo != "" {
		return
	}
	candidates := []string{}
	if defsDir != "" {
		candidates = append(candidates, filepath.Dir(defsDir), defsDir)
	}
	if wd, err := os.Getwd(); err == nil {
		candidates = append(candidates, wd)
	}
	for _, c := range candidates {
		root, err := gitsrc.FindRepo(c)
		if err != nil {
			continue
		}
		s.where = root
		if abs, err := filepath.Abs(defsDir); err == nil && defsDir != "" {
			if rel, err := filepath.Rel(root, abs); err == nil && filepath.IsLocal(rel) {
				s.prefix = filepath.ToSlash(rel)
			}
		}
		return
	}
}

// point follows a new definitions folder (saved settings) unless the repo
// was named explicitly.
func (s *repoSource) point(defsDir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fixed {
		return
	}
	if s.repo != nil {
		s.repo.Close()
		s.repo = nil
	}
	s.pick("", defsDir)
}

func (s *repoSource) open(ctx context.Context) (*gitsrc.Repo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repo != nil {
		return s.repo, nil
	}
	if s.where == "" {
		return nil, fmt.Errorf("%w: deploy, rollback and revisions read a Git repo (use --repo or BERTH_REPO, or keep the definitions folder in a Git repo with environments/)", core.ErrNoRepo)
	}
	src := gitsrc.Source{Branch: s.branch}
	if isURL(s.where) {
		src.URL, src.Auth = s.where, s.auth
	} else {
		src.Path = s.where
	}
	r, err := gitsrc.Open(ctx, src, s.dataDir)
	if err != nil {
		if errors.Is(err, gitsrc.ErrAuth) && src.URL != "" && !strings.HasPrefix(src.URL, "ssh://") && !scpURL.MatchString(src.URL) {
			err = fmt.Errorf("%w; Berth reads an https token from $%s (settings: repoTokenEnv)", err, cmp.Or(s.auth.TokenEnv, defaultTokenEnv))
		}
		return nil, mark(fmt.Errorf("definitions repo %s: %w", gitsrc.Redact(s.where), gitError(err)), core.ErrNoRepo)
	}
	s.repo = r
	return r, nil
}

func (s *repoSource) fetch(ctx context.Context, r *gitsrc.Repo) error {
	if r.Local() {
		return nil
	}
	s.mu.Lock()
	recent := time.Since(s.fetchedAt) < 5*time.Second
	s.mu.Unlock()
	if recent {
		return nil
	}
	if _, err := r.Fetch(ctx); err != nil {
		return fmt.Errorf("fetching %s: %w", gitsrc.Redact(s.where), gitError(err))
	}
	s.mu.Lock()
	s.fetchedAt = time.Now()
	s.mu.Unlock()
	return nil
}

func isURL(where string) bool {
	return strings.Contains(where, "://") || scpURL.MatchString(where)
}

// setAuth changes the credentials; the repo is opened again with them.
func (s *repoSource) setAuth(a gitsrc.Auth) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.TokenEnv == s.auth.TokenEnv && a.Username == s.auth.Username {
		return
	}
	s.auth = a
	if s.repo != nil {
		s.repo.Close()
		s.repo = nil
	}
}

// Fetch is core's background fetch: it brings a cloned repo up to date
// (cloning it first when that has not happened yet) and reports whether
// anything moved. A repo opened in place, or none configured, has nothing
// to fetch.
func (s *repoSource) Fetch(ctx context.Context) (bool, error) {
	s.mu.Lock()
	where, opened := s.where, s.repo != nil
	s.mu.Unlock()
	if where == "" || !isURL(where) {
		return false, nil
	}
	r, err := s.open(ctx)
	if err != nil {
		return false, err
	}
	changed, err := r.Fetch(ctx)
	if err != nil {
		return false, fmt.Errorf("fetching %s: %w", gitsrc.Redact(where), gitError(err))
	}
	s.mu.Lock()
	s.fetchedAt = time.Now()
	s.mu.Unlock()
	return changed || !opened, nil
}

func revision(c gitsrc.Commit) core.Revision {
	return core.Revision{Hash: c.Hash, Short: c.Short, Author: c.Author, Email: c.Email, When: c.When, Message: c.Message, Tree: c.Tree}
}

func (s *repoSource) Resolve(ctx context.Context, rev string) (core.Revision, error) {
	r, err := s.open(ctx)
	if err != nil {
		return core.Revision{}, err
	}
	if err := s.fetch(ctx, r); err != nil {
		return core.Revision{}, err
	}
	var c gitsrc.Commit
	if rev == "" {
		c, err = r.Head("")
	} else {
		c, err = r.Resolve(rev)
	}
	if err != nil {
		return core.Revision{}, gitError(err)
	}
	return revision(c), nil
}

func (s *repoSource) Log(ctx context.Context, definition string, limit int) ([]core.Revision, error) {
	if !filepath.IsLocal(definition) {
		return nil, fmt.Errorf("definition %q: %w", definition, core.ErrNotFound)
	}
	r, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.fetch(ctx, r); err != nil {
		return nil, err
	}
	cs, err := r.Log(ctx, "", path.Join(s.prefix, definition), limit)
	if err != nil {
		return nil, gitError(err)
	}
	out := make([]core.Revision, len(cs))
	for i, c := range cs {
		out[i] = revision(c)
		out[i].DefinitionTree = c.PathTree
	}
	return out, nil
}

func (s *repoSource) DefinitionTree(ctx context.Context, rev core.Revision, definition string) (string, error) {
	if !filepath.IsLocal(definition) || strings.ContainsAny(definition, `/\`) {
		return "", fmt.Errorf("definition %q: %w", definition, core.ErrNotFound)
	}
	r, err := s.open(ctx)
	if err != nil {
		return "", err
	}
	h, err := r.TreeAt(gitsrc.Commit{Hash: rev.Hash, Short: rev.Short}, path.Join(s.prefix, definition))
	return h, gitError(err)
}

func (s *repoSource) Materialise(ctx context.Context, rev core.Revision, definition string) (string, error) {
	if !filepath.IsLocal(definition) || strings.ContainsAny(definition, `/\`) {
		return "", fmt.Errorf("definition %q: %w", definition, core.ErrNotFound)
	}
	r, err := s.open(ctx)
	if err != nil {
		return "", err
	}
	p := path.Join(s.prefix, definition)
	ws, err := r.Materialise(ctx, gitsrc.Commit{Hash: rev.Hash, Short: rev.Short, Tree: rev.Tree}, p, filepath.Join(s.dataDir, "workspaces"))
	if err != nil {
		return "", gitError(err)
	}
	return ws.Dir, nil
}

func (s *repoSource) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repo != nil {
		s.repo.Close()
		s.repo = nil
	}
}

// storeAdapter adapts the SQLite store to core.Store; the file is opened
// on first use.
type storeAdapter struct {
	mu      sync.Mutex
	dataDir string
	err     error // why there is no data folder
	s       *store.Store
}

func (a *storeAdapter) get() (*store.Store, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.s != nil {
		return a.s, nil
	}
	if a.err != nil {
		return nil, a.err
	}
	s, err := store.Open(filepath.Join(a.dataDir, "berth.db"))
	if err != nil {
		return nil, err
	}
	a.s = s
	return s, nil
}

// existing is the store when it exists; reads go through it, so that
// reading (berth ls, history) never creates the file: with none there is
// nothing recorded.
func (a *storeAdapter) existing() (*store.Store, error) {
	a.mu.Lock()
	none := a.s == nil && a.err == nil
	a.mu.Unlock()
	if none {
		if _, err := os.Stat(filepath.Join(a.dataDir, "berth.db")); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	return a.get()
}

func (a *storeAdapter) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.s != nil {
		a.s.Close()
		a.s = nil
	}
}

func (a *storeAdapter) Begin(ctx context.Context, d core.Deployment) (int64, error) {
	s, err := a.get()
	if err != nil {
		return 0, err
	}
	name, email := gitIdentity(os.Getenv)
	return s.Begin(ctx, store.Deployment{Kind: d.Kind, Env: d.Env, Definition: d.Definition, Revision: d.Revision,
		PreviousRevision: d.PreviousRevision, Plan: d.Plan, Detail: d.Detail, Who: store.Who{GitName: name, GitEmail: email}})
}

func (a *storeAdapter) Finish(ctx context.Context, id int64, o core.Outcome) error {
	s, err := a.get()
	if err != nil {
		return err
	}
	return s.Finish(ctx, id, store.Outcome{Status: o.Status, Error: o.Error, ImageDigests: o.ImageDigests, SnapshotIDs: o.SnapshotIDs, Detail: o.Detail})
}

func (a *storeAdapter) History(ctx context.Context, env string, f core.HistoryFilter) ([]core.Deployment, error) {
	s, err := a.existing()
	if err != nil || s == nil {
		return nil, err
	}
	ds, err := s.History(ctx, env, store.Filter{Kinds: f.Kinds, Status: f.Status, Limit: f.Limit})
	return deployments(ds), err
}

func (a *storeAdapter) Unfinished(ctx context.Context, env string) ([]core.Deployment, error) {
	s, err := a.existing()
	if err != nil || s == nil {
		return nil, err
	}
	ds, err := s.Unfinished(ctx, env)
	return deployments(ds), err
}

func (a *storeAdapter) MarkInterrupted(ctx context.Context, id int64) error {
	s, err := a.get()
	if err != nil {
		return err
	}
	return s.MarkInterrupted(ctx, id)
}

func deployments(ds []store.Deployment) []core.Deployment {
	out := make([]core.Deployment, len(ds))
	for i, d := range ds {
		out[i] = core.Deployment{ID: d.ID, Kind: d.Kind, Env: d.Env, Definition: d.Definition, Revision: d.Revision,
			PreviousRevision: d.PreviousRevision, Who: core.Who(d.Who), Plan: d.Plan, StartedAt: d.StartedAt,
			FinishedAt: d.FinishedAt, Duration: d.Duration, Status: d.Status, Error: d.Error, ImageDigests: d.ImageDigests, PID: d.Process.PID,
			SnapshotIDs: d.SnapshotIDs, Detail: d.Detail}
	}
	return out
}

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

// gitIdentity is the user's Git identity: GIT_AUTHOR_NAME and
// GIT_AUTHOR_EMAIL, else user.name and user.email of ~/.gitconfig (read
// plainly: includes and conditional sections are not followed).
func gitIdentity(getenv func(string) string) (name, email string) {
	name, email = getenv("GIT_AUTHOR_NAME"), getenv("GIT_AUTHOR_EMAIL")
	if name != "" && email != "" {
		return name, email
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return name, email
	}
	f, err := os.Open(filepath.Join(home, ".gitconfig"))
	if err != nil {
		return name, email
	}
	defer f.Close()
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = strings.ToLower(strings.Trim(line, "[] \t"))
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section != "user" {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "name":
			if name == "" {
				name = v
			}
		case "email":
			if email == "" {
				email = v
			}
		}
	}
	return name, email
}
