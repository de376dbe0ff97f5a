package gitsrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Workspace is a definition materialised at a revision: a read-only folder
// holding exactly the subtree of that commit. Tree is the subtree's hash,
// which names the folder; Commit is the commit it was asked for (another
// commit with the same subtree shares the folder).
type Workspace struct {
	Dir    string
	Tree   string
	Commit string
}

// entry is one file, symlink or folder of a subtree, by slash path.
type entry struct {
	path string
	mode filemode.FileMode
	hash plumbing.Hash
}

// subtree finds the tree at p in commit c; callers hold r.mu.
func (r *Repo) subtree(c Commit, p string) (*object.Tree, error) {
	obj, err := r.commitObject(c)
	if err != nil {
		return nil, err
	}
	root, err := obj.Tree()
	if err != nil {
		return nil, fmt.Errorf("tree of %s: %w", c.Short, err)
	}
	if p == "" {
		return root, nil
	}
	e, err := root.FindEntry(p)
	if err != nil {
		return nil, fmt.Errorf("%s is missing at revision %s: %w", p, c.Short, ErrNotFound)
	}
	if e.Mode != filemode.Dir {
		return nil, fmt.Errorf("%s at revision %s is not a folder (%s): %w", p, c.Short, e.Mode, ErrNotFound)
	}
	t, err := object.GetTree(r.repo.Storer, e.Hash)
	if err != nil {
		return nil, fmt.Errorf("tree %s at %s: %w", p, c.Short, malformed(err))
	}
	return t, nil
}

// malformed marks a tree that does not decode (a hostile or corrupt
// object: an empty name, a truncated hash) as unsafe too.
func malformed(err error) error {
	if errors.Is(err, object.ErrMalformedTree) {
		return fmt.Errorf("%w: %w", err, ErrUnsafe)
	}
	return err
}

// entries lists every entry under t, folders before what they hold;
// callers hold r.mu. A name that cannot be one file or folder of a
// workspace (checkEntryName) fails the whole listing with ErrUnsafe,
// before anything is written anywhere.
func (r *Repo) entries(t *object.Tree, prefix string, out []entry) ([]entry, error) {
	seen := make(map[string]struct{}, len(t.Entries))
	for _, e := range t.Entries {
		p := e.Name
		if prefix != "" {
			p = prefix + "/" + e.Name
		}
		if why := checkEntryName(e.Name); why != "" {
			return nil, unsafeEntry(p, why)
		}
		if _, dup := seen[e.Name]; dup {
			return nil, unsafeEntry(p, "two entries of the same name in one folder")
		}
		seen[e.Name] = struct{}{}
		out = append(out, entry{path: p, mode: e.Mode, hash: e.Hash})
		if e.Mode == filemode.Dir {
			sub, err := object.GetTree(r.repo.Storer, e.Hash)
			if err != nil {
				return nil, fmt.Errorf("tree %s: %w", p, malformed(err))
			}
			if out, err = r.entries(sub, p, out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// maxLinkTarget is the longest symlink target Berth writes (Linux's
// PATH_MAX): a longer one is no path any system resolves.
const maxLinkTarget = 4096

// streamAbove is the blob size from which a blob is copied to its file
// by the goroutine reading it instead of being handed to a writer whole:
// at most 64 smaller ones wait in memory, so a tree of huge files costs
// no more memory than one of small ones.
const streamAbove = 256 << 10

// blob opens a blob for reading; callers hold r.mu until they are done
// with the reader. The size is the one the object database states, which
// a hostile pack may get wrong: readers never allocate by it.
func (r *Repo) blob(h plumbing.Hash) (io.ReadCloser, int64, error) {
	obj, err := r.repo.Storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, 0, fmt.Errorf("blob %s: %w", h, err)
	}
	rd, err := obj.Reader()
	if err != nil {
		return nil, 0, fmt.Errorf("blob %s: %w", h, err)
	}
	return rd, obj.Size(), nil
}

// readBlob returns a blob's content, at most limit bytes (a longer blob
// is an error); callers hold r.mu.
func (r *Repo) readBlob(h plumbing.Hash, limit int64) ([]byte, error) {
	rd, size, err := r.blob(h)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	if size > limit {
		return nil, fmt.Errorf("blob %s: %d bytes, more than the %d expected", h, size, limit)
	}
	var buf bytes.Buffer
	buf.Grow(int(max(size, 0)))
	n, err := io.Copy(&buf, io.LimitReader(rd, limit+1))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", h, err)
	}
	if n > limit {
		return nil, fmt.Errorf("blob %s: more than the %d bytes expected", h, limit)
	}
	return buf.Bytes(), nil
}

// copyBlob writes a blob's content to w without holding it whole;
// callers hold r.mu.
func (r *Repo) copyBlob(h plumbing.Hash, w io.Writer) error {
	rd, _, err := r.blob(h)
	if err != nil {
		return err
	}
	defer rd.Close()
	if _, err := io.Copy(w, rd); err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	return nil
}

// symlinks reads the targets of the symlinks among ents, refusing a
// submodule; callers hold r.mu.
func (r *Repo) symlinks(ents []entry) (map[string]string, error) {
	links := map[string]string{}
	for _, e := range ents {
		switch e.mode {
		case filemode.Submodule:
			return nil, fmt.Errorf("%s is a submodule; Berth does not materialise submodules: %w", e.path, ErrUnsafe)
		case filemode.Symlink:
			b, err := r.readBlob(e.hash, maxLinkTarget)
			if err != nil {
				return nil, fmt.Errorf("symlink %s: %w: %w", e.path, err, ErrUnsafe)
			}
			links[e.path] = string(b)
		}
	}
	for name, target := range links {
		if err := checkLink(links, name, target); err != nil {
			return nil, err
		}
	}
	return links, nil
}

// Materialise writes the subtree at path of commit rev into
// root/<subtree hash>/ and returns it. The folder is immutable: when it
// exists it is complete (it is written under a temporary name and renamed
// into place) and is returned as is. Files are read-only (0444, 0555 when
// executable), folders 0555.
//
// A commit is untrusted input. Every entry's name is checked before
// anything is written (checkEntryName: no "..", separators, NUL or .git
// in any form), and symlinks are kept only when they resolve inside the
// workspace; an absolute symlink, one that leaves the workspace (directly
// or through other symlinks) or a submodule is refused, naming the file.
// Every write goes through an os.Root opened on the temporary folder, so
// that even a name that slipped through could not leave it.
//
// Each call records the workspace's use (a stamp under root/.used/) for
// Prune, and holds root's lock shared so that a Prune never removes the
// folder meanwhile.
func (r *Repo) Materialise(ctx context.Context, rev Commit, path string, root string) (Workspace, error) {
	p, err := cleanPath(path)
	if err != nil {
		return Workspace{}, err
	}
	// Shared with other materialisations, exclusive of Prune: from the
	// check that the folder exists to its stamp, it cannot be taken away.
	unlockRoot, err := lockWorkspaces(ctx, root, false, -1)
	if err != nil {
		return Workspace{}, err
	}
	defer unlockRoot()
	r.mu.Lock()
	locked := true
	unlock := func() {
		if locked {
			locked = false
			r.mu.Unlock()
		}
	}
	defer unlock()
	t, err := r.subtree(rev, p)
	if err != nil {
		return Workspace{}, err
	}
	ws := Workspace{Dir: filepath.Join(root, t.Hash.String()), Tree: t.Hash.String(), Commit: rev.Hash}
	if fi, err := os.Lstat(ws.Dir); err == nil && fi.IsDir() {
		return ws, touch(root, ws.Tree)
	}
	ents, err := r.entries(t, "", nil)
	if err != nil {
		return Workspace{}, fmt.Errorf("%s at %s: %w", p, rev.Short, err)
	}
	links, err := r.symlinks(ents)
	if err != nil {
		return Workspace{}, fmt.Errorf("%s at %s: %w", p, rev.Short, err)
	}

	if err := os.MkdirAll(root, 0o755); err != nil {
		return Workspace{}, err
	}
	tmp, err := os.MkdirTemp(root, ".tmp-"+ws.Tree[:12]+"-")
	if err != nil {
		return Workspace{}, err
	}
	done := false
	defer func() {
		if !done {
			Remove(tmp)
		}
	}()
	out, err := os.OpenRoot(tmp)
	if err != nil {
		return Workspace{}, err
	}
	defer out.Close()
	var dirs []string
	for _, e := range ents {
		if e.mode == filemode.Dir {
			if err := out.Mkdir(e.path, 0o755); err != nil {
				return Workspace{}, err
			}
			dirs = append(dirs, e.path)
		}
	}

	// One reader (go-git is not safe for concurrent use), several writers.
	type job struct {
		e    entry
		data []byte
	}
	jobs := make(chan job, 64)
	var wg sync.WaitGroup
	var werr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { werr = err }) }
	workers := max(2, runtime.GOMAXPROCS(0))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := writeEntry(out, j.e, j.data, links); err != nil {
					fail(err)
				}
			}
		}()
	}
	var rerr error
	for i, e := range ents {
		if e.mode == filemode.Dir {
			continue
		}
		if i%128 == 0 {
			if rerr = ctx.Err(); rerr != nil {
				break
			}
		}
		var data []byte
		if e.mode != filemode.Symlink {
			if size, err := r.blobSize(e.hash); err == nil && size > streamAbove {
				// Large: copied here, in pieces, while writers go on.
				if rerr = streamEntry(out, e, r); rerr != nil {
					break
				}
				continue
			}
			if data, rerr = r.readBlob(e.hash, streamAbove); rerr != nil {
				break
			}
		}
		jobs <- job{e, data}
	}
	close(jobs)
	unlock()
	wg.Wait()
	if rerr != nil {
		return Workspace{}, rerr
	}
	if werr != nil {
		return Workspace{}, werr
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := out.Chmod(dirs[i], 0o555); err != nil {
			return Workspace{}, err
		}
	}
	if err := os.Chmod(tmp, 0o555); err != nil {
		return Workspace{}, err
	}
	if err := os.Rename(tmp, ws.Dir); err != nil {
		if fi, serr := os.Lstat(ws.Dir); serr == nil && fi.IsDir() {
			return ws, touch(root, ws.Tree) // materialised meanwhile by someone else; ours is removed
		}
		return Workspace{}, fmt.Errorf("materialise %s at %s: %w", p, rev.Short, err)
	}
	done = true
	return ws, touch(root, ws.Tree)
}

// blobSize is the size the object database states for a blob; callers
// hold r.mu.
func (r *Repo) blobSize(h plumbing.Hash) (int64, error) {
	return r.repo.Storer.EncodedObjectSize(h)
}

// entryPerm is the mode a file of the workspace gets.
func entryPerm(m filemode.FileMode) fs.FileMode {
	if m == filemode.Executable {
		return 0o555
	}
	return 0o444
}

// writeEntry writes one file or symlink of a workspace through out.
func writeEntry(out *os.Root, e entry, data []byte, links map[string]string) error {
	if e.mode == filemode.Symlink {
		return out.Symlink(links[e.path], e.path)
	}
	// Created read-only: the descriptor opened here may still write.
	f, err := out.OpenFile(e.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, entryPerm(e.mode))
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// streamEntry copies a large blob into its file through out; callers hold
// r.mu.
func streamEntry(out *os.Root, e entry, r *Repo) error {
	f, err := out.OpenFile(e.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, entryPerm(e.mode))
	if err != nil {
		return err
	}
	if err := r.copyBlob(e.hash, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkLink refuses a symlink that is absolute or that, following the
// other symlinks of the tree, resolves outside the workspace.
func checkLink(links map[string]string, name, target string) error {
	if target == "" || path.IsAbs(target) || filepath.IsAbs(target) || strings.HasPrefix(target, `\`) {
		return fmt.Errorf("symlink %s points to the absolute path %q, outside the workspace: %w", name, target, ErrUnsafe)
	}
	var resolved []string
	pending := strings.Split(name, "/")
	for hops := 0; len(pending) > 0; {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(resolved) == 0 {
				return fmt.Errorf("symlink %s -> %s leads outside the workspace: %w", name, target, ErrUnsafe)
			}
			resolved = resolved[:len(resolved)-1]
			continue
		}
		cur := strings.Join(append(resolved, c), "/")
		t, ok := links[cur]
		if !ok {
			resolved = append(resolved, c)
			continue
		}
		if hops++; hops > 40 {
			return fmt.Errorf("symlink %s -> %s: too many levels of symlinks: %w", name, target, ErrUnsafe)
		}
		if t == "" || path.IsAbs(t) {
			return fmt.Errorf("symlink %s -> %s goes through the absolute symlink %s: %w", name, target, cur, ErrUnsafe)
		}
		pending = append(strings.Split(t, "/"), pending...)
	}
	return nil
}

// Remove deletes a workspace (or any folder Materialise left read-only).
func Remove(dir string) error {
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.RemoveAll(dir)
}
