package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"os"
	pathpkg "path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Blobs returns the blob hash of every file and symlink under path at
// commit rev, by slash path relative to path.
func (r *Repo) Blobs(ctx context.Context, rev Commit, path string) (map[string]string, error) {
	p, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t, err := r.subtree(rev, p)
	if err != nil {
		return nil, err
	}
	ents, err := r.entries(t, "", nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(ents))
	for _, e := range ents {
		if e.mode != filemode.Dir {
			out[e.path] = e.hash.String()
		}
	}
	return out, nil
}

// Restore puts the files under dir back to the subtree at path of commit
// rev: a changed file is rewritten in place (same inode, so a container
// that bind-mounts the file sees the committed content again), a deleted
// one is written again, an added one removed. The files keep the
// workspace's read-only modes. It returns what it put back.
//
// dir is written through an os.Root: a folder in it replaced by a
// symlink that leads out (a container that bind-mounts part of the
// workspace read-write could make one) is refused, never followed.
func (r *Repo) Restore(ctx context.Context, rev Commit, path, dir string) ([]FileChange, error) {
	changes, err := r.Changes(ctx, rev, path, dir)
	if err != nil || len(changes) == 0 {
		return changes, err
	}
	p, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	t, err := r.subtree(rev, p)
	var ents []entry
	if err == nil {
		ents, err = r.entries(t, "", nil)
	}
	var links map[string]string
	if err == nil {
		links, err = r.symlinks(ents)
	}
	r.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%s at %s: %w", p, rev.Short, err)
	}
	byPath := map[string]entry{}
	for _, e := range ents {
		byPath[e.path] = e
	}
	out, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	for _, c := range changes {
		e, tracked := byPath[c.Path]
		err := withWritable(out, c.Path, func() error {
			switch {
			case c.Kind == Added:
				return out.RemoveAll(c.Path)
			case e.mode == filemode.Symlink:
				if err := out.RemoveAll(c.Path); err != nil {
					return err
				}
				return out.Symlink(links[c.Path], c.Path)
			case tracked:
				if fi, err := out.Lstat(c.Path); err == nil && !fi.Mode().IsRegular() {
					if err := out.RemoveAll(c.Path); err != nil {
						return err
					}
				}
				if parent := pathpkg.Dir(c.Path); parent != "." {
					if err := out.MkdirAll(parent, 0o755); err != nil {
						return err
					}
				}
				if fi, err := out.Lstat(c.Path); err == nil {
					out.Chmod(c.Path, fi.Mode().Perm()|0o200)
				}
				f, err := out.OpenFile(c.Path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
				if err != nil {
					return err
				}
				r.mu.Lock()
				err = r.copyBlob(e.hash, f)
				r.mu.Unlock()
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					return err
				}
				return out.Chmod(c.Path, entryPerm(e.mode))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("restore %s in %s: %w", c.Path, dir, err)
		}
	}
	return changes, nil
}

// withWritable makes the folders holding rel (a slash path under out's
// folder), up to that folder itself, writable while fn runs (a workspace
// is read-only), then read-only again.
func withWritable(out *os.Root, rel string, fn func() error) error {
	var opened []string
	for d := pathpkg.Dir(rel); ; d = pathpkg.Dir(d) {
		if fi, err := out.Lstat(d); err == nil && fi.IsDir() && fi.Mode().Perm()&0o200 == 0 {
			if out.Chmod(d, fi.Mode().Perm()|0o700) == nil {
				opened = append(opened, d)
			}
		}
		if d == "." {
			break
		}
	}
	err := fn()
	for _, d := range opened {
		out.Chmod(d, 0o555)
	}
	return err
}

// Behind counts the commits reachable from branch ("" means the tracked
// branch) that touch path and that deployed does not contain: how far the
// branch has moved on for that definition. It also returns the branch's
// head.
func (r *Repo) Behind(ctx context.Context, deployed Commit, branch, path string) (int, Commit, error) {
	head, err := r.Head(branch)
	if err != nil {
		if branch != "" {
			return 0, Commit{}, err
		}
		if head, err = r.Resolve("HEAD"); err != nil {
			return 0, Commit{}, err
		}
		branch = head.Hash
	}
	if branch == "" {
		if branch, err = r.Branch(); err != nil {
			return 0, Commit{}, err
		}
	}
	if head.Hash == deployed.Hash {
		return 0, head, nil
	}
	log, err := r.Log(ctx, branch, path, 1000)
	if err != nil {
		return 0, head, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	dep, err := r.commitObject(deployed)
	if err != nil {
		return 0, head, err
	}
	// The commits deployed contains, walked until every commit of the log
	// is decided or history ends.
	have := map[plumbing.Hash]bool{}
	iter := object.NewCommitPreorderIter(dep, nil, nil)
	defer iter.Close()
	want := map[string]bool{}
	for _, c := range log {
		want[c.Hash] = true
	}
	left := len(want)
	err = iter.ForEach(func(c *object.Commit) error {
		if want[c.Hash.String()] {
			have[c.Hash] = true
			left--
		}
		if left == 0 {
			return errStop
		}
		return ctx.Err()
	})
	if err != nil && !errors.Is(err, errStop) {
		return 0, head, err
	}
	n := 0
	for _, c := range log {
		if h, ok := parseHash(c.Hash); ok && !have[h] {
			n++
		}
	}
	return n, head, nil
}

var errStop = errors.New("stop")

// CommitFiles makes a commit on a new branch whose parent is base and
// whose tree is base's with files changed: each path (repo-relative, slash
// separated) gets the content given, or is deleted when the content is
// nil. Nothing in a work tree is touched and nothing is pushed. The branch
// must not exist yet.
func (r *Repo) CommitFiles(ctx context.Context, base Commit, branch string, files map[string][]byte, who Signature, message string) (Commit, error) {
	if branch == "" {
		return Commit{}, errors.New("a branch name is needed")
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if err := ref.Validate(); err != nil {
		return Commit{}, fmt.Errorf("branch name %q: %w", branch, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.repo.Storer.Reference(ref); err == nil {
		return Commit{}, fmt.Errorf("branch %q already exists in %s", branch, r.dir)
	}
	parent, err := r.commitObject(base)
	if err != nil {
		return Commit{}, err
	}
	root, err := parent.Tree()
	if err != nil {
		return Commit{}, err
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		cp, err := cleanPath(p)
		if err != nil || cp == "" {
			return Commit{}, fmt.Errorf("path %q: not a file path inside the repo", p)
		}
		paths = append(paths, cp)
	}
	sort.Strings(paths)
	treeHash := root.Hash
	for _, p := range paths {
		var blob *plumbing.Hash
		if content := files[p]; content != nil {
			h, err := r.storeBlob(string(content))
			if err != nil {
				return Commit{}, err
			}
			blob = &h
		}
		if treeHash, err = r.setPath(treeHash, strings.Split(p, "/"), blob); err != nil {
			return Commit{}, fmt.Errorf("commit %s: %w", p, err)
		}
	}
	sig := object.Signature{Name: who.Name, Email: who.Email, When: who.When}
	if sig.When.IsZero() {
		sig.When = time.Now()
	}
	c := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: treeHash, ParentHashes: []plumbing.Hash{parent.Hash}}
	obj := r.repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return Commit{}, err
	}
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return Commit{}, err
	}
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(ref, h)); err != nil {
		return Commit{}, err
	}
	made, err := r.repo.CommitObject(h)
	if err != nil {
		return Commit{}, err
	}
	return toCommit(made), nil
}

// setPath returns the hash of tree t with the file at comps set to blob
// (removed when nil), storing the trees it rewrites; callers hold r.mu.
func (r *Repo) setPath(t plumbing.Hash, comps []string, blob *plumbing.Hash) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	if !t.IsZero() {
		tree, err := object.GetTree(r.repo.Storer, t)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, tree.Entries...)
	}
	name := comps[0]
	idx := -1
	for i, e := range entries {
		if e.Name == name {
			idx = i
		}
	}
	if len(comps) == 1 {
		switch {
		case blob == nil && idx >= 0:
			entries = append(entries[:idx], entries[idx+1:]...)
		case blob != nil && idx >= 0:
			mode := entries[idx].Mode
			if mode != filemode.Executable {
				mode = filemode.Regular
			}
			entries[idx] = object.TreeEntry{Name: name, Mode: mode, Hash: *blob}
		case blob != nil:
			entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: *blob})
		}
	} else {
		sub := plumbing.ZeroHash
		if idx >= 0 {
			if entries[idx].Mode != filemode.Dir {
				return plumbing.ZeroHash, fmt.Errorf("%s is a file, not a folder", name)
			}
			sub = entries[idx].Hash
		}
		h, err := r.setPath(sub, comps[1:], blob)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		switch {
		case h.IsZero() && idx >= 0:
			entries = append(entries[:idx], entries[idx+1:]...)
		case h.IsZero():
		case idx >= 0:
			entries[idx].Hash = h
		default:
			entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil // an empty folder disappears, as in Git
	}
	sort.Slice(entries, func(i, j int) bool { return treeSortName(entries[i]) < treeSortName(entries[j]) })
	nt := &object.Tree{Entries: entries}
	obj := r.repo.Storer.NewEncodedObject()
	if err := nt.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return r.repo.Storer.SetEncodedObject(obj)
}

// treeSortName is Git's tree order: folders sort as if their name ended
// with a slash.
func treeSortName(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}
