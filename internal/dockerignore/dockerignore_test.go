package dockerignore

import (
	"strings"
	"testing"
)

func TestExcludedTable(t *testing.T) {
	cases := []struct {
		rules string
		path  string
		want  bool
	}{
		{"*.md", "README.md", true},
		{"*.md", "docs/README.md", false},
		{"**/*.md", "docs/README.md", true},
		{"**/*.md", "README.md", true},
		{"docs", "docs/a/b.txt", true},
		{"docs/", "docs/a.txt", true},
		{"/docs", "docs/a.txt", true},
		{"./docs", "docs/a.txt", true},
		{"docs/*", "docs/a.txt", true},
		{"docs/*", "docs", false},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**", "a/x/y", true},
		{"**", "anything/at/all", true},
		{"?.txt", "a.txt", true},
		{"?.txt", "ab.txt", false},
		{"[ab].txt", "b.txt", true},
		{"[!ab].txt", "c.txt", true},
		{"[!ab].txt", "a.txt", false},
		{"file\\*", "file*", true},
		{"file\\*", "files", false},
		{"*\n!keep.txt", "keep.txt", false},
		{"*\n!keep.txt", "other.txt", true},
		{"node_modules\n!node_modules/keep", "node_modules/keep/x.js", false},
		{"node_modules\n!node_modules/keep", "node_modules/other/x.js", true},
		{"!x\nx", "x", true},
		{"x\n!x", "x", false},
		{"# comment\n\n  spaced.txt  ", "spaced.txt", true},
		{"# comment", "# comment", false},
		{"*.go\n!cmd/**/*.go", "cmd/tool/main.go", false},
		{"*.go\n!cmd/**/*.go", "main.go", true},
	}
	for _, c := range cases {
		d, err := Parse(strings.NewReader(c.rules))
		if err != nil {
			t.Fatalf("%q: %v", c.rules, err)
		}
		if got := d.Excluded(c.path); got != c.want {
			t.Errorf("rules %q, path %q: excluded = %v, want %v", c.rules, c.path, got, c.want)
		}
	}
	if _, err := Parse(strings.NewReader("[abc\n")); err == nil {
		t.Error("an unterminated class should be an error")
	}
}

func TestExcludedPatterns(t *testing.T) {
	rules, err := Parse(strings.NewReader(`
# comment
*.log
/secret.txt
build/
**/node_modules
docs/*.md
!docs/README.md
tmp?
[abc].bin
!important.log
`))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]bool{
		"app.log":                   true,
		"sub/app.log":               false, // * does not cross folders
		"important.log":             false,
		"secret.txt":                true,
		"sub/secret.txt":            false,
		"build":                     true,
		"build/out/bin":             true, // under an excluded folder
		"node_modules":              true,
		"a/b/node_modules/x/y.js":   true,
		"docs/guide.md":             true,
		"docs/README.md":            false,
		"docs/deep/guide.md":        false,
		"tmp1":                      true,
		"tmp12":                     false,
		"a.bin":                     true,
		"d.bin":                     false,
		"main.go":                   false,
		"Dockerfile":                false,
		"buildx/file":               false,
		"src/build/file-not-top.go": false,
	}
	for p, want := range cases {
		if got := rules.Excluded(p); got != want {
			t.Errorf("Excluded(%q) = %v, want %v", p, got, want)
		}
	}
	if _, err := Parse(strings.NewReader("[oops\n")); err == nil {
		t.Error("unterminated class: no error")
	}
}
