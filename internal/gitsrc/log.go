package gitsrc

import (
	"container/heap"
	"context"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Log lists the commits reachable from branch ("" means the tracked branch;
// any revision Resolve takes works) that touch path, newest first (by
// committer date, as git log orders them), at most limit of them (limit <=
// 0: all). A commit touches path when the entry at path in its tree differs
// from the one in its first parent's tree (for a root commit: when path
// exists). An empty path means the whole repo.
//
// It walks the commits itself and compares entry hashes: a tree is read only
// when its hash was not seen before, so unchanged subtrees cost nothing.
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
	w := &walker{r: r, comps: comps, cache: make([]map[plumbing.Hash]plumbing.Hash, len(comps))}
	for i := range w.cache {
		w.cache[i] = make(map[plumbing.Hash]plumbing.Hash)
	}
	first, err := r.commitObject(start)
	if err != nil {
		return nil, err
	}
	seen := map[plumbing.Hash]bool{first.Hash: true}
	trees := map[plumbing.Hash]plumbing.Hash{first.Hash: first.TreeHash} // commit → root tree
	q := &commitQueue{first}
	var out []Commit
	for n := 0; q.Len() > 0; n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		c := heap.Pop(q).(*object.Commit)
		for _, ph := range c.ParentHashes {
			if seen[ph] {
				continue
			}
			seen[ph] = true
			pc, err := r.repo.CommitObject(ph)
			if err != nil {
				return nil, fmt.Errorf("log %s: parent %s of %s: %w", branch, ph, c.Hash, err)
			}
			trees[ph] = pc.TreeHash
			heap.Push(q, pc)
		}
		mine, err := w.entry(c.TreeHash)
		if err != nil {
			return nil, err
		}
		var theirs plumbing.Hash
		if len(c.ParentHashes) > 0 {
			if theirs, err = w.entry(trees[c.ParentHashes[0]]); err != nil {
				return nil, err
			}
		}
		if mine != theirs {
			out = append(out, toCommit(c))
			if limit > 0 && len(out) >= limit {
				break
			}
		}
	}
	return out, nil
}

// walker finds the hash of the entry at a path in root trees, remembering
// for each level which child hash a tree hash leads to.
type walker struct {
	r     *Repo
	comps []string
	cache []map[plumbing.Hash]plumbing.Hash // per level: tree hash → entry hash (zero: absent)
}

// entry is the hash of the entry at w.comps under root (zero when absent).
// The last component's mode is folded in by the caller's comparison of
// hashes only: a change of mode alone on a folder cannot happen in Git.
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
		t, err := object.GetTree(w.r.repo.Storer, h)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("tree %s: %w", h, err)
		}
		next := plumbing.ZeroHash
		for _, e := range t.Entries {
			if e.Name == name {
				// A file where a folder is expected further down ends the path.
				if i == len(w.comps)-1 || e.Mode == filemode.Dir {
					next = e.Hash
				}
				break
			}
		}
		w.cache[i][h] = next
		h = next
	}
	return h, nil
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
