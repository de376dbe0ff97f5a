package spec

import (
	"strings"
	"sync"

	"go.yaml.in/yaml/v4"
)

// sources are the Compose files of a definition, parsed for positions.
type sources struct {
	dir   string
	files []*yamlFile
}

// parseSources parses each file once (in parallel with compose-go's own
// load, see load.go).
func parseSources(dir string, paths []string) *sources {
	s := &sources{dir: dir, files: make([]*yamlFile, len(paths))}
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.files[i] = parseYAMLFile(p)
		}()
	}
	wg.Wait()
	return s
}

func (f *yamlFile) display() string {
	if f == nil {
		return ""
	}
	return displayPath(f.path)
}

// file returns the parsed file with the given absolute path, or nil.
func (s *sources) file(path string) *yamlFile {
	for _, f := range s.files {
		if f.path == path {
			return f
		}
	}
	return nil
}

// locate finds path in the files: the first file holding all of it, else
// the file reaching deepest (the first one on ties).
func (s *sources) locate(path ...string) (*yamlFile, location) {
	return s.locateIn(nil, path)
}

// locateIn is locate trying the preferred file first.
func (s *sources) locateIn(preferred *yamlFile, path []string) (*yamlFile, location) {
	var bestF *yamlFile
	var best location
	try := func(f *yamlFile) bool {
		loc := f.locate(path)
		if loc.found {
			bestF, best = f, loc
			return true
		}
		if bestF == nil || loc.depth > best.depth {
			bestF, best = f, loc
		}
		return false
	}
	if preferred != nil && try(preferred) {
		return bestF, best
	}
	for _, f := range s.files {
		if f != preferred && try(f) {
			return bestF, best
		}
	}
	if best.depth == 0 {
		best.line = 0 // nothing of the path is in any file
	}
	return bestF, best
}

func (s *sources) has(path ...string) bool {
	_, loc := s.locate(path...)
	return loc.found
}

// errorAt builds an error for path: the line of the path (or of its nearest
// ancestor in a file) and the path as field.
func (s *sources) errorAt(path []string, msg string, err error) *Error {
	return s.errorIn(nil, path, msg, err)
}

func (s *sources) errorIn(preferred *yamlFile, path []string, msg string, err error) *Error {
	f, loc := s.locateIn(preferred, path)
	field := loc.field
	if !loc.found {
		field = renderField(path)
	}
	if f == nil && len(s.files) > 0 {
		f = s.files[0]
	}
	return &Error{File: f.display(), Line: loc.line, Field: field, Message: msg, Err: err}
}

// splitDotted splits a dotted path as compose-go prints it. Keys may hold
// dots themselves (a service "api.v2"), so segments are rejoined where the
// files say so.
func (s *sources) splitDotted(p string) []string {
	if p == "" {
		return nil
	}
	parts := strings.Split(p, ".")
	for _, f := range s.files {
		for _, root := range f.docs {
			if segs, ok := joinAgainst(deref(root), parts); ok {
				return segs
			}
		}
	}
	return parts
}

func joinAgainst(n *yaml.Node, parts []string) ([]string, bool) {
	if len(parts) == 0 {
		return nil, true
	}
	for k := len(parts); k >= 1; k-- {
		seg := strings.Join(parts[:k], ".")
		if _, val, _, ok := child(n, seg); ok {
			if rest, ok := joinAgainst(deref(val), parts[k:]); ok {
				return append([]string{seg}, rest...), true
			}
		}
	}
	return nil, false
}
