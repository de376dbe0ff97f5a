// Package gitsrc is Berth's Git adapter: it opens a definitions repo (a local
// checkout in place, or a URL cloned bare into Berth's data directory),
// fetches it, resolves revisions, lists the commits that touch a definition,
// materialises a definition at a commit into an immutable read-only
// workspace, and compares files on disk with a commit by blob hashes.
//
// It is the only package that imports go-git. It returns concrete types
// whose fields are plain strings and times, so callers never see go-git.
//
// A Repo serialises its own use of go-git (one operation at a time): go-git's
// object storage is not safe for concurrent use, and with file descriptors
// kept open it is much faster; file writes and hashing run in parallel
// outside that lock.
package gitsrc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Errors, checkable with errors.Is; every error this package returns that
// falls in one of these classes wraps the sentinel with context.
var (
	// ErrNotFound: a ref, revision, path or repository that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAuth: credentials missing or refused, or an ssh host key that is
	// unknown or has changed.
	ErrAuth = errors.New("authentication failed")
	// ErrUnreachable: the remote cannot be reached (network, no repository at
	// the URL, timeout).
	ErrUnreachable = errors.New("unreachable")
	// ErrUnsafe: a tree Berth refuses to materialise (a symlink leaving the
	// workspace, an absolute symlink, a submodule).
	ErrUnsafe = errors.New("unsafe tree")
)

// Source says where a definitions repo lives: either URL (https://,
// ssh://, git@host:path, file://) or Path (a directory in or under a Git
// work tree, or a bare repo), not both.
type Source struct {
	URL  string
	Path string
	// Branch is the branch to track; empty means the repo's default branch
	// (for a local path: the branch checked out).
	Branch string
	Auth   Auth
}

// Commit is one commit of the definitions repo. Tree is the hash of the
// commit's root tree.
type Commit struct {
	Hash    string
	Short   string
	Author  string
	Email   string
	When    time.Time
	Message string // first line
	Tree    string
	// PathTree is, in Log's answer, the hash of the entry at the path
	// asked for (the definition's subtree); empty elsewhere.
	PathTree string
}

// Repo is an open definitions repo. Close it when done.
type Repo struct {
	mu     sync.Mutex // guards all go-git use
	repo   *git.Repository
	st     *filesystem.Storage
	fs     billy.Filesystem    // the repo's .git (or bare) folder
	packs  *packCache          // packfiles in memory, shared by both handles
	aux    *git.Repository     // a second handle for Log's second goroutine
	auxSt  *filesystem.Storage // its storage
	url    string              // "" for a local repo
	dir    string              // the work tree (local) or the bare clone
	branch string              // Source.Branch
	auth   Auth
	hashes hashCache // file hashes by path and stat, for Changes
}

// FindRepo returns the root of the Git work tree around dir when that root
// has an environments/ folder; otherwise an error wrapping ErrNotFound.
func FindRepo(dir string) (string, error) {
	r, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if err != nil {
		return "", fmt.Errorf("no git repository around %s: %w", dir, ErrNotFound)
	}
	wt, err := r.Worktree()
	if err != nil {
		return "", fmt.Errorf("git repository around %s has no work tree: %w", dir, ErrNotFound)
	}
	root := wt.Filesystem.Root()
	if fi, err := os.Stat(filepath.Join(root, "environments")); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("git repository %s has no environments/ folder: %w", root, ErrNotFound)
	}
	return root, nil
}

// Open opens a definitions repo. A Path is opened in place (its object
// store is read; nothing is cloned and nothing in it is changed). A URL is
// cloned bare into dataDir/repos/<sha256 of the URL> on first use (into a
// temporary folder renamed into place, so that a failed clone leaves
// nothing); later calls open that clone, and Fetch brings it up to date.
func Open(ctx context.Context, src Source, dataDir string) (*Repo, error) {
	switch {
	case src.URL != "" && src.Path != "":
		return nil, errors.New("a source is a URL or a path, not both")
	case src.Path != "":
		return openLocal(src)
	case src.URL != "":
		return openRemote(ctx, src, dataDir)
	}
	return nil, errors.New("a source needs a URL or a path")
}

func openLocal(src Source) (*Repo, error) {
	abs, err := filepath.Abs(src.Path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("definitions repo %s: %w", abs, ErrNotFound)
	}
	// Exactly here first (a work tree's root or a bare repo), then above.
	r, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		r, err = git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	}
	if err != nil {
		return nil, fmt.Errorf("no git repository at or above %s: %w", abs, ErrNotFound)
	}
	dir := abs
	var wt *git.Worktree
	if w, err := r.Worktree(); err == nil {
		wt = w
		dir = w.Filesystem.Root()
	}
	return reopen(r, wt, src, dir)
}

// reopen rebuilds r's storage with packfiles kept open (without that go-git
// opens and closes the packfile for every object it reads) and served from
// memory (see memPackFS).
func reopen(r *git.Repository, wt *git.Worktree, src Source, dir string) (*Repo, error) {
	old, ok := r.Storer.(*filesystem.Storage)
	if !ok {
		return nil, fmt.Errorf("unexpected git storage %T", r.Storer)
	}
	packs := &packCache{}
	st := newStorage(old.Filesystem(), packs)
	var repo *git.Repository
	var err error
	if wt != nil {
		repo, err = git.Open(st, wt.Filesystem)
	} else {
		repo, err = git.Open(st, nil)
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	return &Repo{repo: repo, st: st, fs: old.Filesystem(), packs: packs, url: src.URL, dir: dir, branch: src.Branch, auth: src.Auth}, nil
}

func newStorage(fs billy.Filesystem, packs *packCache) *filesystem.Storage {
	return filesystem.NewStorageWithOptions(memPackFS{fs, packs}, cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true})
}

// auxRepo opens (once) a second handle on the repo's objects, with its own
// storage; callers hold r.mu.
func (r *Repo) auxRepo() (*git.Repository, error) {
	if r.aux != nil {
		return r.aux, nil
	}
	st := newStorage(r.fs, r.packs)
	aux, err := git.Open(st, nil)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("open %s: %w", r.dir, err)
	}
	r.aux, r.auxSt = aux, st
	return aux, nil
}

// dropAux closes the second handle (its view of the packfiles is stale
// after a fetch); callers hold r.mu.
func (r *Repo) dropAux() {
	if r.auxSt != nil {
		r.auxSt.Close()
	}
	r.aux, r.auxSt = nil, nil
}

// CloneDir is where Open clones url under dataDir.
func CloneDir(dataDir, url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(dataDir, "repos", hex.EncodeToString(sum[:]))
}

func openRemote(ctx context.Context, src Source, dataDir string) (*Repo, error) {
	if dataDir == "" {
		return nil, errors.New("cloning a definitions repo needs a data directory")
	}
	dir := CloneDir(dataDir, src.URL)
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
		if err := clone(ctx, src, dir); err != nil {
			return nil, err
		}
	}
	r, err := git.PlainOpen(dir)
	if err != nil {
		return nil, fmt.Errorf("open the clone of %s in %s: %w", redact(src.URL), dir, err)
	}
	return reopen(r, nil, src, dir)
}

// fetchSpecs map the remote's branches and tags onto the clone's own.
// They carry no "+": go-git's Prune reverses a refspec textually and, with
// a "+", deletes and recreates every ref on each fetch (FetchOptions.Force
// allows the non-fast-forward updates instead).
var fetchSpecs = []config.RefSpec{"refs/heads/*:refs/heads/*", "refs/tags/*:refs/tags/*"}

// clone makes a bare copy of src.URL's branches and tags in dir: the
// remote's branches are the clone's branches, and HEAD names the remote's
// default branch.
func clone(ctx context.Context, src Source, dir string) (err error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".clone-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	auth, err := src.Auth.method(ctx, src.URL)
	if err != nil {
		return err
	}
	r, err := git.PlainInit(tmp, true)
	if err != nil {
		return err
	}
	remote, err := r.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{src.URL}, Fetch: fetchSpecs})
	if err != nil {
		return fmt.Errorf("clone %s: %w", redact(src.URL), err)
	}
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return classify(err, src.URL, auth)
	}
	head := defaultBranch(refs)
	if src.Branch != "" && !hasRef(refs, plumbing.NewBranchReferenceName(src.Branch)) {
		return fmt.Errorf("branch %q of %s: %w", src.Branch, redact(src.URL), ErrNotFound)
	}
	if head == "" {
		return fmt.Errorf("%s has no branches: %w", redact(src.URL), ErrNotFound)
	}
	err = r.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", Auth: auth, Tags: git.NoTags, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return classify(err, src.URL, auth)
	}
	if err := r.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, head)); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, "HEAD")); serr == nil {
			os.RemoveAll(tmp) // another process cloned it meanwhile
			return nil
		}
		return err
	}
	return nil
}

// defaultBranch is the branch the remote's HEAD names, else main or
// master, else the first branch.
func defaultBranch(refs []*plumbing.Reference) plumbing.ReferenceName {
	var headHash plumbing.Hash
	for _, ref := range refs {
		if ref.Name() == plumbing.HEAD {
			if ref.Type() == plumbing.SymbolicReference {
				return ref.Target()
			}
			headHash = ref.Hash()
		}
	}
	var first, byHash plumbing.ReferenceName
	for _, ref := range refs {
		if !ref.Name().IsBranch() {
			continue
		}
		if first == "" {
			first = ref.Name()
		}
		if !headHash.IsZero() && ref.Hash() == headHash && byHash == "" {
			byHash = ref.Name()
		}
	}
	for _, name := range []string{"main", "master"} {
		n := plumbing.NewBranchReferenceName(name)
		if hasRef(refs, n) && (byHash == "" || byHash == n) {
			return n
		}
	}
	if byHash != "" {
		return byHash
	}
	return first
}

func hasRef(refs []*plumbing.Reference, name plumbing.ReferenceName) bool {
	for _, ref := range refs {
		if ref.Name() == name {
			return true
		}
	}
	return false
}

// Close releases the repo's open files.
func (r *Repo) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropAux()
	return r.st.Close()
}

// Dir is the local work tree (a local source) or the bare clone (a URL).
func (r *Repo) Dir() string { return r.dir }

// Local reports whether the repo was opened in place from a path.
func (r *Repo) Local() bool { return r.url == "" }

// Fetch brings a cloned repo up to date with its remote (branches and
// tags, deleted branches pruned) and reports whether any ref changed. A
// local repo is the user's own: Fetch leaves it alone and reports false.
func (r *Repo) Fetch(ctx context.Context) (changed bool, err error) {
	if r.url == "" {
		return false, nil
	}
	auth, err := r.auth.method(ctx, r.url)
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	err = r.repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", RefSpecs: fetchSpecs, Auth: auth, Tags: git.NoTags, Force: true, Prune: true})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return false, nil
	}
	if err != nil {
		return false, classify(err, r.url, auth)
	}
	r.dropAux()
	return true, nil
}

// DefaultBranch is the branch HEAD names: for a clone the remote's default
// branch, for a local repo the branch checked out.
func (r *Repo) DefaultBranch() (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.repo.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return "", fmt.Errorf("HEAD of %s: %w", r.dir, ErrNotFound)
	}
	if ref.Type() != plumbing.SymbolicReference || !ref.Target().IsBranch() {
		return "", fmt.Errorf("HEAD of %s is detached (no default branch): %w", r.dir, ErrNotFound)
	}
	return ref.Target().Short(), nil
}

// Branch is the tracked branch: Source.Branch, else DefaultBranch.
func (r *Repo) Branch() (string, error) {
	if r.branch != "" {
		return r.branch, nil
	}
	return r.DefaultBranch()
}

// Head is the commit at the tip of branch ("" means the tracked branch).
func (r *Repo) Head(branch string) (Commit, error) {
	if branch == "" {
		b, err := r.Branch()
		if err != nil {
			return Commit{}, err
		}
		branch = b
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.repo.Reference(plumbing.NewBranchReferenceName(branch), true)
	if err != nil {
		return Commit{}, fmt.Errorf("branch %q in %s: %w", branch, r.dir, ErrNotFound)
	}
	c, err := r.repo.CommitObject(ref.Hash())
	if err != nil {
		return Commit{}, fmt.Errorf("branch %q: commit %s: %w", branch, ref.Hash(), err)
	}
	return toCommit(c), nil
}

// TreeAt is the hash of the entry at path (a repo-relative slash path; ""
// for the root) in commit c: for a folder its tree hash, which two commits
// share exactly when the folder's content is the same. A path that does
// not exist at c is an error wrapping ErrNotFound.
func (r *Repo) TreeAt(c Commit, path string) (string, error) {
	p, err := cleanPath(path)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	obj, err := r.commitObject(c)
	if err != nil {
		return "", err
	}
	if p == "" {
		return obj.TreeHash.String(), nil
	}
	h, err := newWalker(r.repo.Storer, strings.Split(p, "/")).entry(obj.TreeHash)
	if err != nil {
		return "", err
	}
	if h.IsZero() {
		return "", fmt.Errorf("%s is missing at revision %s: %w", p, c.Short, ErrNotFound)
	}
	return h.String(), nil
}

// Resolve turns a revision (a full or short sha, a branch, a tag, HEAD~N,
// branch^ and the like) into a commit. A revision that names nothing is an
// error wrapping ErrNotFound that names it.
func (r *Repo) Resolve(rev string) (Commit, error) {
	rev = strings.TrimSpace(rev)
	if rev == "" {
		return Commit{}, fmt.Errorf("revision %q: empty: %w", rev, ErrNotFound)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil || h == nil || h.IsZero() {
		return Commit{}, fmt.Errorf("revision %q in %s: %w", rev, r.dir, ErrNotFound)
	}
	c, err := r.repo.CommitObject(*h)
	if err != nil {
		return Commit{}, fmt.Errorf("revision %q is not a commit: %w", rev, ErrNotFound)
	}
	return toCommit(c), nil
}

func toCommit(c *object.Commit) Commit {
	msg := c.Message
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	h := c.Hash.String()
	return Commit{
		Hash:    h,
		Short:   h[:7],
		Author:  c.Author.Name,
		Email:   c.Author.Email,
		When:    c.Author.When,
		Message: strings.TrimSpace(msg),
		Tree:    c.TreeHash.String(),
	}
}

// commitObject looks up a Commit's object; callers hold r.mu.
func (r *Repo) commitObject(c Commit) (*object.Commit, error) {
	h, ok := parseHash(c.Hash)
	if !ok {
		return nil, fmt.Errorf("commit %q: not a full hash: %w", c.Hash, ErrNotFound)
	}
	obj, err := r.repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("commit %s in %s: %w", c.Hash, r.dir, ErrNotFound)
	}
	return obj, nil
}

func parseHash(s string) (plumbing.Hash, bool) {
	if len(s) != 40 {
		return plumbing.ZeroHash, false
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return plumbing.ZeroHash, false
	}
	var h plumbing.Hash
	copy(h[:], b)
	return h, true
}

// cleanPath makes a repo-relative slash path of p ("" for the root).
func cleanPath(p string) (string, error) {
	p = strings.Trim(filepath.ToSlash(p), "/")
	if p == "" || p == "." {
		return "", nil
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." || c == "." || c == "" {
			return "", fmt.Errorf("path %q: must be a plain path inside the repo", p)
		}
	}
	return p, nil
}

// errNoEndpoint is used when a URL does not parse.
func endpoint(url string) (*transport.Endpoint, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return nil, fmt.Errorf("repo URL %q: %w", redact(url), err)
	}
	return ep, nil
}

// Checkout clones src.URL into dir with a work tree, as `git clone` does
// (the remote's default branch, or src.Branch, checked out), with the same
// credentials as Open. dir must not exist; on failure nothing stays.
func Checkout(ctx context.Context, src Source, dir string) error {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("%s already exists", dir)
	}
	auth, err := src.Auth.method(ctx, src.URL)
	if err != nil {
		return err
	}
	opts := &git.CloneOptions{URL: src.URL, Auth: auth, Tags: git.AllTags}
	if src.Branch != "" {
		opts.ReferenceName = plumbing.NewBranchReferenceName(src.Branch)
		opts.SingleBranch = false
	}
	if _, err := git.PlainCloneContext(ctx, dir, false, opts); err != nil {
		os.RemoveAll(dir)
		return classify(err, src.URL, auth)
	}
	return nil
}
