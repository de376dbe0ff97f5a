package gitsrc

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// FuzzCheckEntryName: a name checkEntryName accepts is one file or folder
// right inside its folder on every file system Berth runs on: not empty,
// "." or "..", no separator or NUL, UTF-8, and not .git once folded as
// case-insensitive file systems, NTFS (trailing dots and spaces, streams,
// 8.3 names) and HFS+ (ignorable code points) fold names. A .git made up
// from the fuzzer's bytes (case flips, ignorable code points, trailing dots
// and spaces, a stream suffix, a short name) is refused.
func FuzzCheckEntryName(f *testing.F) {
	for _, s := range []string{"berth.yaml", ".git", ".GIT", ".git.", ".git  ", "GIT~1", "git~12", ".git::$INDEX_ALLOCATION", ".g\u200cit", "\ufeff.git",
		"..", ".", "", "a/b", `a\b`, "nul\x00", "bad\xff", ".gitignore", ".git~1", "git~", "caf\u00e9", "..."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		why := checkEntryName(name)
		if why == "" {
			switch {
			case name == "" || name == "." || name == "..":
				t.Fatalf("%q accepted", name)
			case strings.ContainsAny(name, "/\\\x00"):
				t.Fatalf("%q with a separator or NUL accepted", name)
			case !utf8.ValidString(name):
				t.Fatalf("%q, not UTF-8, accepted", name)
			}
			base := filepath.Join(string(filepath.Separator), "ws")
			if p := filepath.Join(base, name); filepath.Dir(p) != base || filepath.Base(p) != name {
				t.Fatalf("%q is not one entry of its folder: %s", name, p)
			}
			// as the file systems fold it, independently of foldName
			var b strings.Builder
			for _, r := range name {
				if !hfsIgnorable(r) {
					b.WriteRune(r)
				}
			}
			folded := b.String()
			if i := strings.IndexByte(folded, ':'); i >= 0 {
				folded = folded[:i]
			}
			folded = strings.TrimRight(folded, ". ")
			if strings.EqualFold(folded, ".git") || (len(folded) > 4 && strings.EqualFold(folded[:4], "git~") && strings.Trim(folded[4:], "0123456789") == "") {
				t.Fatalf("%q accepted, a file system reads it as .git", name)
			}
		}
		// .git dressed up with the fuzzer's bytes
		dressed := dotGitForm(name)
		if checkEntryName(dressed) == "" {
			t.Fatalf("%q (a form of .git) accepted", dressed)
		}
	})
}

// dotGitForm makes a name some file system reads as .git from seed's
// bytes: case flips, ignorable code points between letters, trailing dots
// and spaces, and a stream suffix.
func dotGitForm(seed string) string {
	ignorable := []rune{0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202e, 0x206a, 0x206f, 0xfeff}
	var b strings.Builder
	for i, c := range ".git" {
		var x byte
		if i < len(seed) {
			x = seed[i]
		}
		if x&1 != 0 {
			c = []rune(strings.ToUpper(string(c)))[0]
		}
		if x&2 != 0 {
			b.WriteRune(ignorable[int(x>>2)%len(ignorable)])
		}
		b.WriteRune(c)
	}
	for _, x := range []byte(seed[min(len(seed), 4):]) {
		switch x % 4 {
		case 0:
			b.WriteByte('.')
		case 1:
			b.WriteByte(' ')
		case 2:
			b.WriteRune(ignorable[int(x>>2)%len(ignorable)])
		}
	}
	if len(seed) > 0 && seed[0]&4 != 0 {
		b.WriteString("::$DATA")
	}
	return b.String()
}

// fuzzEntry is one entry of a tree the fuzzer describes.
type fuzzEntry struct {
	mode    filemode.FileMode
	name    string
	content []byte      // a file's content, a symlink's target
	sub     []fuzzEntry // a folder's entries
}

// parseFuzzTree reads a tree description, one entry a line:
//
//	f NAME<TAB>CONTENT   a file (x: executable)
//	l NAME<TAB>TARGET    a symlink
//	s NAME               a submodule
//	d NAME               a folder, holding the lines up to "}"
//
// NAME is taken as a Go quoted string when it starts with a quote (so it
// may hold any byte); CONTENT is the rest of the line.
func parseFuzzTree(lines []string) ([]fuzzEntry, []string) {
	var out []fuzzEntry
	for len(lines) > 0 {
		l := lines[0]
		lines = lines[1:]
		if l == "}" {
			return out, lines
		}
		if len(l) < 2 || l[1] != ' ' {
			continue
		}
		name, content, _ := strings.Cut(l[2:], "\t")
		if strings.HasPrefix(name, `"`) {
			if u, err := strconv.Unquote(name); err == nil {
				name = u
			}
		}
		e := fuzzEntry{name: name, content: []byte(content)}
		switch l[0] {
		case 'f':
			e.mode = filemode.Regular
		case 'x':
			e.mode = filemode.Executable
		case 'l':
			e.mode = filemode.Symlink
		case 's':
			e.mode = filemode.Submodule
		case 'd':
			e.mode = filemode.Dir
			e.sub, lines = parseFuzzTree(lines)
		default:
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// storeTree writes entries as a tree object (in the order given, as a
// server that checks nothing could send it) and returns its hash.
func storeTree(t *testing.T, st *memory.Storage, entries []fuzzEntry) plumbing.Hash {
	t.Helper()
	var tree object.Tree
	for _, e := range entries {
		var h plumbing.Hash
		switch e.mode {
		case filemode.Dir:
			h = storeTree(t, st, e.sub)
		case filemode.Submodule:
			h = plumbing.NewHash("0123456789abcdef0123456789abcdef01234567")
		default:
			obj := st.NewEncodedObject()
			obj.SetType(plumbing.BlobObject)
			w, _ := obj.Writer()
			w.Write(e.content)
			w.Close()
			var err error
			if h, err = st.SetEncodedObject(obj); err != nil {
				t.Fatal(err)
			}
		}
		tree.Entries = append(tree.Entries, object.TreeEntry{Name: e.name, Mode: e.mode, Hash: h})
	}
	return rawTreeObject(t, st, tree.Entries)
}

// rawTreeObject stores a tree object holding exactly entries, bytes as
// given (go-git's encoder would sort them and refuse odd names).
func rawTreeObject(t *testing.T, st *memory.Storage, entries []object.TreeEntry) plumbing.Hash {
	t.Helper()
	obj := st.NewEncodedObject()
	obj.SetType(plumbing.TreeObject)
	w, _ := obj.Writer()
	for _, e := range entries {
		mode := strings.TrimPrefix(e.Mode.String(), "0")
		w.Write([]byte(mode + " " + e.Name + "\x00"))
		w.Write(e.Hash[:])
	}
	w.Close()
	h, err := st.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// unsafeNames says whether some entry's name is one checkEntryName
// refuses, or a folder holds two entries of one name.
func unsafeNames(entries []fuzzEntry) bool {
	seen := map[string]bool{}
	for _, e := range entries {
		if checkEntryName(e.name) != "" || seen[e.name] || e.mode == filemode.Dir && unsafeNames(e.sub) {
			return true
		}
		seen[e.name] = true
	}
	return false
}

// FuzzMaterialise: a tree described by the fuzzer (hostile names, folders,
// executables, symlinks anywhere, submodules), built in memory with
// go-git's storage, is either refused, writing nothing but the
// workspaces' lock file, or written whole into its workspace and nowhere
// else: every file with its content and mode, every symlink with its
// target, resolving inside the workspace. A tree with a name
// checkEntryName refuses, or two entries of one name, is refused as
// unsafe.
func FuzzMaterialise(f *testing.F) {
	for _, s := range []string{
		"f berth.yaml\tname: x\nf compose.yaml\tservices: {}\nx run.sh\t#!/bin/sh\nd conf\nf app.ini\ta=1\nl current\t../run.sh\n}\n",
		"f berth.yaml\tname: x\nl up\t../../../etc/passwd\n",
		"l abs\t/etc/passwd\n",
		"l a\tb\nl b\ta\n",
		"l dir\t..\nf x\t1\n",
		"d sub\nl esc\t../..\n}\n",
		"d a\nl b\t../c\n}\nl c\ta/b\n",
		"f \"../../x\"\tpwned\n",
		"d .git\nx post-checkout\techo pwned\n}\n",
		"d \".g\\u200cit\"\nf config\tx\n}\n",
		"f \"a\\x00b\"\tx\n",
		"f same\t1\nf same\t2\n",
		"s sub\n",
		"d \"\"\nf x\t1\n}\n",
		"l empty\t\n",
		"l long\t" + strings.Repeat("a/", 2100) + "\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, desc string) {
		if len(desc) > 64<<10 {
			return
		}
		entries, _ := parseFuzzTree(strings.Split(desc, "\n"))
		st := memory.NewStorage()
		repo, err := git.Init(st, nil)
		if err != nil {
			t.Fatal(err)
		}
		def := storeTree(t, st, entries)
		envHash := rawTreeObject(t, st, []object.TreeEntry{{Name: "x", Mode: filemode.Dir, Hash: def}})
		rootHash := rawTreeObject(t, st, []object.TreeEntry{{Name: "environments", Mode: filemode.Dir, Hash: envHash}})
		sig := object.Signature{Name: "fuzz", Email: "fuzz@example.test", When: time.Unix(0, 0).UTC()}
		c := object.Commit{Author: sig, Committer: sig, Message: "fuzz", TreeHash: rootHash}
		cObj := st.NewEncodedObject()
		if err := c.Encode(cObj); err != nil {
			t.Fatal(err)
		}
		ch, _ := st.SetEncodedObject(cObj)
		r := &Repo{repo: repo, dir: "memory"}

		base := t.TempDir()
		wsRoot := filepath.Join(base, "a", "b", "workspaces")
		if err := os.MkdirAll(wsRoot, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { Remove(base) })
		ws, err := r.Materialise(context.Background(), Commit{Hash: ch.String(), Short: ch.String()[:7]}, "environments/x", wsRoot)
		written := pathsUnder(t, base)
		if err != nil {
			if unsafeNames(entries) && !errors.Is(err, ErrUnsafe) {
				t.Fatalf("a tree with an unsafe name: %v, want ErrUnsafe", err)
			}
			for _, p := range written {
				if p != "." && p != "a" && p != filepath.Join("a", "b") && p != filepath.Join("a", "b", "workspaces") && p != filepath.Join("a", "b", "workspaces", ".lock") {
					t.Fatalf("a refused tree wrote %s (%v)", p, err)
				}
			}
			return
		}
		if unsafeNames(entries) {
			t.Fatalf("a tree with an unsafe name was written")
		}
		for _, p := range written {
			if p == "." || p == "a" || p == filepath.Join("a", "b") || strings.HasPrefix(p, filepath.Join("a", "b", "workspaces")) {
				continue
			}
			t.Fatalf("materialising wrote %s, outside the workspaces", p)
		}
		checkWorkspace(t, ws.Dir, "", entries)
		// exactly the tree: nothing more in the workspace
		var want []string
		var list func(prefix string, es []fuzzEntry)
		list = func(prefix string, es []fuzzEntry) {
			for _, e := range es {
				want = append(want, filepath.Join(prefix, e.name))
				if e.mode == filemode.Dir {
					list(filepath.Join(prefix, e.name), e.sub)
				}
			}
		}
		list("", entries)
		got := pathsUnder(t, ws.Dir)[1:]
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("the workspace holds %q, the tree %q", got, want)
		}
	})
}

// checkWorkspace checks that dir holds entries as written: content and
// mode, symlink targets that resolve inside the workspace.
func checkWorkspace(t *testing.T, ws, rel string, entries []fuzzEntry) {
	t.Helper()
	for _, e := range entries {
		p := filepath.Join(ws, rel, e.name)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		switch e.mode {
		case filemode.Dir:
			if !fi.IsDir() {
				t.Fatalf("%s is not a folder", p)
			}
			checkWorkspace(t, ws, filepath.Join(rel, e.name), e.sub)
		case filemode.Symlink:
			target, err := os.Readlink(p)
			if err != nil || target != string(e.content) {
				t.Fatalf("symlink %s -> %q (%v), want %q", p, target, err, e.content)
			}
			if resolved, err := filepath.EvalSymlinks(p); err == nil {
				if r, err := filepath.Rel(ws, resolved); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
					t.Fatalf("symlink %s resolves to %s, outside the workspace", p, resolved)
				}
			} else if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("symlink %s: %v", p, err)
			}
		default:
			b, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(b, e.content) {
				t.Fatalf("%s holds %q (%v), want %q", p, b, err, e.content)
			}
			want := fs.FileMode(0o444)
			if e.mode == filemode.Executable {
				want = 0o555
			}
			if fi.Mode().Perm() != want {
				t.Fatalf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
			}
		}
	}
}
