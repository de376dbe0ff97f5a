package spec

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/template"
	"go.yaml.in/yaml/v4"
)

// varRefs adds to out the names of the variables s interpolates, as
// Compose reads them: ${NAME}, ${NAME:-default} (and the other forms,
// whose defaults may name more) and $NAME; $$ is a literal dollar.
func varRefs(s string, out map[string]bool) {
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if i+1 >= len(s) {
			return
		}
		switch c := s[i+1]; {
		case c == '$':
			i++ // escaped
		case c == '{':
			j := i + 2
			for j < len(s) && isVarChar(s[j], j == i+2) {
				j++
			}
			if j > i+2 {
				out[s[i+2:j]] = true
			}
			i = j - 1 // the default, if any, is scanned as it comes
		case isVarChar(c, true):
			j := i + 1
			for j < len(s) && isVarChar(s[j], false) {
				j++
			}
			out[s[i+1:j]] = true
			i = j - 1
		}
	}
}

func isVarChar(c byte, first bool) bool {
	switch {
	case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return true
	case c >= '0' && c <= '9':
		return !first
	}
	return false
}

// nodeVars adds the variables interpolated by the scalar values under n
// (keys are not interpolated). Aliases are not followed: what they stand
// for is scanned where its anchor is.
func nodeVars(n *yaml.Node, out map[string]bool) {
	if n == nil {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		varRefs(n.Value, out)
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			nodeVars(n.Content[i+1], out)
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			nodeVars(c, out)
		}
	}
}

// envFileVars adds the variables an env file reads from the environment:
// what its values interpolate, and a line holding a name alone (its value
// comes from the environment).
func envFileVars(p string, out map[string]bool) {
	fi, err := os.Stat(p)
	if err != nil || fi.Size() > maxDefinitionFile || !fi.Mode().IsRegular() {
		return
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), maxDefinitionFile)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimSpace(strings.TrimPrefix(line, "export "))
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			if k, _, _ = strings.Cut(k, ":"); validVarName(strings.TrimSpace(k)) {
				out[strings.TrimSpace(k)] = true
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(v), "'") {
			continue // single quotes: taken literally
		}
		varRefs(v, out)
	}
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isVarChar(s[i], i == 0) {
			return false
		}
	}
	return true
}

// reservedVar says whether a variable is one of Berth's own or steers the
// Compose loader itself: never read from the user's environment for a
// definition, granted or not.
func reservedVar(name string) bool {
	u := strings.ToUpper(name)
	return strings.HasPrefix(u, "BERTH_") || strings.HasPrefix(u, "COMPOSE_")
}

// fileRef is a Compose file another one names through include or extends.
type fileRef struct {
	path  string // absolute, as named (not symlink-evaluated)
	how   string // "include", "extends", "include env_file"
	from  string // display path of the naming file
	line  int
	field string
}

// refScan walks include and extends, and the variables everything it may
// read interpolates, before compose-go reads any of those files.
type refScan struct {
	f       *fence
	env     map[string]string
	vars    map[string]bool
	refs    []fileRef
	visited map[string]bool
	// parsed are the included and extended files read, checked for keys
	// Berth does not support like the definition's own: the whole of an
	// included file, the extended services of a file only extended.
	parsed   []*yamlFile
	included map[string]bool            // path → read through include
	extended map[string]map[string]bool // path → the services extended in it
	err      error                      // a refusal (forbidden, over budget)
}

// interpolate substitutes variables in a path the way compose-go will,
// from env only; a value it cannot substitute is used as written.
func (r *refScan) interpolate(s string) string {
	out, err := template.Substitute(s, func(k string) (string, bool) {
		v, ok := r.env[k]
		return v, ok
	})
	if err != nil {
		return s
	}
	return out
}

// file scans a parsed Compose file: its variables, its include entries
// (relative to base, the working folder of its model) and its services'
// extends files. depth bounds nesting.
func (r *refScan) file(yf *yamlFile, base string, depth int, includes bool) {
	if yf == nil || r.err != nil {
		return
	}
	for _, doc := range yf.docs {
		nodeVars(doc, r.vars)
		root := deref(doc)
		if root == nil || root.Kind != yaml.MappingNode {
			continue
		}
		if includes {
			if _, inc, _, ok := child(root, "include"); ok {
				r.includes(yf, deref(inc), base, depth)
			}
		}
		if _, svcs, _, ok := child(root, "services"); ok {
			for _, kv := range mappingPairs(svcs) {
				ext := deref(kv[1])
				if ext == nil || ext.Kind != yaml.MappingNode {
					continue
				}
				if _, e, _, ok := child(ext, "extends"); ok {
					if _, fn, _, ok := child(e, "file"); ok && deref(fn).Kind == yaml.ScalarNode {
						p := r.interpolate(deref(fn).Value)
						svc := ""
						if _, sn, _, ok := child(e, "service"); ok && deref(sn).Kind == yaml.ScalarNode {
							svc = r.interpolate(deref(sn).Value)
						}
						r.ref(yf, fileRef{how: "extends", from: yf.display(), line: deref(fn).Line, field: "services." + kv[0].Value + ".extends.file"}, p, base, depth, svc)
					}
				}
			}
		}
	}
}

func (r *refScan) includes(yf *yamlFile, inc *yaml.Node, base string, depth int) {
	if inc == nil || inc.Kind != yaml.SequenceNode {
		return
	}
	for i, item := range inc.Content {
		item = deref(item)
		field := fmt.Sprintf("include[%d]", i)
		var paths, envFiles []*yaml.Node
		projectDir := ""
		switch item.Kind {
		case yaml.ScalarNode:
			paths = []*yaml.Node{item}
		case yaml.MappingNode:
			if _, p, _, ok := child(item, "path"); ok {
				paths = scalars(p)
			}
			if _, e, _, ok := child(item, "env_file"); ok {
				envFiles = scalars(e)
			}
			if _, d, _, ok := child(item, "project_directory"); ok && deref(d).Kind == yaml.ScalarNode {
				projectDir = r.interpolate(deref(d).Value)
			}
		}
		for _, e := range envFiles {
			p := r.interpolate(e.Value)
			for _, cand := range candidates(p, base, filepath.Dir(yf.path)) {
				r.check(fileRef{path: cand, how: "include env_file", from: yf.display(), line: e.Line, field: field + ".env_file"}, func(p string) { envFileVars(p, r.vars) })
			}
		}
		for j, pn := range paths {
			p := r.interpolate(pn.Value)
			nestedBase := projectDir
			if nestedBase != "" && !filepath.IsAbs(nestedBase) {
				nestedBase = filepath.Join(base, nestedBase)
			}
			for _, cand := range candidates(p, base, filepath.Dir(yf.path)) {
				nb := nestedBase
				if nb == "" || j > 0 {
					nb = filepath.Dir(cand)
				}
				if r.included == nil {
					r.included = map[string]bool{}
				}
				r.included[cand] = true
				r.check(fileRef{path: cand, how: "include", from: yf.display(), line: pn.Line, field: field}, func(p string) {
					if depth < 10 {
						r.file(r.parse(p), nb, depth+1, true)
					}
				})
			}
		}
	}
}

// ref checks the file an extends names, and scans it when it may be read.
func (r *refScan) ref(yf *yamlFile, ref fileRef, p, base string, depth int, service string) {
	for _, cand := range candidates(p, base, filepath.Dir(yf.path)) {
		ref.path = cand
		if r.extended == nil {
			r.extended = map[string]map[string]bool{}
		}
		if r.extended[cand] == nil {
			r.extended[cand] = map[string]bool{}
		}
		r.extended[cand][service] = true
		r.check(ref, func(p string) {
			if depth < 10 {
				// An extended file's own extends resolve against its folder;
				// compose-go skips include there.
				r.file(r.parse(p), filepath.Dir(p), depth+1, false)
			}
		})
	}
}

// check records ref and, when the fence lets it be read, calls read once
// per file.
func (r *refScan) check(ref fileRef, read func(string)) {
	if r.err != nil {
		return
	}
	ok, err := r.f.may(ref.path)
	if err != nil {
		r.err = &Error{File: ref.from, Line: ref.line, Field: ref.field, Message: err.Error(), Err: err}
		return
	}
	r.refs = append(r.refs, ref)
	if !ok || r.visited[ref.path] {
		return
	}
	r.visited[ref.path] = true
	read(ref.path)
}

// checkedKeys is what the keys check reports of a file include or
// extends read: all of an included file; of a file only extended, what is
// under the services extended from it (the rest of it is not loaded).
func (r *refScan) checkedKeys(f *yamlFile) []Warning {
	ws := unsupportedKeys(f)
	if r.included[f.path] {
		return ws
	}
	var out []Warning
	for _, w := range ws {
		for svc := range r.extended[f.path] {
			if rest, ok := strings.CutPrefix(w.Field, "services."+svc); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
				out = append(out, w)
				break
			}
		}
	}
	return out
}

func (r *refScan) parse(p string) *yamlFile {
	yf := parseYAMLFile(p)
	if yf.fatal != nil && r.err == nil {
		r.err = yf.fatal
	}
	r.parsed = append(r.parsed, yf)
	return yf
}

// candidates are the absolute paths a relative path may stand for: Berth
// checks each folder compose-go could resolve it against, so that no
// reading of it escapes the check.
func candidates(p string, bases ...string) []string {
	if p == "" {
		return nil
	}
	if filepath.IsAbs(p) {
		return []string{filepath.Clean(p)}
	}
	var out []string
	for _, b := range bases {
		c := filepath.Join(b, p)
		if !containsString(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// scalars are the scalar values of a scalar or a sequence of them.
func scalars(n *yaml.Node) []*yaml.Node {
	n = deref(n)
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.ScalarNode:
		return []*yaml.Node{n}
	case n.Kind == yaml.SequenceNode:
		var out []*yaml.Node
		for _, c := range n.Content {
			if c = deref(c); c.Kind == yaml.ScalarNode {
				out = append(out, c)
			}
		}
		return out
	}
	return nil
}

// includeCapabilities adds the files include and extends read.
func (cc *capCollector) includeCapabilities(f *fence, refs []fileRef) {
	for _, ref := range refs {
		in, _ := f.inside(ref.path)
		subj := f.rel(ref.path)
		text := fmt.Sprintf("reads the Compose file %s (%s)", subj, ref.how)
		kind := CapInclude
		if ref.how == "include env_file" {
			kind = CapEnvFile
			text = fmt.Sprintf("reads the env file %s for an included project", subj)
		}
		if !in {
			text += ", outside the definition's folder"
		}
		cc.add(Capability{Kind: kind, Subject: subj, Outside: !in, Text: text, File: ref.from, Line: ref.line, Field: ref.field}, "")
	}
}

// sortedVars lists a variable set.
func sortedVars(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// interpolatedKeys are the environment variables of s whose values come
// from interpolation or the user's environment: in the Compose files a
// value holding "$" or none at all (taken by name), in its env files a
// value interpolating or a name alone, and any value equal to one of the
// granted variables of the user's environment (from wherever it came).
func interpolatedKeys(src *sources, s Service, envFiles []string, hostEnv map[string]string) []string {
	keys := map[string]bool{}
	for _, f := range src.files {
		loc := f.locate([]string{"services", s.Name, "environment"})
		var n *yaml.Node
		if loc.found {
			n = loc.node
		}
		switch {
		case n == nil:
		case n.Kind == yaml.MappingNode:
			for _, kv := range mappingPairs(n) {
				v := deref(kv[1])
				if v == nil || v.Kind != yaml.ScalarNode || v.Tag == "!!null" || strings.Contains(v.Value, "$") {
					keys[kv[0].Value] = true
				}
			}
		case n.Kind == yaml.SequenceNode:
			for _, item := range n.Content {
				item = deref(item)
				if item == nil || item.Kind != yaml.ScalarNode {
					continue
				}
				k, v, ok := strings.Cut(item.Value, "=")
				if !ok || strings.Contains(v, "$") {
					keys[k] = true
				}
			}
		}
	}
	for _, p := range envFiles {
		vars := map[string]bool{}
		envFileKeys(p, vars)
		for k := range vars {
			keys[k] = true
		}
	}
	for k, v := range s.Environment {
		if len(v) < 4 {
			continue
		}
		for _, hv := range hostEnv {
			if hv == v {
				keys[k] = true
				break
			}
		}
	}
	out := make([]string, 0, len(keys))
	for k := range keys {
		if _, ok := s.Environment[k]; ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// envFileKeys adds the keys of an env file whose values interpolate or
// come from the environment by name.
func envFileKeys(p string, out map[string]bool) {
	fi, err := os.Stat(p)
	if err != nil || fi.Size() > maxDefinitionFile || !fi.Mode().IsRegular() {
		return
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "export "))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || (strings.Contains(v, "$") && !strings.HasPrefix(strings.TrimSpace(v), "'")) {
			out[strings.TrimSpace(k)] = true
		}
	}
}
