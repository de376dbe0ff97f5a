// Package watch reports changes under a folder tree: it is Berth's file
// event adapter and the only package that imports fsnotify. Events are
// gathered until the tree has been quiet for a moment (at most a bounded
// time) and reported as one batch; a folder created or moved in is watched
// too; when the kernel drops events (overflow) or a folder moves away the
// batch asks for a full rescan; when the inotify watch limit is reached,
// the folders that could not be watched are polled instead, and the batch
// says so.
package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Batch is what changed during one burst.
type Batch struct {
	// Paths are the changed paths, relative to the root, slash-separated
	// and sorted.
	Paths []string
	// Rescan is true when events may have been lost (overflow, a folder
	// moved away): compare the whole tree.
	Rescan bool
	// Notes say what the watcher had to fall back to (polling a folder
	// because the inotify watch limit was reached).
	Notes []string
}

// Options tune a watch; the zero value is what Berth uses.
type Options struct {
	// Quiet is how long the tree must stay quiet before a batch is
	// reported (default 150 ms); Max bounds how long a batch is held
	// (default 10 s).
	Quiet, Max time.Duration
	// Poll is how often polled folders are compared (default 2 s).
	Poll time.Duration
	// Clock is the time source (tests inject one).
	Clock Clock
	// Ready, when set, is called once the tree is watched: a change made
	// after it is reported.
	Ready func()
	// addWatch adds an inotify watch; tests replace it.
	addWatch func(w *fsnotify.Watcher, dir string) error
	// watching, when set, is told each folder (relative to the root) once
	// it is watched or its first poll scan is taken; tests wait on it
	// instead of sleeping.
	watching func(rel string)
}

// Clock is the time source of the debouncer.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a Clock's timer.
type Timer interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time                            { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

func (o *Options) defaults() {
	if o.Quiet <= 0 {
		o.Quiet = 150 * time.Millisecond
	}
	if o.Max <= 0 {
		o.Max = 10 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.addWatch == nil {
		o.addWatch = func(w *fsnotify.Watcher, dir string) error { return w.Add(dir) }
	}
}

// Tree watches root recursively until ctx ends (then it returns nil) and
// calls out with each batch, never concurrently.
func Tree(ctx context.Context, root string, opts Options, out func(Batch)) error {
	opts.defaults()
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	w, err := fsnotify.NewBufferedWatcher(1024)
	if err != nil {
		return fmt.Errorf("watching %s: %w", root, err)
	}
	defer w.Close()
	t := &tree{root: root, w: w, opts: opts, polled: map[string]map[string]stamp{}, dirs: map[string]bool{}}
	t.deb = newDebouncer(opts.Clock, opts.Quiet, opts.Max, out)
	defer t.deb.stop()
	if err := t.addTree(root); err != nil {
		return err
	}
	if opts.Ready != nil {
		opts.Ready()
	}
	// The poll ticker exists only once a folder is polled: a tree fully
	// watched by inotify wakes only when something changes.
	var poll <-chan time.Time
	var ticker *time.Ticker
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	for {
		if ticker == nil && t.polling() {
			ticker = time.NewTicker(opts.Poll)
			poll = ticker.C
		}
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			t.event(ev)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				t.deb.rescan("")
				t.addTree(root) // watches may have been missed too
				continue
			}
			t.deb.note("file watcher: " + err.Error())
		case <-poll:
			t.pollAll()
		}
	}
}

type tree struct {
	root   string
	w      *fsnotify.Watcher
	opts   Options
	deb    *debouncer
	mu     sync.Mutex
	polled map[string]map[string]stamp // folder → file → stamp
	dirs   map[string]bool             // folders watched
}

type stamp struct {
	size  int64
	mtime time.Time
	mode  fs.FileMode
	ino   uint64
}

// addTree watches dir and every folder under it; a folder the kernel will
// not watch (the inotify limit) is polled instead.
func (t *tree) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // gone meanwhile
		}
		if !d.IsDir() {
			return nil
		}
		if err := t.opts.addWatch(t.w, p); err != nil {
			if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) {
				t.startPolling(p)
				return nil
			}
			return fmt.Errorf("watching %s: %w", p, err)
		}
		t.mu.Lock()
		t.dirs[p] = true
		t.mu.Unlock()
		t.told(p)
		return nil
	})
}

func (t *tree) told(dir string) {
	if t.opts.watching != nil {
		t.opts.watching(t.rel(dir))
	}
}

func (t *tree) startPolling(dir string) {
	t.mu.Lock()
	_, already := t.polled[dir]
	t.polled[dir] = scanDir(dir)
	t.mu.Unlock()
	t.told(dir)
	if !already {
		t.deb.note(fmt.Sprintf("polling %s every %s: the inotify watch limit is reached (raise fs.inotify.max_user_watches)", t.rel(dir), t.opts.Poll))
	}
}

func scanDir(dir string) map[string]stamp {
	out := map[string]stamp{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out[e.Name()] = stamp{size: fi.Size(), mtime: fi.ModTime(), mode: fi.Mode(), ino: inode(fi)}
	}
	return out
}

// polling reports whether any folder is polled.
func (t *tree) polling() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.polled) > 0
}

// pollAll compares each polled folder with its last scan.
func (t *tree) pollAll() {
	t.mu.Lock()
	dirs := make([]string, 0, len(t.polled))
	for d := range t.polled {
		dirs = append(dirs, d)
	}
	t.mu.Unlock()
	for _, dir := range dirs {
		now := scanDir(dir)
		t.mu.Lock()
		before := t.polled[dir]
		t.polled[dir] = now
		t.mu.Unlock()
		for name, s := range now {
			if b, ok := before[name]; !ok || b != s {
				t.deb.add(t.rel(filepath.Join(dir, name)))
			}
		}
		for name := range before {
			if _, ok := now[name]; !ok {
				t.deb.add(t.rel(filepath.Join(dir, name)))
			}
		}
	}
}

func (t *tree) rel(p string) string {
	r, err := filepath.Rel(t.root, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}

func (t *tree) event(ev fsnotify.Event) {
	if ev.Name == "" {
		return
	}
	switch {
	case ev.Has(fsnotify.Create):
		// A folder created or moved in: watch it and what it holds, and
		// report its files (they may have been written before the watch).
		if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
			t.addTree(ev.Name)
			filepath.WalkDir(ev.Name, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					t.deb.add(t.rel(p))
				}
				return nil
			})
		}
	case ev.Has(fsnotify.Rename), ev.Has(fsnotify.Remove):
		// A watched folder moved away keeps its watch under the old name
		// in the kernel: drop it, and compare the whole tree.
		if t.isWatched(ev.Name) {
			t.w.Remove(ev.Name)
			t.deb.rescan(t.rel(ev.Name))
			return
		}
	}
	t.deb.add(t.rel(ev.Name))
}

// isWatched reports whether p is a watched folder, and forgets it and
// the folders under it (it moved away or was removed).
func (t *tree) isWatched(p string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	found := t.dirs[p]
	for d := range t.dirs {
		if d == p || strings.HasPrefix(d, p+string(filepath.Separator)) {
			delete(t.dirs, d)
		}
	}
	for d := range t.polled {
		if d == p || strings.HasPrefix(d, p+string(filepath.Separator)) {
			delete(t.polled, d)
			found = true
		}
	}
	return found
}

// debouncer gathers paths until quiet for Quiet (at most Max after the
// first) and then reports them as one batch.
type debouncer struct {
	clock      Clock
	quiet, max time.Duration
	out        func(Batch)

	mu      sync.Mutex
	outMu   sync.Mutex
	paths   map[string]bool
	rescanB bool
	notes   []string
	first   time.Time
	timer   Timer
	gen     int
	stopped bool
}

func newDebouncer(c Clock, quiet, max time.Duration, out func(Batch)) *debouncer {
	return &debouncer{clock: c, quiet: quiet, max: max, out: out, paths: map[string]bool{}}
}

func (d *debouncer) add(path string) {
	d.touch(func() { d.paths[path] = true })
}

func (d *debouncer) rescan(path string) {
	d.touch(func() {
		d.rescanB = true
		if path != "" {
			d.paths[path] = true
		}
	})
}

func (d *debouncer) note(n string) {
	d.touch(func() { d.notes = append(d.notes, n) })
}

// touch records a change and (re)arms the timer: Quiet from now, but never
// past Max after the first change of the batch.
func (d *debouncer) touch(f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	f()
	now := d.clock.Now()
	if d.timer == nil {
		d.first = now
	} else {
		d.timer.Stop()
	}
	wait := d.quiet
	if left := d.first.Add(d.max).Sub(now); left < wait {
		wait = max(left, 0)
	}
	d.gen++
	gen := d.gen
	d.timer = d.clock.AfterFunc(wait, func() { d.fire(gen) })
}

func (d *debouncer) fire(gen int) {
	d.mu.Lock()
	if d.stopped || gen != d.gen {
		d.mu.Unlock()
		return
	}
	b := Batch{Rescan: d.rescanB, Notes: d.notes}
	for p := range d.paths {
		b.Paths = append(b.Paths, p)
	}
	sort.Strings(b.Paths)
	d.paths, d.rescanB, d.notes, d.timer = map[string]bool{}, false, nil, nil
	d.mu.Unlock()
	d.outMu.Lock()
	defer d.outMu.Unlock()
	d.out(b)
}

func (d *debouncer) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.timer != nil {
		d.timer.Stop()
	}
}
