package watch

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// fakeClock fires timers when advanced.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (t *fakeTimer) Stop() bool { was := !t.stopped; t.stopped = true; return was }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.now) {
			t.stopped = true
			due = append(due, t)
		}
	}
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

func TestDebounce(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	var got []Batch
	d := newDebouncer(clock, 150*time.Millisecond, time.Second, func(b Batch) { got = append(got, b) })

	// Quiet: one batch 150 ms after the last event.
	d.add("a")
	clock.advance(100 * time.Millisecond)
	d.add("b")
	clock.advance(100 * time.Millisecond)
	if len(got) != 0 {
		t.Fatalf("reported before quiet: %v", got)
	}
	clock.advance(50 * time.Millisecond)
	if len(got) != 1 || !slices.Equal(got[0].Paths, []string{"a", "b"}) {
		t.Fatalf("after quiet: %+v", got)
	}

	// Never quiet: reported at Max all the same.
	for i := 0; i < 20; i++ {
		d.add("busy")
		clock.advance(100 * time.Millisecond)
	}
	if len(got) < 2 || got[1].Paths[0] != "busy" {
		t.Fatalf("a busy tree was held past Max: %+v", got)
	}
	if n := len(got); n > 3 {
		t.Fatalf("%d batches in 2 s of constant events with Max 1 s", n)
	}

	// Rescan and notes travel with the batch.
	clock.advance(time.Second)
	before := len(got)
	d.rescan("dir")
	d.note("polling x")
	clock.advance(150 * time.Millisecond)
	if b := got[before]; !b.Rescan || b.Notes[0] != "polling x" || b.Paths[0] != "dir" {
		t.Fatalf("rescan batch: %+v", b)
	}
}

// collect runs Tree on dir and gathers batches, and the folders watched.
type collect struct {
	mu      sync.Mutex
	all     []Batch
	notes   []string
	watched map[string]int // folder → times watched or first polled
	changed chan struct{}  // closed and replaced at each new folder
}

func (c *collect) watching(rel string) {
	c.mu.Lock()
	c.watched[rel]++
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// waitWatched waits until folder rel has been watched n times in all (a
// folder moved back in is watched anew).
func (c *collect) waitWatched(t *testing.T, rel string, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		got, changed := c.watched[rel], c.changed
		c.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("folder %s never watched (%d times of %d)", rel, got, n)
		}
	}
}

func (c *collect) add(b Batch) {
	c.mu.Lock()
	c.all = append(c.all, b)
	c.notes = append(c.notes, b.Notes...)
	c.mu.Unlock()
}

// wait waits until a batch names path (or asks for a rescan when path is
// "rescan") and returns it.
func (c *collect) wait(t *testing.T, path string) Batch {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for i, b := range c.all {
			if (path == "rescan" && b.Rescan) || slices.Contains(b.Paths, path) {
				c.all = c.all[i+1:]
				c.mu.Unlock()
				return b
			}
		}
		c.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t.Fatalf("no batch with %s; got %+v", path, c.all)
	return Batch{}
}

func start(t *testing.T, dir string, opts Options) *collect {
	c := &collect{watched: map[string]int{}, changed: make(chan struct{})}
	opts.watching = c.watching
	var folders []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			folders = append(folders, filepath.ToSlash(rel))
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Tree(ctx, dir, opts, c.add) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	for _, f := range folders {
		c.waitWatched(t, f, 1)
	}
	return c
}

func TestTreeFileChanges(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "conf"), 0o755)
	conf := filepath.Join(dir, "conf", "app.conf")
	os.WriteFile(conf, []byte("a=1\n"), 0o644)
	c := start(t, dir, Options{Quiet: 30 * time.Millisecond})

	os.WriteFile(conf, []byte("a=2\n"), 0o644)
	c.wait(t, "conf/app.conf")

	// Replaced by rename, as editors save.
	os.WriteFile(filepath.Join(dir, "conf", ".app.conf.swp"), []byte("a=3\n"), 0o644)
	os.Rename(filepath.Join(dir, "conf", ".app.conf.swp"), conf)
	c.wait(t, "conf/app.conf")

	// Deleted and recreated.
	os.Remove(conf)
	os.WriteFile(conf, []byte("a=4\n"), 0o644)
	c.wait(t, "conf/app.conf")

	// A folder created, then a file in it.
	os.MkdirAll(filepath.Join(dir, "seeds", "sub"), 0o755)
	c.waitWatched(t, "seeds/sub", 1)
	os.WriteFile(filepath.Join(dir, "seeds", "sub", "x.sql"), []byte("select 1;\n"), 0o644)
	c.wait(t, "seeds/sub/x.sql")

	// A folder moved away: rescan; moved back in: its files reported, and
	// it is watched again.
	os.Rename(filepath.Join(dir, "seeds"), filepath.Join(t.TempDir(), "gone"))
	c.wait(t, "rescan")
	other := t.TempDir()
	os.MkdirAll(filepath.Join(other, "more"), 0o755)
	os.WriteFile(filepath.Join(other, "more", "y.sql"), []byte("y"), 0o644)
	os.Rename(filepath.Join(other, "more"), filepath.Join(dir, "more"))
	c.wait(t, "more/y.sql")
	c.waitWatched(t, "more", 1)
	os.WriteFile(filepath.Join(dir, "more", "y.sql"), []byte("y2"), 0o644)
	c.wait(t, "more/y.sql")
}

func TestTreePollsWhenTheWatchLimitIsReached(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "big"), 0o755)
	os.WriteFile(filepath.Join(dir, "big", "f"), []byte("1"), 0o644)
	opts := Options{Quiet: 20 * time.Millisecond, Poll: 50 * time.Millisecond,
		addWatch: func(w *fsnotify.Watcher, p string) error {
			if filepath.Base(p) == "big" {
				return syscall.ENOSPC
			}
			return w.Add(p)
		}}
	c := start(t, dir, opts) // big's first scan taken
	os.WriteFile(filepath.Join(dir, "big", "f"), []byte("22"), 0o644)
	c.wait(t, "big/f")
	c.mu.Lock()
	notes := strings.Join(c.notes, "\n")
	c.mu.Unlock()
	if !strings.Contains(notes, "polling big") || !strings.Contains(notes, "inotify watch limit") {
		t.Fatalf("no polling note: %q", notes)
	}
}
