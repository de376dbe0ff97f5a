package gitsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// NotesRef is where Berth keeps its git notes: one note per commit, one
// line per operation recorded on it.
const NotesRef = "refs/notes/berth"

// Signature is who writes a note.
type Signature struct {
	Name, Email string
	When        time.Time
}

// NotesWanted reports whether the repo's own Git config turns Berth's notes
// on (`git config berth.notes true`).
func (r *Repo) NotesWanted() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, err := r.repo.Config()
	if err != nil {
		return false
	}
	v := strings.ToLower(cfg.Raw.Section("berth").Option("notes"))
	return v == "true" || v == "yes" || v == "on" || v == "1"
}

// AddNote appends line (one line; a trailing newline is added) to the note
// on commit under NotesRef, keeping what the note already says, and
// commits the notes tree as sig, the way `git notes --ref=berth append`
// does. It works offline, on the local object store only.
func (r *Repo) AddNote(commit, line string, sig Signature) error {
	target, ok := parseHash(commit)
	if !ok {
		return fmt.Errorf("note on %q: not a full commit hash: %w", commit, ErrNotFound)
	}
	line = strings.TrimRight(strings.ReplaceAll(line, "\n", " "), " ") + "\n"
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.repo.CommitObject(target); err != nil {
		return fmt.Errorf("note on %s: %w", commit, ErrNotFound)
	}
	// Another process may add a note at the same time: the ref is moved
	// only from the value this run read, else it tries again.
	for attempt := 0; ; attempt++ {
		err := r.addNote(target, line, sig)
		if !errors.Is(err, errRefMoved) || attempt == 4 {
			return err
		}
	}
}

var errRefMoved = errors.New("notes ref moved meanwhile")

// addNote is one attempt of AddNote; callers hold r.mu.
func (r *Repo) addNote(target plumbing.Hash, line string, sig Signature) error {
	name := plumbing.ReferenceName(NotesRef)
	s := r.repo.Storer
	var old *plumbing.Reference
	var parents []plumbing.Hash
	var root *object.Tree
	if ref, err := s.Reference(name); err == nil {
		old = ref
		c, err := r.repo.CommitObject(ref.Hash())
		if err != nil {
			return fmt.Errorf("%s: %w", NotesRef, err)
		}
		if root, err = c.Tree(); err != nil {
			return fmt.Errorf("%s: %w", NotesRef, err)
		}
		parents = []plumbing.Hash{c.Hash}
	} else if !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return fmt.Errorf("%s: %w", NotesRef, err)
	}
	hex := target.String()
	// The note may sit at the top (<40 hex>) or fanned out (<2>/<38>).
	var entries []object.TreeEntry
	if root != nil {
		entries = append(entries, root.Entries...)
	}
	text := ""
	place := -1 // index in entries of the note or its fan-out folder
	var fan *object.Tree
	for i, e := range entries {
		switch {
		case e.Name == hex && e.Mode.IsFile():
			b, err := r.blobText(e.Hash)
			if err != nil {
				return err
			}
			text, place = b, i
		case e.Name == hex[:2] && e.Mode == filemode.Dir:
			t, err := object.GetTree(s, e.Hash)
			if err != nil {
				return fmt.Errorf("%s: %w", NotesRef, err)
			}
			for _, fe := range t.Entries {
				if fe.Name == hex[2:] {
					b, err := r.blobText(fe.Hash)
					if err != nil {
						return err
					}
					text, place, fan = b, i, t
				}
			}
		}
	}
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	blob, err := r.storeBlob(text + line)
	if err != nil {
		return err
	}
	switch {
	case fan != nil:
		fes := append([]object.TreeEntry(nil), fan.Entries...)
		for i := range fes {
			if fes[i].Name == hex[2:] {
				fes[i].Hash = blob
			}
		}
		h, err := r.storeTree(fes)
		if err != nil {
			return err
		}
		entries[place].Hash = h
	case place >= 0:
		entries[place].Hash = blob
	default:
		entries = append(entries, object.TreeEntry{Name: hex, Mode: filemode.Regular, Hash: blob})
	}
	treeHash, err := r.storeTree(entries)
	if err != nil {
		return err
	}
	sign := object.Signature{Name: sig.Name, Email: sig.Email, When: sig.When}
	if sign.Name == "" {
		sign.Name = "berth"
	}
	if sign.When.IsZero() {
		sign.When = time.Now()
	}
	c := &object.Commit{Author: sign, Committer: sign, Message: "Notes added by 'berth'\n", TreeHash: treeHash, ParentHashes: parents}
	obj := s.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return err
	}
	ch, err := s.SetEncodedObject(obj)
	if err != nil {
		return fmt.Errorf("write note: %w", err)
	}
	if err := s.CheckAndSetReference(plumbing.NewHashReference(name, ch), old); err != nil {
		if errors.Is(err, plumbing.ErrReferenceNotFound) || strings.Contains(err.Error(), "reference has changed") {
			return errRefMoved
		}
		return fmt.Errorf("update %s: %w", NotesRef, err)
	}
	return nil
}

// Note is the note on commit under NotesRef ("" when there is none).
func (r *Repo) Note(commit string) (string, error) {
	target, ok := parseHash(commit)
	if !ok {
		return "", fmt.Errorf("note on %q: not a full commit hash: %w", commit, ErrNotFound)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.repo.Storer.Reference(plumbing.ReferenceName(NotesRef))
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	c, err := r.repo.CommitObject(ref.Hash())
	if err != nil {
		return "", err
	}
	t, err := c.Tree()
	if err != nil {
		return "", err
	}
	hex := target.String()
	for _, p := range []string{hex, hex[:2] + "/" + hex[2:]} {
		if e, err := t.FindEntry(p); err == nil {
			return r.blobText(e.Hash)
		}
	}
	return "", nil
}

func (r *Repo) blobText(h plumbing.Hash) (string, error) {
	b, err := r.repo.BlobObject(h)
	if err != nil {
		return "", fmt.Errorf("note blob %s: %w", h, err)
	}
	rd, err := b.Reader()
	if err != nil {
		return "", err
	}
	defer rd.Close()
	out, err := io.ReadAll(rd)
	return string(out), err
}

func (r *Repo) storeBlob(text string) (plumbing.Hash, error) {
	obj := r.repo.Storer.NewEncodedObject()
	obj.SetType(plumbing.BlobObject)
	w, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := io.WriteString(w, text); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return r.repo.Storer.SetEncodedObject(obj)
}

// storeTree writes a tree of entries, sorted the way Git sorts them.
func (r *Repo) storeTree(entries []object.TreeEntry) (plumbing.Hash, error) {
	sort.Slice(entries, func(i, j int) bool { return treeKey(entries[i]) < treeKey(entries[j]) })
	t := &object.Tree{Entries: entries}
	obj := r.repo.Storer.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return r.repo.Storer.SetEncodedObject(obj)
}

// treeKey sorts a folder as if its name ended in "/", as Git does.
func treeKey(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

// PushNotes pushes NotesRef to remote (default "origin"): Berth's clone
// pushes to the URL it was cloned from, a local repo to its own remote of
// that name. Nothing else is pushed. When the remote's notes have moved on
// (someone else pushed notes), the push is refused with a message that
// says how to merge them.
func (r *Repo) PushNotes(ctx context.Context, remote string) error {
	if remote == "" {
		remote = "origin"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.repo.Storer.Reference(plumbing.ReferenceName(NotesRef)); err != nil {
		return fmt.Errorf("no notes to push: %s does not exist in %s: %w", NotesRef, r.dir, ErrNotFound)
	}
	rem, err := r.repo.Remote(remote)
	if err != nil {
		return fmt.Errorf("remote %q of %s: %w", remote, r.dir, ErrNotFound)
	}
	url := ""
	if urls := rem.Config().URLs; len(urls) > 0 {
		url = urls[0]
	}
	auth, err := r.auth.method(ctx, url)
	if err != nil {
		return err
	}
	spec := config.RefSpec(NotesRef + ":" + NotesRef)
	err = rem.PushContext(ctx, &git.PushOptions{RemoteName: remote, RefSpecs: []config.RefSpec{spec}, Auth: auth})
	switch {
	case err == nil, errors.Is(err, git.NoErrAlreadyUpToDate):
		return nil
	case errors.Is(err, git.ErrNonFastForwardUpdate), strings.Contains(err.Error(), "non-fast-forward"):
		return fmt.Errorf("%s on %s has notes this repo lacks (someone else pushed notes): merge them first, e.g. `git fetch %s %s:refs/notes/berth-theirs && git notes --ref=berth merge -s cat_sort_uniq refs/notes/berth-theirs`, then push again", NotesRef, redact(url), remote, NotesRef)
	}
	return classify(err, url, auth)
}
