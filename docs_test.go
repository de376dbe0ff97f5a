package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// docs returns README.md and every page under docs/, by path.
func docs(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range append(files, "README.md") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

// exitCodes reads the CLI's exit codes (the Exit* constants of
// app/cli/cli.go) with the meaning their comments give.
func exitCodes(t *testing.T) map[int]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "app/cli/cli.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	codes := map[int]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			if len(v.Names) != 1 || !strings.HasPrefix(v.Names[0].Name, "Exit") || len(v.Values) != 1 {
				continue
			}
			lit, ok := v.Values[0].(*ast.BasicLit)
			if !ok {
				t.Fatalf("%s is not a literal", v.Names[0].Name)
			}
			n, _ := strconv.Atoi(lit.Value)
			codes[n] = v.Names[0].Name
		}
	}
	if len(codes) < 10 {
		t.Fatalf("found only %d exit codes in app/cli/cli.go", len(codes))
	}
	return codes
}

// TestExitCodeTable: the table in docs/cli.md lists exactly the CLI's exit
// codes, and every "exit N" the docs mention is one of them.
func TestExitCodeTable(t *testing.T) {
	codes := exitCodes(t)
	all := docs(t)
	row := regexp.MustCompile(`(?m)^\| (\d+) \| (.+) \|$`)
	documented := map[int]bool{}
	for _, m := range row.FindAllStringSubmatch(all["docs/cli.md"], -1) {
		n, _ := strconv.Atoi(m[1])
		if _, ok := codes[n]; !ok {
			t.Errorf("docs/cli.md documents exit code %d, which the CLI does not have", n)
		}
		documented[n] = true
	}
	for n, name := range codes {
		if !documented[n] {
			t.Errorf("exit code %d (%s) is missing from the table in docs/cli.md", n, name)
		}
	}
	mention := regexp.MustCompile(`\bexits? (\d+)\b`)
	for f, text := range all {
		for _, m := range mention.FindAllStringSubmatch(text, -1) {
			n, _ := strconv.Atoi(m[1])
			if _, ok := codes[n]; !ok {
				t.Errorf("%s mentions %q: the CLI has no exit code %d", f, m[0], n)
			}
		}
	}
	// berth check's own code, wherever the docs give it.
	check := regexp.MustCompile("`check` \\(exit (\\d+)\\)|check ENV .* exit (\\d+) when drifted")
	for f, text := range all {
		for _, m := range check.FindAllStringSubmatch(text, -1) {
			if n, _ := strconv.Atoi(m[1] + m[2]); codes[n] != "ExitDrift" {
				t.Errorf("%s: %q: berth check exits with ExitDrift", f, m[0])
			}
		}
	}
}

// TestCommandSummaryMatchesReference: the README's commands at a glance
// are the reference's, line for line.
func TestCommandSummaryMatchesReference(t *testing.T) {
	all := docs(t)
	block := func(f string) string {
		text := all[f]
		i := strings.Index(text, "```\nberth ")
		if i < 0 {
			t.Fatalf("%s has no command block", f)
		}
		j := strings.Index(text[i+4:], "```")
		return text[i : i+4+j]
	}
	if a, b := block("README.md"), block("docs/cli.md"); a != b {
		t.Errorf("README.md's command block differs from docs/cli.md's:\n%s\n---\n%s", a, b)
	}
}

// TestDocumentedPathsExist: every file or folder of this repo the docs
// name in backquotes exists.
func TestDocumentedPathsExist(t *testing.T) {
	roots := []string{"app/", "internal/", "scripts/", "frontend/", "docs/", "bench/", "images/", "environments/", ".ci/"}
	path := regexp.MustCompile("`([A-Za-z0-9_./-]+)`")
	for f, text := range docs(t) {
		for _, m := range path.FindAllStringSubmatch(text, -1) {
			p := m[1]
			if !slices.ContainsFunc(roots, func(r string) bool { return strings.HasPrefix(p, r) }) || strings.Contains(p, "..") {
				continue
			}
			if _, err := os.Stat(strings.TrimSuffix(p, "/")); err != nil {
				t.Errorf("%s names `%s`, which does not exist", f, p)
			}
		}
	}
}

// TestArchitectureImports: the package table of docs/architecture.md names,
// for each of Berth's packages, every other Berth package it imports.
func TestArchitectureImports(t *testing.T) {
	text := docs(t)["docs/architecture.md"]
	row := regexp.MustCompile("(?m)^\\| `((?:app|internal)/[a-z/]+)` \\| .* \\| (.*) \\|$")
	rows := row.FindAllStringSubmatch(text, -1)
	if len(rows) < 15 {
		t.Fatalf("found %d package rows in docs/architecture.md", len(rows))
	}
	const module = "github.com/berthdev/berth/"
	for _, m := range rows {
		pkg, cell := m[1], m[2]
		if strings.Contains(cell, "everything below") {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(pkg, "*.go"))
		seen := map[string]bool{}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if rest, ok := strings.CutPrefix(p, module); ok && !seen[rest] {
					seen[rest] = true
					short := filepath.Base(rest)
					if !regexp.MustCompile(`\b` + short + `\b`).MatchString(cell) {
						t.Errorf("docs/architecture.md: %s imports %s, which its row does not name (%q)", pkg, rest, cell)
					}
				}
			}
		}
	}
}

// TestDocLinksResolve: every relative link in the README and docs/ leads
// to a file of this repository.
func TestDocLinksResolve(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)#\s]+)(#[^)]*)?\)`)
	n := 0
	for f, text := range docs(t) {
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			n++
			if _, err := os.Stat(filepath.Join(filepath.Dir(f), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", f, target)
			}
		}
	}
	if n < 10 {
		t.Fatalf("found only %d relative links: is the pattern right?", n)
	}
}
