package root

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/gitsrc"
)

// notesAdapter adapts gitsrc's notes to core.Notes. Notes are written only
// when wanted: BERTH_NOTES or the settings say so, else the definitions
// repo's own Git config (`git config berth.notes true`).
type notesAdapter struct {
	repo   *repoSource
	wanted func() (on, ok bool)
}

// noteLine is one line of a note, as JSON.
type noteLine struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	Env        string    `json:"env"`
	Definition string    `json:"definition,omitempty"`
	Result     string    `json:"result"`
	Who        string    `json:"who,omitempty"`
	User       string    `json:"user,omitempty"`
	Host       string    `json:"host,omitempty"`
	When       time.Time `json:"when"`
}

func (n *notesAdapter) AddNote(ctx context.Context, note core.Note) error {
	on, decided := n.wanted()
	if decided && !on {
		return nil
	}
	r, err := n.repo.open(ctx)
	if err != nil {
		return err
	}
	if !decided && !r.NotesWanted() {
		return nil
	}
	name, email := gitIdentity(os.Getenv)
	l := noteLine{ID: note.ID, Kind: note.Kind, Env: note.Env, Definition: note.Definition, Result: note.Status, When: note.When.UTC()}
	switch {
	case name != "" && email != "":
		l.Who = fmt.Sprintf("%s <%s>", name, email)
	default:
		l.Who = name + email
	}
	if u, err := user.Current(); err == nil {
		l.User = u.Username
	}
	l.Host, _ = os.Hostname()
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return gitError(r.AddNote(note.Revision, string(b), gitsrc.Signature{Name: name, Email: email, When: note.When}))
}

func (n *notesAdapter) PushNotes(ctx context.Context, remote string) error {
	r, err := n.repo.open(ctx)
	if err != nil {
		return err
	}
	return gitError(r.PushNotes(ctx, remote))
}
