package core

import (
	"context"
	"errors"
	"strings"
	"testing"
)

type fakeNotes struct {
	notes []Note
	err   error
}

func (f *fakeNotes) AddNote(_ context.Context, n Note) error {
	f.notes = append(f.notes, n)
	return f.err
}

func (f *fakeNotes) PushNotes(context.Context, string) error { return nil }

func TestDeployAndRollbackAreNoted(t *testing.T) {
	b, e, _, _ := deployFixture(t)
	notes := &fakeNotes{}
	b.notes = notes
	ctx := context.Background()
	for _, rev := range []string{"r1", "r2"} {
		if _, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: rev}, yes, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.bad["r3"] = true
	if _, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: "r3"}, yes, nil); err == nil {
		t.Fatal("want the failed deploy's error")
	}
	var got []string
	for _, n := range notes.notes {
		got = append(got, n.Kind+":"+n.Revision+":"+n.Status)
		if n.ID == 0 || n.Env != "web" || n.When.IsZero() {
			t.Fatalf("note %+v", n)
		}
	}
	// The automatic rollback finishes (and is noted) inside the failed deploy.
	if s := strings.Join(got, " "); s != "deploy:r1:succeeded deploy:r2:succeeded rollback:r2:succeeded deploy:r3:rolled-back" {
		t.Fatalf("notes: %s", s)
	}

	// A note that cannot be written is a warning; the deploy stands.
	notes.err = errors.New("disk full")
	var warned string
	res, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: "r1"}, yes, func(ev Event) {
		if ev.Kind == "warning" {
			warned = ev.Detail
		}
	})
	if err != nil || res == nil || !strings.Contains(warned, "disk full") {
		t.Fatalf("deploy with a failing note: %v, warning %q", err, warned)
	}
}
