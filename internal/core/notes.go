package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Notes writes a line about each recorded operation as a git note on its
// revision (refs/notes/berth in the definitions repo), and pushes the
// notes when asked. The adapter decides whether notes are wanted at all.
type Notes interface {
	// AddNote appends n to the note on n.Revision; it works offline.
	AddNote(ctx context.Context, n Note) error
	// PushNotes pushes the notes to remote ("" means origin).
	PushNotes(ctx context.Context, remote string) error
}

// Note is what a git note records of one operation.
type Note struct {
	ID         int64
	Kind       string
	Env        string
	Definition string
	Revision   string
	Status     string
	When       time.Time
}

// WithNotes gives core the git notes writer.
func WithNotes(n Notes) Option { return func(b *Berth) { b.notes = n } }

// note records a finished operation that has a revision as a git note. A
// note that cannot be written is a warning: the operation stands.
func (b *Berth) note(ctx context.Context, d Deployment, status string, emit Emit) {
	if b.notes == nil || d.Revision == "" {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	err := b.notes.AddNote(cctx, Note{ID: d.ID, Kind: d.Kind, Env: d.Env, Definition: d.Definition, Revision: d.Revision, Status: status, When: b.now()})
	if err != nil {
		emit.send(Event{Env: d.Env, Kind: EventWarning, Detail: fmt.Sprintf("the git note on %s was not written: %v", shortRev(d.Revision), err)})
	}
}

// PushNotes pushes the git notes of the definitions repo to remote (""
// means origin); nothing is pushed otherwise.
func (b *Berth) PushNotes(ctx context.Context, remote string) error {
	if err := b.needRepo(); err != nil {
		return err
	}
	if b.notes == nil {
		return errors.New("git notes are not available here")
	}
	return b.notes.PushNotes(ctx, remote)
}
