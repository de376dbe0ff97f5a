package gitsrc

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sync"

	"strings"

	"github.com/go-git/go-billy/v5"
)

// maxMemPack is the largest packfile read into memory whole.
const maxMemPack = 128 << 20

// memPackFS serves packfiles and their indexes (objects/pack/*.pack and
// *.idx, opened read-only) from memory: go-git seeks and reads the packfile
// once or more per object, and reads an index in small pieces; served from
// the disk that is a system call or more each, most of the time of a Log.
// Pack files are never changed in place (Git writes new ones), so a copy
// read at open stays true. Larger packs and every other file go to the
// disk.
type memPackFS struct {
	billy.Filesystem
	shared *packCache
}

// maxCachedPacks bounds the bytes one Repo keeps in memory across its
// packfiles and indexes: fetches over a long session add packs (and a
// repack replaces them), and a file no longer opened should not stay in
// memory for the life of the app. The least recently opened go first.
const maxCachedPacks = 256 << 20

// packCache shares the files read between the storages of one Repo.
type packCache struct {
	mu    sync.Mutex
	files map[string]*cachedPack
	bytes int64
	clock uint64
	// limit is maxCachedPacks outside tests.
	limit int64
}

type cachedPack struct {
	data []byte
	used uint64
}

// get returns a cached file and marks it used; callers hold c.mu.
func (c *packCache) get(name string) ([]byte, bool) {
	p, ok := c.files[name]
	if !ok {
		return nil, false
	}
	c.clock++
	p.used = c.clock
	return p.data, true
}

// put caches a file, evicting the least recently used ones until the
// total fits; callers hold c.mu.
func (c *packCache) put(name string, b []byte) {
	limit := c.limit
	if limit == 0 {
		limit = maxCachedPacks
	}
	if int64(len(b)) > limit {
		return
	}
	if c.files == nil {
		c.files = map[string]*cachedPack{}
	}
	for c.bytes+int64(len(b)) > limit && len(c.files) > 0 {
		oldest, at := "", uint64(0)
		for n, p := range c.files {
			if oldest == "" || p.used < at {
				oldest, at = n, p.used
			}
		}
		c.bytes -= int64(len(c.files[oldest].data))
		delete(c.files, oldest)
	}
	c.clock++
	c.files[name] = &cachedPack{data: b, used: c.clock}
	c.bytes += int64(len(b))
}

func (fs memPackFS) Open(name string) (billy.File, error) {
	if !strings.HasSuffix(name, ".pack") && !strings.HasSuffix(name, ".idx") {
		return fs.Filesystem.Open(name)
	}
	fs.shared.mu.Lock()
	defer fs.shared.mu.Unlock()
	if b, ok := fs.shared.get(name); ok {
		return &memFile{name: name, Reader: bytes.NewReader(b)}, nil
	}
	f, err := fs.Filesystem.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := fs.Filesystem.Stat(name)
	if err != nil || fi.Size() > maxMemPack {
		return f, nil
	}
	defer f.Close()
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	fs.shared.put(name, b)
	return &memFile{name: name, Reader: bytes.NewReader(b)}, nil
}

// memFile is a read-only billy.File over bytes.
type memFile struct {
	name string
	*bytes.Reader
}

var errReadOnly = errors.New("read-only in-memory packfile")

func (f *memFile) Name() string              { return f.name }
func (f *memFile) Write([]byte) (int, error) { return 0, errReadOnly }
func (f *memFile) Close() error              { return nil }
func (f *memFile) Lock() error               { return nil }
func (f *memFile) Unlock() error             { return nil }
func (f *memFile) Truncate(int64) error      { return errReadOnly }

// Chmod keeps the capability of the file system underneath (go-git makes
// the packfiles it writes read-only through it).
func (fs memPackFS) Chmod(name string, mode os.FileMode) error {
	if c, ok := fs.Filesystem.(billy.Chmod); ok {
		return c.Chmod(name, mode)
	}
	return nil
}
