package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The folder of workspaces (root) holds, besides one folder per tree hash:
//
//	.lock         flock'd shared by Materialise, exclusively by Prune
//	.used/<tree>  a stamp whose modification time is the workspace's last use
//	.tmp-*        a materialisation under way (or left by a killed process)
//	.trash-*      a workspace Prune took away and is deleting
const (
	lockName  = ".lock"
	usedDir   = ".used"
	tmpPrefix = ".tmp-"
	trashPref = ".trash-"
)

// ErrBusy is what Prune's error Is when another process holds the
// workspaces (materialising or pruning) for longer than Prune waits.
var ErrBusy = errors.New("workspaces are busy")

// touch records that the workspace of tree is used now.
func touch(root, tree string) error {
	p := filepath.Join(root, usedDir, tree)
	now := time.Now()
	err := os.Chtimes(p, now, now)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			var f *os.File
			if f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o644); err == nil {
				err = f.Close()
			}
		}
	}
	if err != nil {
		return fmt.Errorf("record the use of workspace %s: %w", tree, err)
	}
	return nil
}

// lockWorkspaces takes root's lock, shared (materialising) or exclusive
// (pruning), trying until it gets it, ctx ends or wait has passed (then the
// error Is ErrBusy). A negative wait waits as long as ctx allows.
func lockWorkspaces(ctx context.Context, root string, exclusive bool, wait time.Duration) (unlock func(), err error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(root, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	delay := 5 * time.Millisecond
	for {
		ok, err := tryFlock(f, exclusive)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", root, err)
		}
		if ok {
			return func() { unflock(f); f.Close() }, nil
		}
		if wait >= 0 && time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%s: another process is materialising or pruning: %w", root, ErrBusy)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("%s: %w (%w)", root, ErrBusy, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// WorkspaceUse is one workspace as Prune saw it.
type WorkspaceUse struct {
	Tree string
	Dir  string
	// LastUsed is when it was last materialised or reused (its stamp;
	// without one, when its folder was made).
	LastUsed time.Time
	// Bytes is the size of its files (counted for removed ones only).
	Bytes int64
	// Kept says why it stays; empty for a removed one.
	Kept string
}

// PruneOptions say which workspaces Prune keeps.
type PruneOptions struct {
	// Keep maps the tree hashes to keep whatever their age to why.
	Keep map[string]string
	// UsedSince keeps the workspaces used at or after it.
	UsedSince time.Time
	// DryRun reports what would be removed and removes nothing.
	DryRun bool
	// Wait is how long to wait for materialisations under way before
	// giving up with ErrBusy; 0 gives up at once.
	Wait time.Duration
}

// PruneReport is what Prune removed (or would remove) and kept.
type PruneReport struct {
	Removed []WorkspaceUse
	Kept    []WorkspaceUse
	// Leftovers counts half-written or half-deleted folders that killed
	// processes left, removed as well.
	Leftovers  int
	BytesFreed int64
}

// Prune removes the workspaces under root that o does not keep. It holds
// root's lock exclusively only while it decides and moves what goes out
// of the way (a rename), so a workspace is never taken while Materialise
// checks, writes or stamps it; the files are deleted after the lock is
// released. A removal that fails is reported and finished by the next
// Prune.
func Prune(ctx context.Context, root string, o PruneOptions) (PruneReport, error) {
	var rep PruneReport
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return rep, nil
	}
	unlock, err := lockWorkspaces(ctx, root, true, o.Wait)
	if err != nil {
		return rep, err
	}
	locked := true
	defer func() {
		if locked {
			unlock()
		}
	}()
	ents, err := os.ReadDir(root)
	if err != nil {
		return rep, err
	}
	var leftovers, victims []string
	trees := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		switch {
		case !e.IsDir():
		case strings.HasPrefix(name, tmpPrefix) || strings.HasPrefix(name, trashPref):
			// No Materialise runs (we hold the lock exclusively): a
			// temporary folder is a killed one's.
			leftovers = append(leftovers, filepath.Join(root, name))
		case isHash(name):
			trees[name] = true
			u := WorkspaceUse{Tree: name, Dir: filepath.Join(root, name), LastUsed: lastUse(root, name, e)}
			switch why, keep := o.Keep[name]; {
			case keep:
				u.Kept = why
			case !u.LastUsed.Before(o.UsedSince):
				u.Kept = "used " + u.LastUsed.Local().Format(time.DateTime)
			}
			if u.Kept != "" {
				rep.Kept = append(rep.Kept, u)
				continue
			}
			u.Bytes = du(u.Dir)
			rep.Removed = append(rep.Removed, u)
		}
	}
	sort.Slice(rep.Removed, func(i, j int) bool { return rep.Removed[i].LastUsed.Before(rep.Removed[j].LastUsed) })
	sort.Slice(rep.Kept, func(i, j int) bool { return rep.Kept[i].LastUsed.After(rep.Kept[j].LastUsed) })
	if o.DryRun {
		for _, u := range rep.Removed {
			rep.BytesFreed += u.Bytes
		}
		rep.Leftovers = len(leftovers)
		return rep, nil
	}
	var errs []error
	removed := rep.Removed[:0]
	sizes := map[string]int64{}
	for _, u := range rep.Removed {
		if ctx.Err() != nil {
			break // bounded: what is left goes next time
		}
		// Same parent: a read-only folder can be renamed there.
		trash := filepath.Join(root, trashPref+u.Tree[:12]+"-"+strconv.FormatInt(time.Now().UnixNano(), 36))
		if err := os.Rename(u.Dir, trash); err != nil {
			errs = append(errs, fmt.Errorf("move workspace %s aside: %w", u.Tree, err))
			continue
		}
		os.Remove(filepath.Join(root, usedDir, u.Tree))
		victims = append(victims, trash)
		sizes[trash] = u.Bytes
		removed = append(removed, u)
	}
	rep.Removed = removed
	// Stamps of workspaces that are gone.
	if stamps, err := os.ReadDir(filepath.Join(root, usedDir)); err == nil {
		for _, s := range stamps {
			if !trees[s.Name()] {
				os.Remove(filepath.Join(root, usedDir, s.Name()))
			}
		}
	}
	for _, l := range leftovers {
		sizes[l] = du(l)
	}
	unlock()
	locked = false

	for _, v := range victims {
		if err := Remove(v); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", v, err))
			continue
		}
		rep.BytesFreed += sizes[v]
	}
	for _, l := range leftovers {
		if ctx.Err() != nil {
			break
		}
		if err := Remove(l); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", l, err))
			continue
		}
		rep.Leftovers++
		rep.BytesFreed += sizes[l]
	}
	return rep, errors.Join(errs...)
}

// lastUse is the workspace's stamp time, else its folder's.
func lastUse(root, tree string, e fs.DirEntry) time.Time {
	if fi, err := os.Stat(filepath.Join(root, usedDir, tree)); err == nil {
		return fi.ModTime()
	}
	if fi, err := e.Info(); err == nil {
		return fi.ModTime()
	}
	return time.Time{}
}

// du is the size of the files under dir.
func du(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// isHash says whether name is a SHA-1 or SHA-256 hex tree hash.
func isHash(name string) bool {
	if len(name) != 40 && len(name) != 64 {
		return false
	}
	for _, c := range name {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
