package gitsrc

import (
	"bytes"
	"errors"
	"os"

	"strings"

	"github.com/go-git/go-billy/v5"
)

// maxMemPack is the largest packfile read into memory whole.
const maxMemPack = 128 << 20

// memPackFS serves packfiles (objects/pack/*.pack, opened read-only) from
// memory: go-git seeks and reads the packfile once or more per object, and
// served from the disk that is two or more system calls each, most of the
// time of a Log. Pack files are never changed in place (Git writes new
// ones), so a copy read at open stays true. Larger packs and every other
// file go to the disk.
type memPackFS struct {
	billy.Filesystem
}

func (fs memPackFS) Open(name string) (billy.File, error) {
	if !strings.HasSuffix(name, ".pack") {
		return fs.Filesystem.Open(name)
	}
	f, err := fs.Filesystem.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := fs.Filesystem.Stat(name)
	if err != nil || fi.Size() > maxMemPack {
		return fs.Filesystem.Open(name)
	}
	buf := bytes.NewBuffer(make([]byte, 0, fi.Size()+bytes.MinRead))
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, err
	}
	return &memFile{name: f.Name(), Reader: bytes.NewReader(buf.Bytes())}, nil
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
