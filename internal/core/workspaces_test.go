package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeWorkspaces records what Prune was asked.
type fakeWorkspaces struct {
	mu    sync.Mutex
	calls []WorkspacePrune
	err   error
	block chan struct{} // when set, Prune waits for it
}

func (f *fakeWorkspaces) Prune(ctx context.Context, req WorkspacePrune) (*PruneResult, error) {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req)
	return &PruneResult{}, f.err
}

type fakeUsers []RevisionUse

func (f fakeUsers) InUse(context.Context) ([]RevisionUse, error) { return f, nil }

func TestPruneWorkspacesKeepsWhatEnvironmentsNeed(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		uses      fakeUsers
		keepDays  int
		wantKeep  map[string]string
		wantSince time.Time
		wantErr   string
	}{
		{"default days", fakeUsers{{Env: "web", Definition: "web", Revision: "r1", Why: "current"}, {Env: "web", Revision: "r2", Why: "rollback target"}},
			14, map[string]string{"tree of " + fmt.Sprintf(composeV, "r1"): "web: current", "tree of " + fmt.Sprintf(composeV, "r2"): "web: rollback target"},
			now.Add(-14 * 24 * time.Hour), ""},
		{"two environments on one tree", fakeUsers{{Env: "web", Revision: "r1", Why: "current"}, {Env: "web2", Definition: "web", Revision: "r1", Why: "last good"}},
			3, map[string]string{"tree of " + fmt.Sprintf(composeV, "r1"): "web: current; web2: last good"}, now.Add(-3 * 24 * time.Hour), ""},
		{"a reason seen twice is kept once, with the others", fakeUsers{{Env: "web", Revision: "r1", Why: "current"}, {Env: "web2", Definition: "web", Revision: "r1", Why: "last good"},
			{Env: "web", Revision: "r1", Why: "current"}},
			3, map[string]string{"tree of " + fmt.Sprintf(composeV, "r1"): "web: current; web2: last good"}, now.Add(-3 * 24 * time.Hour), ""},
		{"zero days still keeps the last hour", nil, 0, map[string]string{}, now.Add(-time.Hour), ""},
		{"an unknown revision removes nothing", fakeUsers{{Env: "web", Revision: "gone", Why: "current"}}, 14, nil, time.Time{},
			`cannot tell which workspace web (current) uses, so none was removed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _, _, _ := deployFixture(t)
			ws := &fakeWorkspaces{}
			WithWorkspaces(ws, tc.uses, func() int { return tc.keepDays }, nil)(b)
			b.now = func() time.Time { return now }
			res, err := b.PruneWorkspaces(context.Background(), PruneRequest{DryRun: true})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrNotFound) || len(ws.calls) != 0 {
					t.Fatalf("err %v, calls %d; want %q", err, len(ws.calls), tc.wantErr)
				}
				return
			}
			if err != nil || len(ws.calls) != 1 {
				t.Fatalf("err %v, calls %d", err, len(ws.calls))
			}
			c := ws.calls[0]
			if fmt.Sprint(c.Keep) != fmt.Sprint(tc.wantKeep) || !c.UsedSince.Equal(tc.wantSince) || !c.DryRun || c.Wait <= 0 {
				t.Fatalf("asked %+v\nwant keep %v since %v", c, tc.wantKeep, tc.wantSince)
			}
			if !res.DryRun || res.KeepDays != tc.keepDays {
				t.Fatalf("result %+v", res)
			}
		})
	}
}

func TestDeployPrunesInBackground(t *testing.T) {
	b, e, _, _ := deployFixture(t)
	ws := &fakeWorkspaces{block: make(chan struct{}), err: errors.New("disk on fire")}
	var logged []string
	var mu sync.Mutex
	WithWorkspaces(ws, fakeUsers{}, nil, func(f string, a ...any) { mu.Lock(); logged = append(logged, fmt.Sprintf(f, a...)); mu.Unlock() })(b)
	ctx := context.Background()
	// The clean-up is still blocked: the deploy returned without waiting.
	if _, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: "r1"}, yes, nil); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	close(ws.block)
	b.Close()
	if len(ws.calls) != 1 || ws.calls[0].Wait != 0 || ws.calls[0].DryRun {
		t.Fatalf("background prunes: %+v", ws.calls)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "disk on fire") {
		t.Fatalf("logged: %q", logged)
	}
	// A failed deploy starts none.
	e.bad["r3"] = true
	if _, err := b.Deploy(ctx, DeployRequest{Env: "other", Rev: "r3"}, yes, nil); err == nil {
		t.Fatal("deploy of r3 should fail its health check")
	}
	b.Close()
	if len(ws.calls) != 1 {
		t.Fatalf("a failed deploy pruned: %d calls", len(ws.calls))
	}
	// Busy workspaces are not an error worth logging.
	ws.err, ws.block = fmt.Errorf("held: %w", ErrBusy), nil
	if _, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: "r2"}, yes, nil); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if len(ws.calls) != 2 || len(logged) != 1 {
		t.Fatalf("calls %d, logged %q", len(ws.calls), logged)
	}
}
