package gitsrc

import (
	"bytes"
	"container/heap"
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// Log lists the commits reachable from branch ("" means the tracked branch;
// any revision Resolve takes works) that touch path, newest first (by
// committer date, as git log orders them), at most limit of them (limit <=
// 0: all). A commit touches path when the entry at path in its tree differs
// from the one in its first parent's tree (for a root commit: when path
// exists). An empty path means the whole repo. Each commit's PathTree is
// the hash of the entry at path in it (empty when the commit deletes it).
//
// It walks the commits itself and compares entry hashes: a tree is read only
// when its hash was not seen before, so unchanged subtrees cost nothing;
// walking commits and reading trees run side by side.
func (r *Repo) Log(ctx context.Context, branch, path string, limit int) ([]Commit, error) {
	p, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	if branch == "" {
		if branch, err = r.Branch(); err != nil {
			return nil, err
		}
	}
	start, err := r.Resolve(branch)
	if err != nil {
		return nil, err
	}
	var comps []string
	if p != "" {
		comps = strings.Split(p, "/")
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	first, err := r.commitObject(start)
	if err != nil {
		return nil, err
	}

	type item struct {
		c          *object.Commit
		root, base plumbing.Hash // the commit's root tree, its first parent's
	}
	walkCtx, stop := context.WithCancel(ctx)
	defer stop()
	var out []Commit
	var cmpErr error
	compare := func(w *walker, it item) {
		if cmpErr != nil || (limit > 0 && len(out) >= limit) {
			return
		}
		mine, err := w.entry(it.root)
		if err == nil {
			var theirs plumbing.Hash
			if theirs, err = w.entry(it.base); err == nil && mine != theirs {
				c := toCommit(it.c)
				if !mine.IsZero() {
					c.PathTree = mine.String()
				}
				out = append(out, c)
			}
		}
		if err != nil {
			cmpErr = err
		}
		if err != nil || (limit > 0 && len(out) >= limit) {
			stop()
		}
	}
	// With two cores or more, two goroutines, each with its own go-git
	// storage: this one walks the commits in date order, the other reads
	// their trees at path.
	var send func(item)
	finish := func() {}
	if runtime.GOMAXPROCS(0) >= 2 && logParallel {
		aux, err := r.auxRepo()
		if err != nil {
			return nil, err
		}
		items := make(chan item, 512)
		done := make(chan struct{})
		go func() {
			defer close(done)
			w := newWalker(aux.Storer, comps)
			for it := range items {
				compare(w, it)
			}
		}()
		send = func(it item) { items <- it }
		finish = func() { close(items); <-done }
	} else {
		w := newWalker(r.repo.Storer, comps)
		send = func(it item) { compare(w, it) }
	}

	seen := map[plumbing.Hash]bool{first.Hash: true}
	trees := map[plumbing.Hash]plumbing.Hash{first.Hash: first.TreeHash} // commit → root tree
	q := &commitQueue{first}
	var walkErr error
	for q.Len() > 0 {
		if walkCtx.Err() != nil {
			break
		}
		c := heap.Pop(q).(*object.Commit)
		for _, ph := range c.ParentHashes {
			if seen[ph] {
				continue
			}
			seen[ph] = true
			pc, err := r.repo.CommitObject(ph)
			if err != nil {
				walkErr = fmt.Errorf("log %s: parent %s of %s: %w", branch, ph, c.Hash, err)
				break
			}
			trees[ph] = pc.TreeHash
			heap.Push(q, pc)
		}
		if walkErr != nil {
			break
		}
		it := item{c: c, root: c.TreeHash}
		if len(c.ParentHashes) > 0 {
			it.base = trees[c.ParentHashes[0]]
		}
		send(it)
	}
	finish()
	switch {
	case walkErr != nil:
		return nil, walkErr
	case cmpErr != nil:
		return nil, cmpErr
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	return out, nil
}

// logParallel turns Log's second goroutine off (for comparing the two).
var logParallel = true

// walker finds the hash of the entry at a path in root trees, remembering
// for each level which child hash a tree hash leads to.
type walker struct {
	s     storer.EncodedObjectStorer
	comps []string
	cache []map[plumbing.Hash]plumbing.Hash // per level: tree hash → entry hash (zero: absent)
	buf   []byte
}

func newWalker(s storer.EncodedObjectStorer, comps []string) *walker {
	w := &walker{s: s, comps: comps, cache: make([]map[plumbing.Hash]plumbing.Hash, len(comps))}
	for i := range w.cache {
		w.cache[i] = make(map[plumbing.Hash]plumbing.Hash)
	}
	return w
}

// entry is the hash of the entry at w.comps under root (zero when absent).
func (w *walker) entry(root plumbing.Hash) (plumbing.Hash, error) {
	h := root
	for i, name := range w.comps {
		if h.IsZero() {
			return h, nil
		}
		if next, ok := w.cache[i][h]; ok {
			h = next
			continue
		}
		next, err := w.child(h, name, i == len(w.comps)-1)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		w.cache[i][h] = next
		h = next
	}
	return h, nil
}

// child scans the raw tree h for name and returns its hash (zero when
// absent, or when it is not a folder and last is false). Reading the raw
// entries saves decoding every entry of every tree.
func (w *walker) child(h plumbing.Hash, name string, last bool) (plumbing.Hash, error) {
	obj, err := w.s.EncodedObject(plumbing.TreeObject, h)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("tree %s: %w", h, err)
	}
	rd, err := obj.Reader()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("tree %s: %w", h, err)
	}
	w.buf = w.buf[:0]
	if n := int(obj.Size()); cap(w.buf) < n {
		w.buf = make([]byte, 0, n)
	}
	b := bytes.NewBuffer(w.buf)
	_, err = b.ReadFrom(rd)
	rd.Close()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("tree %s: %w", h, err)
	}
	w.buf = b.Bytes()
	// Entries are "<octal mode> <name>\0<20-byte hash>".
	for t := w.buf; len(t) > 0; {
		sp := bytes.IndexByte(t, ' ')
		nul := bytes.IndexByte(t, 0)
		if sp < 0 || nul < sp || len(t) < nul+21 {
			return plumbing.ZeroHash, fmt.Errorf("tree %s: malformed", h)
		}
		if string(t[sp+1:nul]) == name {
			if !last && string(t[:sp]) != "40000" {
				return plumbing.ZeroHash, nil
			}
			var e plumbing.Hash
			copy(e[:], t[nul+1:nul+21])
			return e, nil
		}
		t = t[nul+21:]
	}
	return plumbing.ZeroHash, nil
}

// commitQueue orders commits newest committer date first.
type commitQueue []*object.Commit

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	return q[i].Committer.When.After(q[j].Committer.When)
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(*object.Commit)) }
func (q *commitQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return c
}
