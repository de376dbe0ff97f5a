package engine

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// ignorePattern is one line of a .dockerignore file.
type ignorePattern struct {
	re      *regexp.Regexp
	exclude bool // a "!" line: keep what matches
}

// ignoreRules are the lines of a .dockerignore file, in order; the last
// pattern that matches a path (or one of its parent folders) decides.
type ignoreRules struct {
	patterns   []ignorePattern
	exclusions bool
}

// parseDockerignore reads .dockerignore syntax: one pattern per line, "#"
// comments, "!" to re-include, Go filepath.Match syntax plus "**" for any
// number of folders; patterns are relative to the context root.
func parseDockerignore(r io.Reader) (*ignoreRules, error) {
	rules := &ignoreRules{}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		exclude := false
		if strings.HasPrefix(s, "!") {
			exclude = true
			s = strings.TrimSpace(s[1:])
		}
		s = path.Clean(filepath.ToSlash(s))
		s = strings.TrimPrefix(s, "/")
		if s == "" || s == "." {
			continue
		}
		re, err := ignoreRegexp(s)
		if err != nil {
			return nil, fmt.Errorf(".dockerignore line %d: %q: %w", line, s, err)
		}
		rules.patterns = append(rules.patterns, ignorePattern{re: re, exclude: exclude})
		rules.exclusions = rules.exclusions || exclude
	}
	return rules, sc.Err()
}

// ignoreRegexp compiles a .dockerignore pattern.
func ignoreRegexp(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				i++
				if i+1 < len(p) && p[i+1] == '/' {
					// "**/" matches zero or more folders.
					i++
					b.WriteString("(?:.*/)?")
				} else {
					b.WriteString(".*")
				}
				continue
			}
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteString(regexp.QuoteMeta(string(p[i])))
			} else {
				return nil, errors.New("pattern ends with a backslash")
			}
		case '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				return nil, errors.New("unterminated character class")
			}
			class := p[i+1 : i+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// ignored reports whether the slash-separated relative path is excluded.
func (r *ignoreRules) ignored(rel string) bool {
	if r == nil {
		return false
	}
	parents := []string{rel}
	for d := path.Dir(rel); d != "." && d != "/"; d = path.Dir(d) {
		parents = append(parents, d)
	}
	matched := false
	for _, p := range r.patterns {
		hit := false
		for _, c := range parents {
			if p.re.MatchString(c) {
				hit = true
				break
			}
		}
		if hit {
			matched = !p.exclude
		}
	}
	return matched
}

// buildContext is a tar stream of a build context and the Dockerfile's
// path inside it.
type buildContext struct {
	r          io.ReadCloser
	dockerfile string
}

// tarBuildContext tars dir for ImageBuild: it honours .dockerignore (the
// Dockerfile and .dockerignore are always sent, as the docker CLI does),
// stores symlinks as links without following them, and skips devices,
// sockets and pipes. A Dockerfile outside the context is added under a
// generated name. The tar is streamed; errors surface on read.
func tarBuildContext(dir, dockerfile string) (*buildContext, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("build context %s is not a folder", dir)
	}
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	dfPath := dockerfile
	if !filepath.IsAbs(dfPath) {
		dfPath = filepath.Join(dir, dfPath)
	}
	var rules *ignoreRules
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		rules, err = parseDockerignore(f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}

	// The Dockerfile's name inside the tar; outside the context it is
	// read now and added under a name derived from its content.
	var extra []byte
	dfName := ""
	if rel, err := filepath.Rel(dir, dfPath); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		dfName = filepath.ToSlash(rel)
		if _, err := os.Lstat(dfPath); err != nil {
			return nil, fmt.Errorf("dockerfile: %w", err)
		}
	} else {
		extra, err = os.ReadFile(dfPath)
		if err != nil {
			return nil, fmt.Errorf("dockerfile: %w", err)
		}
		sum := sha256.Sum256(extra)
		dfName = ".berth-dockerfile-" + hex.EncodeToString(sum[:6])
	}

	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeContextTar(pw, dir, rules, dfName, extra))
	}()
	return &buildContext{r: pr, dockerfile: dfName}, nil
}

func writeContextTar(w io.Writer, dir string, rules *ignoreRules, dfName string, extra []byte) error {
	tw := tar.NewWriter(w)
	always := map[string]bool{".dockerignore": true}
	if extra == nil {
		always[dfName] = true
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rules.ignored(rel) && !always[rel] {
			if d.IsDir() && !rules.exclusions && !strings.HasPrefix(dfName, rel+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info() // Lstat: a symlink is not followed
		if err != nil {
			return err
		}
		link := ""
		switch mode := info.Mode(); {
		case mode&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case mode.IsRegular(), mode.IsDir():
		default:
			return nil // devices, sockets, pipes
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if info.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	if extra != nil {
		if err := tw.WriteHeader(&tar.Header{Name: dfName, Mode: 0o644, Size: int64(len(extra)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := io.Copy(tw, bytes.NewReader(extra)); err != nil {
			return err
		}
	}
	return tw.Close()
}
