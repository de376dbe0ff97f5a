package spec

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/schema"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/tree"
	"go.yaml.in/yaml/v4"
)

var (
	reFailedToParse  = regexp.MustCompile(`(?s)^failed to parse (.+?): (yaml: .*)$`)
	reValidating     = regexp.MustCompile(`(?s)^validating (.+?): (.*)$`)
	reAdditional     = regexp.MustCompile(`^additional propert(?:y|ies) '([^']+)'`)
	reInterpolating  = regexp.MustCompile(`(?s)^error while interpolating (\S+): (.*)$`)
	reInterpFormat   = regexp.MustCompile(`(?s)^invalid interpolation format for (\S+?)\.\n.*\n(.*)$`)
	reDependsOn      = regexp.MustCompile(`^service "([^"]+)" depends on undefined service "([^"]+)"`)
	reUndefinedRef   = regexp.MustCompile(`^service "([^"]+)" refers to undefined (network|volume|secret|config|build secret|model) (\S+?)(?::|$)`)
	reNoImage        = regexp.MustCompile(`^service "([^"]+)" has neither an image nor a build context specified`)
	reCycle          = regexp.MustCompile(`^dependency cycle detected: (.+)$`)
	reEnvFileMissing = regexp.MustCompile(`^env file (.+?) not found`)
	reReadEnvLine    = regexp.MustCompile(`^failed to read (.+?): line (\d+): (.*)$`)
	reDecoding       = regexp.MustCompile(`'([^']+)' (.+)`)
	reServicesPath   = regexp.MustCompile(`^(services\.[^:\s]+?): (.*)$`)
	reServiceQuoted  = regexp.MustCompile(`service "?([^"\s]+?)"? `)
	rePortValue      = regexp.MustCompile(`^(?:Invalid (?:hostPort|containerPort|proto|ip address|range format|port)[^:]*): (.+)$`)
	reVolumeSpec     = regexp.MustCompile(`^invalid spec: (.+?): (.+)$`)
	reExtraHost      = regexp.MustCompile(`^invalid additional host, missing IP: (.+)$`)
	reDuration       = regexp.MustCompile(`duration "([^"]*)"`)
	reContainerName  = regexp.MustCompile(`^services\.(\S+): can't set container_name and (\S+) as container name must be unique`)
)

// mapComposeError turns an error from compose-go into *Error values that
// name file, line and field. What it cannot place keeps compose-go's text,
// located at the first Compose file.
func (s *sources) mapComposeError(err error) error {
	var out Errors
	for _, leaf := range leafErrors(err) {
		out = append(out, s.mapLeaf(leaf)...)
	}
	return out.orNil()
}

// leafErrors flattens joined errors.
func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

func (s *sources) mapLeaf(err error) []*Error {
	msg := err.Error()
	one := func(e *Error) []*Error { return []*Error{e} }

	if m := reFailedToParse.FindStringSubmatch(msg); m != nil {
		inner := errors.Unwrap(err)
		if inner == nil {
			inner = errors.New(m[2])
		}
		line, text := v4ErrorLine(inner)
		return one(&Error{File: displayPath(m[1]), Line: line, Message: "invalid YAML: " + text, Err: err})
	}
	if m := reValidating.FindStringSubmatch(msg); m != nil {
		return one(s.schemaError(s.file(m[1]), m[2], err))
	}
	if m := reInterpFormat.FindStringSubmatch(msg); m != nil {
		return one(s.interpolationError(m[1], fmt.Sprintf("invalid interpolation format %q (write $$ for a literal $)", m[2]), err))
	}
	if m := reInterpolating.FindStringSubmatch(msg); m != nil {
		text := m[2]
		var mre *template.MissingRequiredError
		if errors.As(err, &mre) {
			text = mre.Error()
		} else if t, ok := strings.CutPrefix(text, "failed to cast to expected type: "); ok {
			text = "invalid value: " + t
		}
		return one(s.interpolationError(m[1], text, err))
	}
	if m := reDependsOn.FindStringSubmatch(msg); m != nil {
		text := fmt.Sprintf("service %q depends on undefined service %q%s", m[1], m[2], didYouMean(m[2], s.keys("services")))
		if s.has("services", m[2]) {
			text = fmt.Sprintf("service %q depends on %q, which is not enabled: enable one of its profiles, or add required: false", m[1], m[2])
		}
		return one(s.errorAt([]string{"services", m[1], "depends_on", m[2]}, text, err))
	}
	if m := reUndefinedRef.FindStringSubmatch(msg); m != nil {
		return one(s.undefinedRef(m[1], m[2], m[3], err))
	}
	if m := reNoImage.FindStringSubmatch(msg); m != nil {
		return one(s.errorAt([]string{"services", m[1]}, "needs an image or a build", err))
	}
	if m := reCycle.FindStringSubmatch(msg); m != nil {
		chain := strings.Split(m[1], " -> ")
		path := []string{"services", chain[0]}
		if len(chain) > 1 {
			path = append(path, "depends_on", chain[1])
		}
		return one(s.errorAt(path, "dependency cycle: "+m[1], err))
	}
	if m := reEnvFileMissing.FindStringSubmatch(msg); m != nil {
		return one(s.envFileMissing(m[1], err))
	}
	if m := reReadEnvLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		return one(&Error{File: displayPath(m[1]), Line: line, Message: m[3], Err: err})
	}
	if strings.HasPrefix(msg, "decoding failed") {
		var out []*Error
		for _, m := range reDecoding.FindAllStringSubmatch(msg, -1) {
			path := decodingPath(m[1])
			text := strings.TrimPrefix(m[2], "time: ")
			if d := reDuration.FindStringSubmatch(text); d != nil {
				text = fmt.Sprintf("invalid duration %q: use a number and a unit, such as 30s or 1m30s", d[1])
			}
			out = append(out, s.errorAt(path, text, err))
		}
		if len(out) > 0 {
			return out
		}
	}
	if strings.HasPrefix(msg, "healthcheck.test must start") {
		for _, f := range s.files {
			for _, loc := range f.locateAll([]string{"services", "*", "healthcheck", "test", "0"}) {
				switch loc.node.Value {
				case "CMD", "CMD-SHELL", "NONE":
				default:
					return one(&Error{File: f.display(), Line: loc.line, Field: loc.field,
						Message: fmt.Sprintf("test must start with CMD, CMD-SHELL or NONE, not %q", loc.node.Value), Err: err})
				}
			}
		}
	}
	if m := rePortValue.FindStringSubmatch(msg); m != nil {
		if e := s.valueError([]string{"services", "*", "ports", "[]"}, m[1], msg, err); e != nil {
			return one(e)
		}
	}
	if m := reVolumeSpec.FindStringSubmatch(msg); m != nil {
		if e := s.valueError([]string{"services", "*", "volumes", "[]"}, m[1], "invalid volume "+strconv.Quote(m[1])+": "+m[2], err); e != nil {
			return one(e)
		}
	}
	if m := reExtraHost.FindStringSubmatch(msg); m != nil {
		if e := s.valueError([]string{"services", "*", "extra_hosts", "[]"}, m[1], msg, err); e != nil {
			return one(e)
		}
	}
	if msg == "top-level object must be a mapping" {
		for _, f := range s.files {
			for _, root := range f.docs {
				if r := deref(root); r.Kind != yaml.MappingNode {
					return one(&Error{File: f.display(), Line: r.Line, Message: "a Compose file must be a mapping (services:, networks:, ...)", Err: err})
				}
			}
		}
	}
	if msg == "empty compose file" {
		return one(&Error{File: s.files[0].display(), Message: "the Compose file is empty: it needs services", Err: err})
	}
	if m := reContainerName.FindStringSubmatch(msg); m != nil {
		// compose-go prints the attribute and the service the other way round
		service := m[2]
		if !s.has("services", service) {
			service = m[1]
		}
		return one(s.errorAt([]string{"services", service, "container_name"},
			"container_name cannot be used with several replicas; Berth names containers itself, so remove it", err))
	}
	if m := reServicesPath.FindStringSubmatch(msg); m != nil {
		return one(s.errorAt(s.splitDotted(m[1]), strings.TrimSuffix(m[2], ": invalid compose project"), err))
	}
	if m := reServiceQuoted.FindStringSubmatch(msg); m != nil {
		path := []string{"services", m[1]}
		if strings.Contains(msg, "network_mode") {
			path = append(path, "network_mode")
		}
		return one(s.errorAt(path, strings.TrimSuffix(msg, ": invalid compose project"), err))
	}
	file := ""
	if len(s.files) > 0 {
		file = s.files[0].display()
	}
	return one(&Error{File: file, Message: msg, Err: err})
}

// schemaError places a JSON schema validation error ("services.api.ports.0
// must be a string").
func (s *sources) schemaError(f *yamlFile, text string, err error) *Error {
	pathStr, rest, _ := strings.Cut(text, " ")
	var path []string
	if pathStr != "" {
		path = s.splitDotted(pathStr)
	}
	unknown := ""
	if rest == "false schema" && len(path) > 0 {
		unknown = path[len(path)-1]
		path = path[:len(path)-1]
	} else if m := reAdditional.FindStringSubmatch(rest); m != nil {
		unknown = m[1]
	}
	if unknown != "" {
		where := renderField(path)
		if where == "" {
			where = "at the top level"
		} else {
			where = "in " + where
		}
		text := fmt.Sprintf("unknown key %q %s%s", unknown, where, didYouMean(unknown, composeKeysAt(path)))
		return s.errorIn(f, append(path, unknown), text, err)
	}
	return s.errorIn(f, path, rest, err)
}

// composeKeysAt lists the keys the Compose specification allows under path
// (for "did you mean").
func composeKeysAt(path []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range schema.AttributePaths() {
		parts := tree.Path(p).Parts()
		if len(parts) != len(path)+1 {
			continue
		}
		ok := true
		for i, seg := range path {
			switch parts[i] {
			case seg, tree.PathMatchAll:
			case tree.PathMatchList:
				if _, err := strconv.Atoi(seg); err != nil {
					ok = false
				}
			default:
				ok = false
			}
			if !ok {
				break
			}
		}
		last := parts[len(parts)-1]
		if ok && last != tree.PathMatchAll && last != tree.PathMatchList && !seen[last] {
			seen[last] = true
			out = append(out, last)
		}
	}
	return out
}

// interpolationError places an interpolation error: compose-go gives the
// path with "[]" for list items, so the item is the one whose text holds a
// variable.
func (s *sources) interpolationError(pathStr, text string, err error) *Error {
	path := strings.Split(pathStr, ".")
	variable := ""
	var mre *template.MissingRequiredError
	if errors.As(err, &mre) {
		variable = mre.Variable
	}
	var fallback *Error
	for _, f := range s.files {
		for _, loc := range f.locateAll(path) {
			n := loc.node
			line := loc.line
			if loc.key == nil && n != nil {
				line = n.Line
			}
			e := &Error{File: f.display(), Line: line, Field: loc.field, Message: text, Err: err}
			if n != nil && n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "$") &&
				(variable == "" || strings.Contains(n.Value, variable)) {
				return e
			}
			if fallback == nil {
				fallback = e
			}
		}
	}
	if fallback != nil {
		return fallback
	}
	clean := make([]string, 0, len(path))
	for _, seg := range path {
		if seg != tree.PathMatchList {
			clean = append(clean, seg)
		}
	}
	return s.errorAt(clean, text, err)
}

// undefinedRef places "service X refers to undefined network/volume/... Y".
func (s *sources) undefinedRef(service, kind, name string, err error) *Error {
	switch kind {
	case "network":
		text := fmt.Sprintf("undefined network %q: declare it under the top-level networks:%s", name, didYouMean(name, s.keys("networks")))
		return s.errorAt([]string{"services", service, "networks", name}, text, err)
	case "volume":
		text := fmt.Sprintf("undefined volume %q: declare it under the top-level volumes:%s", name, didYouMean(name, s.keys("volumes")))
		for _, f := range s.files {
			for _, loc := range f.locateAll([]string{"services", service, "volumes", "[]"}) {
				if volumeSource(loc.node) == name {
					return &Error{File: f.display(), Line: loc.line, Field: loc.field, Message: text, Err: err}
				}
			}
		}
		return s.errorAt([]string{"services", service, "volumes"}, text, err)
	case "secret", "config", "model":
		text := fmt.Sprintf("undefined %s %q: declare it under the top-level %ss:", kind, name, kind)
		return s.errorAt([]string{"services", service, kind + "s"}, text, err)
	}
	return s.errorAt([]string{"services", service}, fmt.Sprintf("undefined %s %q", kind, name), err)
}

// volumeSource returns the source of a service volume entry, short or long.
func volumeSource(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		src, _, ok := strings.Cut(n.Value, ":")
		if !ok {
			return ""
		}
		return src
	case yaml.MappingNode:
		if _, v := mappingValue(n, "source", 0); v != nil {
			return deref(v).Value
		}
	}
	return ""
}

// envFileMissing places a missing env_file at the entry naming it.
func (s *sources) envFileMissing(path string, err error) *Error {
	text := fmt.Sprintf("env file %q not found", displayPath(path))
	if rel, rerr := filepath.Rel(s.dir, path); rerr == nil && !strings.HasPrefix(rel, "..") {
		text = fmt.Sprintf("env file %q not found (paths are relative to %s)", rel, displayPath(s.dir))
	}
	for _, f := range s.files {
		for _, pattern := range [][]string{
			{"services", "*", "env_file"},
			{"services", "*", "env_file", "[]"},
			{"services", "*", "env_file", "[]", "path"},
		} {
			for _, loc := range f.locateAll(pattern) {
				n := loc.node
				if n == nil || n.Kind != yaml.ScalarNode {
					continue
				}
				p := n.Value
				if !filepath.IsAbs(p) {
					p = filepath.Join(s.dir, p)
				}
				if filepath.Clean(p) == filepath.Clean(path) {
					line := loc.line
					if loc.key == nil {
						line = n.Line
					}
					return &Error{File: f.display(), Line: line, Field: loc.field, Message: text, Err: err}
				}
			}
		}
	}
	return &Error{File: s.files[0].display(), Field: "env_file", Message: text, Err: err}
}

// valueError places an error about a value (a port, a volume) by finding
// the entry that holds it.
func (s *sources) valueError(pattern []string, value, text string, err error) *Error {
	for _, f := range s.files {
		for _, loc := range f.locateAll(pattern) {
			if n := loc.node; n != nil && n.Kind == yaml.ScalarNode && strings.Contains(n.Value, value) {
				return &Error{File: f.display(), Line: n.Line, Field: loc.field, Message: text, Err: err}
			}
		}
	}
	return nil
}

// keys lists the keys of a top-level mapping in every file.
func (s *sources) keys(top string) []string {
	var out []string
	for _, f := range s.files {
		for _, loc := range f.locateAll([]string{top, "*"}) {
			out = append(out, loc.key.Value)
		}
	}
	return out
}

// decodingPath turns mapstructure's "services[api].healthcheck.interval"
// into path segments.
func decodingPath(p string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '.':
			flush()
		case '[':
			flush()
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				cur.WriteString(p[i+1:])
				i = len(p)
				continue
			}
			out = append(out, p[i+1:i+j])
			i += j
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}
