package dockerignore

import (
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

// globMatch is a reference matcher for one cleaned pattern without
// character classes, written apart from patternRE: * is any run of
// characters but /, ? one character but /, ** any run of characters
// (and "**/" any run of whole folders, none too), \X the character X
// (a trailing \ itself), every other byte itself. Characters are UTF-8
// code points (a byte that is not UTF-8 counts as one).
func globMatch(pattern, name string) bool {
	memo := map[[2]int]bool{}
	var match func(pi, ni int) bool
	match = func(pi, ni int) bool {
		key := [2]int{pi, ni}
		if v, ok := memo[key]; ok {
			return v
		}
		var ok bool
		switch {
		case pi == len(pattern):
			ok = ni == len(name)
		case strings.HasPrefix(pattern[pi:], "**/"):
			// no folder at all, or any run that ends with a /
			ok = match(pi+3, ni)
			for j := ni; !ok && j < len(name); j++ {
				ok = name[j] == '/' && match(pi+3, j+1)
			}
		case strings.HasPrefix(pattern[pi:], "**"):
			for j := ni; !ok && j <= len(name); j++ {
				ok = match(pi+2, j)
			}
		case pattern[pi] == '*':
			for j := ni; !ok && j <= len(name); j++ {
				ok = match(pi+1, j)
				if j < len(name) && name[j] == '/' {
					break
				}
			}
		case pattern[pi] == '?':
			if ni < len(name) && name[ni] != '/' {
				_, w := utf8.DecodeRuneInString(name[ni:])
				ok = match(pi+1, ni+w)
			}
		case pattern[pi] == '\\' && pi+1 < len(pattern):
			ok = ni < len(name) && name[ni] == pattern[pi+1] && match(pi+2, ni+1)
		default:
			ok = ni < len(name) && name[ni] == pattern[pi] && match(pi+1, ni+1)
		}
		memo[key] = ok
		return ok
	}
	return match(0, 0)
}

// refExcluded is Excluded by the reference: the last rule that matches
// the path or one of its parents decides.
func refExcluded(rules []rule, rel string) bool {
	out := false
	for _, r := range rules {
		for p := rel; ; p = path.Dir(p) {
			if globMatch(r.pattern, p) {
				out = !r.negate
				break
			}
			if d := path.Dir(p); d == "." || d == "/" || d == p {
				break
			}
		}
	}
	return out
}

// FuzzDockerignore: any .dockerignore parses or fails without a panic; for
// rules without character classes, which paths are excluded is what a
// reference glob matcher says, for the fuzzer's path and paths made from
// each pattern (so no byte of a pattern turns into regular expression
// syntax or another character, and ** reaches every name, a newline in it
// too); a literal pattern excludes exactly its path and what is below it.
// It found that a pattern byte above 0x7f never matched (each byte was
// read as a Latin-1 code point: testdata/fuzz holds the input); writing
// it, that ** stopped at a newline in a name (a seed now).
func FuzzDockerignore(f *testing.F) {
	for _, c := range [][2]string{
		{"node_modules\n*.log\n!keep.log\n", "a/b.log"},
		{"**\n!src\n", "src/main.go"},
		{"**/*.tmp\n# comment\n  /build/  \n", "x/y/z.tmp"},
		{"docs/**/*.md\n", "docs/a/b/c.md"},
		{"a?c\n", "abc"},
		{"caf\u00e9\n", "caf\u00e9/menu"},
		{"**\n", "line\nbreak"},
		{"\xff\n", "\xff"},
		{"x*\n", "x\ny"},
		{"a\\*b\n", "a*b"},
		{"\\\n", "\\"},
		{"[a-z]*.go\n[!x]\n[\n", "main.go"},
		{"\uFEFF# bom\n!\n", "x"},
		{"(a|b)+\n.+\n^$\n", "(a|b)+"},
		{"../../etc\n", "etc"},
	} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, ignore, rel string) {
		m, err := Parse(strings.NewReader(ignore))
		if err != nil {
			return
		}
		// the fuzzer's path, and paths made from each pattern (its
		// wildcards filled with the fuzzer's path): the ones that match
		for _, r := range m.rules {
			if strings.Contains(r.pattern, "[") {
				return // character classes: no reference
			}
		}
		candidates := []string{rel}
		for _, r := range m.rules {
			candidates = append(candidates, fill(r.pattern, rel), fill(r.pattern, rel)+"/"+rel)
		}
		for _, p := range candidates {
			if p != path.Clean(p) || strings.HasPrefix(p, "/") || p == "." || p == ".." || strings.HasPrefix(p, "../") {
				continue // callers give clean paths inside the context
			}
			got := m.Excluded(p)
			if want := refExcluded(m.rules, p); got != want {
				t.Fatalf("Excluded(%q) = %v, the reference says %v (rules %q)", p, got, want, patterns(m.rules))
			}
			for _, r := range m.rules {
				if strings.ContainsAny(r.pattern, "*?\\") {
					continue
				}
				// a literal pattern: the path itself and what is below it
				want := p == r.pattern || strings.HasPrefix(p, r.pattern+"/")
				if r.pattern == "." {
					want = false
				}
				if got := r.matches(p); got != want {
					t.Fatalf("literal pattern %q matches %q: %v, want %v", r.pattern, p, got, want)
				}
			}
		}
	})
}

// fill makes a path a pattern could match: escapes undone, wildcards
// replaced by with (its first character for ?).
func fill(pattern, with string) string {
	first := "x"
	if r, w := utf8.DecodeRuneInString(with); w > 0 && r != '/' {
		first = with[:w]
	}
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '\\' && i+1 < len(pattern):
			i++
			b.WriteByte(pattern[i])
		case c == '*' || c == '?':
			if c == '*' && strings.Contains(with, "/") && !strings.HasPrefix(pattern[i:], "**") {
				b.WriteString(first)
			} else if c == '?' {
				b.WriteString(first)
			} else {
				b.WriteString(with)
			}
			for i+1 < len(pattern) && pattern[i+1] == '*' {
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func patterns(rules []rule) []string {
	var out []string
	for _, r := range rules {
		p := r.pattern
		if r.negate {
			p = "!" + p
		}
		out = append(out, p)
	}
	return out
}
