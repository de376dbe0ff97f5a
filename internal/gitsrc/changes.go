package gitsrc

import (
	"context"
	"crypto/sha1"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// ChangeKind says how a file on disk differs from the commit.
type ChangeKind string

const (
	Added       ChangeKind = "added"
	Modified    ChangeKind = "modified" // content, or kind (file, symlink)
	Deleted     ChangeKind = "deleted"
	ModeChanged ChangeKind = "mode changed" // the executable bit only
)

// FileChange is one file that differs, by slash path relative to the
// compared folder.
type FileChange struct {
	Path string
	Kind ChangeKind
}

// Changes compares the files under dir with the subtree at path of commit
// rev, by Git blob hashes, and lists the differences sorted by path: for
// drift in a workspace, or uncommitted edits to a definition in the user's
// checkout. Sizes are compared first; a file is read and hashed only when
// its size matches the blob's. Empty folders and .git are ignored (Git
// tracks neither); files Git would ignore are not skipped.
func (r *Repo) Changes(ctx context.Context, rev Commit, path, dir string) ([]FileChange, error) {
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
	want := make(map[string]entry, len(ents))
	for _, e := range ents {
		if e.mode == filemode.Dir {
			continue
		}
		want[e.path] = e
	}
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}

	type check struct {
		path string
		full string
		e    entry
		fi   fs.FileInfo
		size int64 // the blob's, -1 when unknown
	}
	var out []FileChange
	var toHash []check
	seen := make(map[string]bool, len(want))
	err = filepath.WalkDir(dir, func(full string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" && full != dir {
				return filepath.SkipDir
			}
			return ctx.Err()
		}
		rel, err := filepath.Rel(dir, full)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		e, ok := want[rel]
		if !ok {
			out = append(out, FileChange{Path: rel, Kind: Added})
			return nil
		}
		seen[rel] = true
		fi, err := d.Info()
		if err != nil {
			return err
		}
		isLink := fi.Mode()&fs.ModeSymlink != 0
		switch {
		case e.mode == filemode.Symlink != isLink, e.mode == filemode.Submodule, !isLink && !fi.Mode().IsRegular():
			out = append(out, FileChange{Path: rel, Kind: Modified})
			return nil
		}
		toHash = append(toHash, check{rel, full, e, fi, -1})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("compare %s with %s at %s: %w", dir, p, rev.Short, err)
	}
	for name := range want {
		if !seen[name] {
			out = append(out, FileChange{Path: name, Kind: Deleted})
		}
	}

	// Blob sizes come from go-git (one at a time); reading and hashing
	// files runs in parallel.
	r.mu.Lock()
	for i := range toHash {
		if toHash[i].e.mode == filemode.Symlink {
			continue
		}
		if n, err := r.st.EncodedObjectSize(toHash[i].e.hash); err == nil {
			toHash[i].size = n
		}
	}
	r.mu.Unlock()
	results := make([]ChangeKind, len(toHash))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var herr error
	next := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				k, err := r.compareOne(toHash[i].full, toHash[i].e, toHash[i].fi, toHash[i].size)
				if err != nil {
					mu.Lock()
					herr = err
					mu.Unlock()
				}
				results[i] = k
			}
		}()
	}
	for i := range toHash {
		if i%256 == 0 && ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if herr != nil {
		return nil, herr
	}
	for i, k := range results {
		if k != "" {
			out = append(out, FileChange{Path: toHash[i].path, Kind: k})
		}
	}
	slices.SortFunc(out, func(a, b FileChange) int {
		if a.Path < b.Path {
			return -1
		}
		if a.Path > b.Path {
			return 1
		}
		return 0
	})
	return out, nil
}

// compareOne says how the file at full differs from e ("" when it does
// not).
func (r *Repo) compareOne(full string, e entry, fi fs.FileInfo, size int64) (ChangeKind, error) {
	var h plumbing.Hash
	if e.mode == filemode.Symlink {
		target, err := os.Readlink(full)
		if err != nil {
			return "", err
		}
		h = blobHash([]byte(target))
	} else {
		if size >= 0 && size != fi.Size() {
			return Modified, nil
		}
		var err error
		if h, err = r.hashes.hash(full, fi); err != nil {
			return "", err
		}
	}
	if h != e.hash {
		return Modified, nil
	}
	if e.mode != filemode.Symlink {
		exec := fi.Mode()&0o100 != 0
		if exec != (e.mode == filemode.Executable) {
			return ModeChanged, nil
		}
	}
	return "", nil
}

// hashCache keeps files' blob hashes by path, size, modification and
// change times and inode, so that an unchanged workspace is not read
// again at every drift check. As Git's index does, an entry is trusted
// only when the file's times were well before the hash was taken (a file
// written in the same instant as it was hashed is "racily clean" and is
// read again).
type hashCache struct {
	mu sync.Mutex
	m  map[string]hashEntry
}

type hashEntry struct {
	size         int64
	mtime, ctime int64
	ino          uint64
	hash         plumbing.Hash
}

// racyWindow is how much older than the hash a file's times must be for
// its hash to be kept (tests shorten it).
var racyWindow = 2 * time.Second

// readHash reads and hashes a file (tests count its calls).
var readHash = fileHash

// maxHashEntries bounds the cache.
const maxHashEntries = 1 << 16

func (c *hashCache) hash(full string, fi fs.FileInfo) (plumbing.Hash, error) {
	key, ok := statKey(fi)
	if ok {
		c.mu.Lock()
		e, hit := c.m[full]
		c.mu.Unlock()
		if hit && e.size == key.size && e.mtime == key.mtime && e.ctime == key.ctime && e.ino == key.ino {
			return e.hash, nil
		}
	}
	start := time.Now()
	h, err := readHash(full, fi.Size())
	if err != nil || !ok {
		return h, err
	}
	if start.UnixNano()-max(key.mtime, key.ctime) < int64(racyWindow) {
		return h, nil
	}
	key.hash = h
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxHashEntries {
		c.m = map[string]hashEntry{}
	}
	c.m[full] = key
	c.mu.Unlock()
	return h, nil
}

// BlobHash is Git's hash of content as a blob: sha1("blob <len>\0" + content).
func BlobHash(content []byte) string { return blobHash(content).String() }

func blobHash(content []byte) plumbing.Hash {
	s := sha1.New()
	s.Write([]byte("blob " + strconv.Itoa(len(content)) + "\x00"))
	s.Write(content)
	var h plumbing.Hash
	copy(h[:], s.Sum(nil))
	return h
}

func fileHash(name string, size int64) (plumbing.Hash, error) {
	f, err := os.Open(name)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer f.Close()
	s := sha1.New()
	s.Write([]byte("blob " + strconv.FormatInt(size, 10) + "\x00"))
	n, err := io.Copy(s, f)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if n != size {
		return plumbing.ZeroHash, fmt.Errorf("%s changed while being read", name)
	}
	var h plumbing.Hash
	copy(h[:], s.Sum(nil))
	return h, nil
}
