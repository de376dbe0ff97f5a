// Package dockerignore reads .dockerignore files and matches build-context
// paths against them the way the Docker builder does. Both the build hash
// (spec) and the build context sent to the engine (engine) use it, so they
// always agree on what is in a context.
package dockerignore

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"unicode/utf8"
)

// rule is one line of a .dockerignore file.
type rule struct {
	pattern string // cleaned, slash-separated, without leading '/' or '!'
	negate  bool   // "!pattern": an exception
	re      *regexp.Regexp
}

// Matcher matches paths of a build context against .dockerignore rules:
// the last matching rule wins; a rule matches a path or any of its parent
// folders; '*' and '?' do not cross '/', '**' crosses any number of
// folders; '!' makes an exception. A nil Matcher excludes nothing.
type Matcher struct {
	rules      []rule
	exceptions bool // some rule starts with '!'
}

// Parse reads .dockerignore content.
func Parse(r io.Reader) (*Matcher, error) {
	d := &Matcher{}
	sc := bufio.NewScanner(r)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		negate := false
		if line[0] == '!' {
			negate = true
			line = strings.TrimSpace(line[1:])
			if line == "" {
				return nil, fmt.Errorf("line %d: '!' without a pattern", lineNo)
			}
		}
		p := path.Clean(line)
		p = strings.TrimLeft(p, "/")
		if p == "" {
			p = "."
		}
		re, err := patternRE(p)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		d.rules = append(d.rules, rule{pattern: p, negate: negate, re: re})
		if negate {
			d.exceptions = true
		}
	}
	return d, sc.Err()
}

// patternRE compiles a pattern into an anchored regular expression. Its
// literal bytes stay bytes (never read as Latin-1 code points), and a
// run of ** crosses every character a name may hold, newlines too.
func patternRE(p string) (*regexp.Regexp, error) {
	if !utf8.ValidString(p) {
		return nil, fmt.Errorf("pattern %q is not UTF-8", p)
	}
	var b strings.Builder
	b.WriteString("(?s)^")
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				i++
				// "**/" also matches no folder at all
				if i+1 < len(p) && p[i+1] == '/' {
					i++
					b.WriteString("(?:.*/)?")
				} else {
					b.WriteString(".*")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			j := i + 1
			if j < len(p) && (p[j] == '!' || p[j] == '^') {
				j++
			}
			if j < len(p) && p[j] == ']' {
				j++
			}
			for j < len(p) && p[j] != ']' {
				if p[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(p) {
				return nil, fmt.Errorf("unterminated '[' in %q", p)
			}
			class := p[i+1 : j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i = j
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteString(regexp.QuoteMeta(p[i : i+1]))
			} else {
				b.WriteString(`\\`)
			}
		default:
			b.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// Excluded reports whether rel (slash-separated, relative to the context)
// is left out of the build context.
func (d *Matcher) Excluded(rel string) bool {
	if d == nil || len(d.rules) == 0 {
		return false
	}
	out := false
	for _, r := range d.rules {
		if r.negate != out {
			// only a rule that could change the outcome needs testing
			continue
		}
		if r.matches(rel) {
			out = !r.negate
		}
	}
	return out
}

// HasExceptions reports whether some rule re-includes paths ('!'): then an
// excluded folder must still be walked, since something inside it may be
// kept.
func (d *Matcher) HasExceptions() bool { return d != nil && d.exceptions }

// matches reports whether the rule matches rel or one of its parents.
func (r rule) matches(rel string) bool {
	if r.re.MatchString(rel) {
		return true
	}
	for p := path.Dir(rel); p != "." && p != "/"; p = path.Dir(p) {
		if r.re.MatchString(p) {
			return true
		}
	}
	return false
}
