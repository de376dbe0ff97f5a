package spec

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
)

// yamlFile is one YAML file parsed into nodes, kept to say where things are:
// compose-go reports most problems as a dotted path without a line, and the
// nodes turn that path back into file:line.
type yamlFile struct {
	path string       // absolute
	docs []*yaml.Node // the root node of each document
	err  error        // the parse error, if the file could not be parsed
	// fatal says why the file is refused outright (too large, aliases
	// expanding beyond the budget): nothing reads it further.
	fatal *Error
}

// parseYAMLFile reads and parses path. A read or parse error is kept in the
// result rather than returned: locating is best effort. A file over the
// size or alias budget is marked fatal instead.
func parseYAMLFile(path string) *yamlFile {
	if fi, err := os.Stat(path); err == nil {
		if e := checkSize(displayPath(path), fi.Size()); e != nil {
			return &yamlFile{path: path, err: e, fatal: e}
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return &yamlFile{path: path, err: err}
	}
	f := parseYAML(path, data)
	if e := checkBudget(displayPath(path), f.docs...); e != nil {
		return &yamlFile{path: path, err: e, fatal: e}
	}
	return f
}

func parseYAML(path string, data []byte) *yamlFile {
	f := &yamlFile{path: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.err = err
			break
		}
		if len(doc.Content) > 0 {
			f.docs = append(f.docs, doc.Content[0])
		}
	}
	return f
}

// location is where a path was found in a file.
type location struct {
	line  int        // line of the deepest node reached (0: nothing reached)
	field string     // the path as rendered from what was reached
	depth int        // how many segments resolved
	found bool       // every segment resolved
	key   *yaml.Node // key node of the last resolved mapping entry, if any
	node  *yaml.Node // value node reached
}

// locate follows path (mapping keys, sequence indexes, or sequence items
// given by their scalar value) from the document roots and reports how far it
// got. With several documents, the first complete match wins, else the
// deepest partial one.
func (f *yamlFile) locate(path []string) location {
	var best location
	if f == nil {
		return best
	}
	for _, root := range f.docs {
		loc := locateFrom(root, path)
		if loc.found {
			return loc
		}
		if loc.depth > best.depth || best.line == 0 {
			best = loc
		}
	}
	return best
}

func locateFrom(root *yaml.Node, path []string) location {
	n := deref(root)
	loc := location{line: n.Line, node: n}
	for _, seg := range path {
		key, val, rendered, ok := child(n, seg)
		if !ok {
			return loc
		}
		loc.depth++
		loc.field = joinField(loc.field, rendered)
		if key != nil {
			loc.line = key.Line
			loc.key = key
		} else {
			loc.line = val.Line
			loc.key = nil
		}
		n = deref(val)
		loc.node = n
	}
	loc.found = true
	return loc
}

// child finds seg under n. For a mapping seg is a key (merge keys "<<" are
// followed); for a sequence it is an index or the scalar value of an item.
func child(n *yaml.Node, seg string) (key, val *yaml.Node, rendered string, ok bool) {
	n = deref(n)
	if n == nil {
		return nil, nil, "", false
	}
	switch n.Kind {
	case yaml.MappingNode:
		k, v := mappingValue(n, seg, 0)
		if v == nil {
			return nil, nil, "", false
		}
		return k, v, seg, true
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(seg); err == nil {
			if i < 0 || i >= len(n.Content) {
				return nil, nil, "", false
			}
			return nil, n.Content[i], "[" + seg + "]", true
		}
		for _, item := range n.Content {
			item := deref(item)
			if item.Kind == yaml.ScalarNode && item.Value == seg {
				return nil, item, seg, true
			}
		}
	}
	return nil, nil, "", false
}

// mappingValue returns the key and value nodes of key in the mapping m,
// looking through merge keys ("<<: *base") when m does not hold it itself.
func mappingValue(m *yaml.Node, key string, depth int) (*yaml.Node, *yaml.Node) {
	if depth > 16 {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i].Tag != "!!merge" {
			return m.Content[i], m.Content[i+1]
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Tag != "!!merge" {
			continue
		}
		src := deref(m.Content[i+1])
		var srcs []*yaml.Node
		switch src.Kind {
		case yaml.MappingNode:
			srcs = []*yaml.Node{src}
		case yaml.SequenceNode:
			for _, s := range src.Content {
				srcs = append(srcs, deref(s))
			}
		}
		for _, s := range srcs {
			if s.Kind != yaml.MappingNode {
				continue
			}
			if k, v := mappingValue(s, key, depth+1); v != nil {
				return k, v
			}
		}
	}
	return nil, nil
}

// mappingPairs returns the entries of a mapping, merged entries included
// (own keys first, so they shadow merged ones), each with its key node.
func mappingPairs(m *yaml.Node) [][2]*yaml.Node {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	var add func(m *yaml.Node, depth int)
	add = func(m *yaml.Node, depth int) {
		if depth > 16 {
			return
		}
		var merges []*yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if k.Tag == "!!merge" {
				merges = append(merges, v)
				continue
			}
			if seen[k.Value] {
				continue
			}
			seen[k.Value] = true
			out = append(out, [2]*yaml.Node{k, v})
		}
		for _, v := range merges {
			v = deref(v)
			switch v.Kind {
			case yaml.MappingNode:
				add(v, depth+1)
			case yaml.SequenceNode:
				for _, s := range v.Content {
					if s = deref(s); s.Kind == yaml.MappingNode {
						add(s, depth+1)
					}
				}
			}
		}
	}
	add(m, 0)
	return out
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return deref(n.Content[0])
	}
	return n
}

func joinField(field, seg string) string {
	if field == "" {
		return strings.TrimPrefix(seg, ".")
	}
	if strings.HasPrefix(seg, "[") {
		return field + seg
	}
	return field + "." + seg
}

// renderField renders path segments as a field: numbers become indexes.
func renderField(path []string) string {
	var field string
	for _, seg := range path {
		if _, err := strconv.Atoi(seg); err == nil {
			field = joinField(field, "["+seg+"]")
		} else {
			field = joinField(field, seg)
		}
	}
	return field
}

// locateAll expands wildcard segments ("*" any key, "[]" any item) and
// returns every complete match under the document roots.
func (f *yamlFile) locateAll(path []string) []location {
	if f == nil {
		return nil
	}
	var out []location
	for _, root := range f.docs {
		n := deref(root)
		expand(n, path, location{line: n.Line, node: n}, &out)
	}
	return out
}

func expand(n *yaml.Node, path []string, loc location, out *[]location) {
	if len(path) == 0 {
		loc.found = true
		*out = append(*out, loc)
		return
	}
	seg := path[0]
	n = deref(n)
	if n == nil {
		return
	}
	switch {
	case seg == "*" && n.Kind == yaml.MappingNode:
		for _, kv := range mappingPairs(n) {
			next := loc
			next.depth++
			next.field = joinField(loc.field, kv[0].Value)
			next.line, next.key, next.node = kv[0].Line, kv[0], deref(kv[1])
			expand(kv[1], path[1:], next, out)
		}
	case seg == "[]" && n.Kind == yaml.SequenceNode:
		for i, item := range n.Content {
			next := loc
			next.depth++
			next.field = joinField(loc.field, "["+strconv.Itoa(i)+"]")
			next.line, next.key, next.node = item.Line, nil, deref(item)
			expand(item, path[1:], next, out)
		}
	default:
		key, val, rendered, ok := child(n, seg)
		if !ok {
			return
		}
		next := loc
		next.depth++
		next.field = joinField(loc.field, rendered)
		next.node = deref(val)
		if key != nil {
			next.line, next.key = key.Line, key
		} else {
			next.line, next.key = val.Line, nil
		}
		expand(val, path[1:], next, out)
	}
}

// displayPath shows path relative to the current directory when it lies
// inside it, else absolute.
func displayPath(path string) string {
	if path == "" {
		return path
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	wd, err := os.Getwd()
	if err != nil {
		return abs
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return abs
	}
	return rel
}

// syntaxError locates a YAML syntax error in data. yaml.v3 reports the
// line of the enclosing block for many parser errors, so the text is read
// again with go.yaml.in/yaml/v4 (the parser compose-go uses), whose errors
// carry the problem's own mark.
func syntaxError(data []byte, v3err error) (int, string) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		if line, msg := v4ErrorLine(err); line > 0 {
			return min(line, yamlLines(data)), msg
		}
	}
	line, msg := yamlErrorLine(v3err.Error())
	return min(line, yamlLines(data)), msg
}

// yamlLines is how many lines a YAML reader sees in data: \n, \r\n and a
// lone \r each end one. The parsers report an error at the end of the
// stream on the line after the last; the error names the last instead.
func yamlLines(data []byte) int {
	n := 1
	for i, c := range data {
		if c == '\n' || (c == '\r' && (i+1 == len(data) || data[i+1] != '\n')) {
			n++
		}
	}
	return n
}

// v4ErrorLine returns the line and message of a go.yaml.in/yaml/v4 error.
// Its parser errors (unlike its scanner errors) print a 0-based line in
// v4.0.0-rc.4; TestComposeErrors pins the correction.
func v4ErrorLine(err error) (int, string) {
	line, msg := yamlErrorLine(err.Error())
	if line > 0 && reflect.TypeOf(err).String() == "libyaml.ParserError" {
		line++
	}
	return line, msg
}
