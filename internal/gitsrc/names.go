package gitsrc

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkEntryName says why a tree entry's name cannot be written to disk
// as one file or folder of a workspace, "" when it can. A commit is other
// people's data: Git itself accepts any byte string from a server that
// does not check objects, so a tree may hold "..", "a/b", NUL bytes or
// ".git" in a form some file system folds back to ".git". Refused:
//
//   - empty, "." and "..";
//   - a separator ('/' or '\\') or a NUL byte;
//   - ".git" in any case, and the forms other file systems fold to it:
//     trailing dots and spaces (NTFS, FAT), an NTFS stream (".git::$DATA"),
//     the 8.3 short name "git~1", and code points HFS+ ignores (".g\u200cit");
//   - bytes that are not UTF-8: a name the user cannot read in an error
//     or the UI, and that HFS+ and NTFS would reject anyway.
func checkEntryName(name string) string {
	switch name {
	case "":
		return "an empty name"
	case ".", "..":
		return "a name that means a folder itself or its parent"
	}
	if strings.ContainsAny(name, "/\\") {
		return "a path separator in a name"
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "a NUL byte in a name"
	}
	if !utf8.ValidString(name) {
		return "a name that is not UTF-8"
	}
	if isDotGit(name) {
		return "a name that is, or some file system reads as, .git"
	}
	return ""
}

// isDotGit says whether some file system would take name for ".git".
func isDotGit(name string) bool {
	folded := foldName(name)
	if folded == ".git" {
		return true
	}
	// NTFS 8.3 short names: GIT~1 (and GIT~2... when other long names
	// starting with "git" took the first).
	if rest, ok := strings.CutPrefix(folded, "git~"); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
		return true
	}
	return false
}

// foldName is name as a case-insensitive file system that drops ignorable
// code points (HFS+), trailing dots and spaces (NTFS, FAT) and stream
// suffixes (NTFS, "name:stream:$TYPE") would see it.
func foldName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if hfsIgnorable(r) {
			continue
		}
		b.WriteRune(r)
	}
	s := b.String()
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimRight(s, ". ")
	return strings.ToLower(s)
}

// hfsIgnorable lists the code points HFS+ leaves out when it compares
// names (the zero-width and direction marks, and the byte order mark).
func hfsIgnorable(r rune) bool {
	switch {
	case r >= 0x200c && r <= 0x200f, // zero-width non-joiner, joiner; LRM, RLM
		r >= 0x202a && r <= 0x202e, // embeddings and overrides
		r >= 0x206a && r <= 0x206f, // deprecated format characters
		r == 0xfeff:                // zero-width no-break space (BOM)
		return true
	}
	return false
}

// unsafeEntry is the error for a tree entry Berth will not write.
func unsafeEntry(path, why string) error {
	return fmt.Errorf("tree entry %q: %s: %w", path, why, ErrUnsafe)
}
