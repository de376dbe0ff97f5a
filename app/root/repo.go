package root

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/gitsrc"
)

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

// Identity names the definitions repo for trust decisions: "url:<URL>"
// (without credentials, scheme and host lower-case, no trailing .git or
// slash) or "path:<repo root>".
func (s *repoSource) Identity(context.Context) string {
	s.mu.Lock()
	where := s.where
	s.mu.Unlock()
	if where == "" {
		return ""
	}
	if isURL(where) {
		return "url:" + normalURL(where)
	}
	return "path:" + realPath(where)
}

// marked gives err a second identity for errors.Is (a core sentinel)
// without changing its text.
type marked struct{ err, kind error }

func (m marked) Error() string { return m.err.Error() }

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

// newRepoSource picks the definitions repo: repo when given (a path or a
// URL, definitions under environments/), else the Git repo around the
// definitions folder, else the one around the current directory. With
// none, its methods fail with core.ErrNoRepo.
func newRepoSource(repo, branch, defsDir, dataDir string) *repoSource {
	s := &repoSource{branch: branch, dataDir: dataDir, fixed: repo != ""}
	s.pick(repo, defsDir)
	return s
}

func isURL(where string) bool {
	return strings.Contains(where, "://") || scpURL.MatchString(where)
}

func revision(c gitsrc.Commit) core.Revision {
	return core.Revision{Hash: c.Hash, Short: c.Short, Author: c.Author, Email: c.Email, When: c.When, Message: c.Message, Tree: c.Tree}
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

// scpURL is the git@host:path form of a URL.
var scpURL = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+:`)
