package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrOutside is what an Error Is when a definition names a file that it
// may never read, granted or not: a file of Berth's own data folder, or a
// Compose file or manifest part outside its folder.
var ErrOutside = errors.New("outside the definition's folder")

// fence decides which files a definition's load may read or mount. Files
// inside the definition's folder (symlinks evaluated) are its own;
// anything else is read only when the user granted that path, and never
// when it lies in a forbidden folder (Berth's data). What was needed and
// not granted is kept (blocked) so that the load can say so and stop
// short of reading it.
type fence struct {
	dir     string // the definition's folder, symlinks evaluated
	granted map[string]bool
	forbid  []string
	blocked []string // display paths, sorted at the end
}

func newFence(dir string, granted, forbid []string) *fence {
	f := &fence{dir: evalExisting(dir), granted: map[string]bool{}}
	for _, g := range granted {
		f.granted[filepath.Clean(g)] = true
		f.granted[evalExisting(g)] = true
	}
	for _, d := range forbid {
		if d != "" {
			f.forbid = append(f.forbid, evalExisting(d))
		}
	}
	return f
}

// inside says whether path (symlinks evaluated) lies in the definition's
// folder, and returns the evaluated path.
func (f *fence) inside(path string) (bool, string) {
	real := evalExisting(path)
	return within(f.dir, real), real
}

// within says whether path is dir or lies under it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// forbidden says whether path lies in a folder no definition may touch.
func (f *fence) forbidden(real string) bool {
	for _, d := range f.forbid {
		if within(d, real) {
			return true
		}
	}
	return false
}

// may says whether the load may read (or mount) path: inside the folder,
// or granted. A path it may not read is recorded as blocked. A forbidden
// path is an error.
func (f *fence) may(path string) (bool, error) {
	in, real := f.inside(path)
	if in {
		return true, nil
	}
	if f.forbidden(real) {
		return false, fmt.Errorf("%s is in Berth's own data folder: %w", path, ErrOutside)
	}
	if f.granted[filepath.Clean(path)] || f.granted[real] {
		return true, nil
	}
	f.block(path)
	return false, nil
}

func (f *fence) block(path string) {
	for _, b := range f.blocked {
		if b == path {
			return
		}
	}
	f.blocked = append(f.blocked, path)
	sort.Strings(f.blocked)
}

// own checks a file that must be the definition's own (a Compose file the
// manifest names, its .env): inside the folder once symlinks are
// evaluated. A missing file is fine here (its reader says so).
func (f *fence) own(path, what string) *Error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	in, real := f.inside(path)
	if in {
		return nil
	}
	return &Error{File: displayPath(path), Err: ErrOutside,
		Message: fmt.Sprintf("this %s leads to %s, outside the definition's folder (a symlink?): a definition's own files must be inside it", what, real)}
}

// rel is path relative to the definition's folder when inside it, else
// the path itself (absolute).
func (f *fence) rel(path string) string {
	if in, real := f.inside(path); in {
		if r, err := filepath.Rel(f.dir, real); err == nil {
			return filepath.ToSlash(r)
		}
	}
	return path
}

// evalExisting evaluates the symlinks of the longest part of path that
// exists and appends the rest (a file not made yet is judged by the folder
// it would be made in). A dangling symlink is judged by where it points:
// whatever is made there later (a bind source the engine creates) is made
// at its target.
func evalExisting(path string) string {
	return evalDepth(path, 0)
}

func evalDepth(path string, depth int) string {
	rest := ""
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(real, rest)
		}
		if fi, err := os.Lstat(p); err == nil {
			if fi.Mode()&fs.ModeSymlink != 0 && depth < 40 {
				if t, err := os.Readlink(p); err == nil {
					if !filepath.IsAbs(t) {
						t = filepath.Join(filepath.Dir(p), t)
					}
					return filepath.Join(evalDepth(t, depth+1), rest)
				}
			}
			return filepath.Join(p, rest)
		}
		if filepath.Dir(p) == p {
			return filepath.Clean(path)
		}
		rest = filepath.Join(filepath.Base(p), rest)
	}
}
