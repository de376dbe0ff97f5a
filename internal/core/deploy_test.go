package core

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// fakeRevs serves definitions written to disk per revision.
type fakeRevs struct {
	t    *testing.T
	revs map[string]string // hash -> compose.yaml
	// unlisted revisions are left out of Log (commits that do not touch
	// the definition).
	unlisted map[string]bool
	// root holds the workspaces (as Berth's data folder does).
	root string
}

func (f *fakeRevs) Resolve(_ context.Context, rev string) (Revision, error) {
	if rev == "" {
		rev = "head"
	}
	if _, ok := f.revs[rev]; !ok {
		return Revision{}, fmt.Errorf("revision %q: %w", rev, ErrNotFound)
	}
	return Revision{Hash: rev, Short: rev, Message: "commit " + rev}, nil
}

func (f *fakeRevs) Log(context.Context, string, int) ([]Revision, error) {
	var out []Revision
	for h := range f.revs {
		if f.unlisted[h] {
			continue
		}
		out = append(out, Revision{Hash: h, Short: h, DefinitionTree: "tree of " + f.revs[h]})
	}
	return out, nil
}

// DefinitionTree stands a revision's compose file for its tree hash.
func (f *fakeRevs) DefinitionTree(_ context.Context, rev Revision, def string) (string, error) {
	c, ok := f.revs[rev.Hash]
	if !ok {
		return "", fmt.Errorf("revision %q: %w", rev.Hash, ErrNotFound)
	}
	return "tree of " + c, nil
}

func (f *fakeRevs) Materialise(_ context.Context, rev Revision, def string) (string, error) {
	if f.root == "" {
		f.root = f.t.TempDir()
	}
	parent, err := os.MkdirTemp(f.root, "ws-")
	if err != nil {
		return "", err
	}
	// A Dockerfile beside the definition, for a build context that
	// escapes it.
	os.WriteFile(filepath.Join(parent, "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	dir := filepath.Join(parent, def)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	os.WriteFile(filepath.Join(dir, "berth.yaml"), []byte("name: "+def+"\ncompose: [compose.yaml]\nhealth:\n  timeout: 5s\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(f.revs[rev.Hash]), 0o644)
	return dir, nil
}

// fakeStore keeps deployment records in memory.
type fakeStore struct {
	mu   sync.Mutex
	ds   []Deployment
	dead map[int64]bool // running records whose process is gone
}

func (s *fakeStore) Begin(_ context.Context, d Deployment) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.ID = int64(len(s.ds) + 1)
	d.Status = StatusRunning
	d.StartedAt = time.Now().Add(time.Duration(d.ID) * time.Millisecond)
	s.ds = append(s.ds, d)
	return d.ID, nil
}

func (s *fakeStore) Finish(_ context.Context, id int64, o Outcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := &s.ds[id-1]
	if d.Status != StatusRunning {
		return fmt.Errorf("%d already finished", id)
	}
	d.Status, d.Error, d.ImageDigests = o.Status, o.Error, o.ImageDigests
	return nil
}

func (s *fakeStore) History(_ context.Context, env string, f HistoryFilter) ([]Deployment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	for i := len(s.ds) - 1; i >= 0; i-- {
		d := s.ds[i]
		if d.Env != env || (f.Status != "" && d.Status != f.Status) {
			continue
		}
		if len(f.Kinds) > 0 && !contains(f.Kinds, d.Kind) {
			continue
		}
		out = append(out, d)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (s *fakeStore) Unfinished(_ context.Context, env string) ([]Deployment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Deployment
	for _, d := range s.ds {
		if d.Env == env && d.Status == StatusRunning && s.dead[d.ID] {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *fakeStore) MarkInterrupted(_ context.Context, id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ds[id-1].Status = StatusInterrupted
	return nil
}

func (s *fakeStore) statuses() string {
	var b []string
	for _, d := range s.ds {
		b = append(b, fmt.Sprintf("%s:%s:%s", d.Kind, d.Revision, d.Status))
	}
	return strings.Join(b, " ")
}

type fakeLocker struct{ held map[string]bool }

func (l *fakeLocker) Lock(_ context.Context, env, what string) (func(), error) {
	if l.held[env] {
		return nil, fmt.Errorf("environment %s is busy: deploy by pid 1: %w", env, ErrBusy)
	}
	l.held[env] = true
	return func() { delete(l.held, env) }, nil
}

// healthEngine fails Apply (as a failed health gate) for projects at the
// revisions named in bad.
type healthEngine struct {
	fakeEngine
	bad map[string]bool
	// projects are the desired states applied, in order.
	projects []*spec.Project
}

func (h *healthEngine) Apply(ctx context.Context, p *spec.Project, plan reconcile.Plan, o ApplyOptions, progress func(reconcile.Progress)) error {
	h.projects = append(h.projects, p)
	if err := h.fakeEngine.Apply(ctx, p, plan, o, progress); err != nil {
		return err
	}
	if h.bad[p.Revision] {
		return errors.New("service app is unhealthy after 5s")
	}
	return nil
}

const composeV = `services:
  app:
    image: berth-test/probe:latest
    environment:
      V: "%s"
`

func deployFixture(t *testing.T) (*Berth, *healthEngine, *fakeStore, *fakeLocker) {
	revs := &fakeRevs{t: t, revs: map[string]string{}}
	for _, r := range []string{"r1", "r2", "r3", "head"} {
		revs.revs[r] = fmt.Sprintf(composeV, r)
	}
	e := &healthEngine{fakeEngine: fakeEngine{observed: map[string]reconcile.Observed{}}, bad: map[string]bool{}}
	st := &fakeStore{dead: map[int64]bool{}}
	lk := &fakeLocker{held: map[string]bool{}}
	revs.root = t.TempDir()
	b := New(func(context.Context) (Engine, error) { return e, nil }, fakeDefs{}, WithRevisions(revs), WithStore(st), WithLocker(lk),
		WithTrust(TrustSettings{Forbid: []string{revs.root}}))
	return b, e, st, lk
}

func yes(DeployPlan) bool { return true }

func TestDeployRecordsAndLabelsRevision(t *testing.T) {
	b, e, st, _ := deployFixture(t)
	res, err := b.Deploy(context.Background(), DeployRequest{Env: "web", Rev: "r1"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Revision.Hash != "r1" || res.ID != 1 {
		t.Fatalf("result: %+v", res)
	}
	if got := st.statuses(); got != "deploy:r1:succeeded" {
		t.Fatalf("records: %s", got)
	}
	if st.ds[0].Definition != "web" || len(st.ds[0].Plan) == 0 {
		t.Fatalf("record: %+v", st.ds[0])
	}
	if c := e.observed["web"].Containers; len(c) != 1 || c[0].Labels[reconcile.LabelDefinition] != "web" {
		t.Fatalf("containers: %+v", c)
	}
}

func TestDeployDestructiveNeedsConfirmation(t *testing.T) {
	b, _, st, _ := deployFixture(t)
	ctx := context.Background()
	if _, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: "r1"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	// r2 changes app's environment: the container is replaced.
	_, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: "r2"}, nil, nil)
	if !errors.Is(err, ErrConfirm) {
		t.Fatalf("want ErrConfirm, got %v", err)
	}
	if got := st.statuses(); got != "deploy:r1:succeeded" {
		t.Fatalf("an unconfirmed deploy must record nothing: %s", got)
	}
	asked := false
	if _, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: "r2"}, func(p DeployPlan) bool { asked = true; return p.Result.Plan.Destructive() }, nil); err != nil || !asked {
		t.Fatalf("confirmed deploy: asked %v, err %v", asked, err)
	}
	if _, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: "r3", Yes: true}, nil, nil); err != nil {
		t.Fatalf("--yes: %v", err)
	}
}

func TestFailedHealthRollsBackToLastGood(t *testing.T) {
	b, e, st, _ := deployFixture(t)
	ctx := context.Background()
	for _, r := range []string{"r1", "r2"} {
		if _, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: r}, yes, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.bad["r3"] = true
	var events []string
	res, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: "r3"}, yes, func(ev Event) { events = append(events, ev.Detail) })
	if err == nil || !strings.Contains(err.Error(), "rolled back to r2") || !strings.Contains(err.Error(), "unhealthy") {
		t.Fatalf("want a rolled-back error, got %v", err)
	}
	if res.RolledBack == nil || res.RolledBack.Revision.Hash != "r2" {
		t.Fatalf("rolled back: %+v", res.RolledBack)
	}
	if got := st.statuses(); got != "deploy:r1:succeeded deploy:r2:succeeded deploy:r3:rolled-back rollback:r2:succeeded" {
		t.Fatalf("records: %s", got)
	}
	if st.ds[2].Error == "" || st.ds[3].PreviousRevision != "r2" {
		t.Fatalf("records: %+v", st.ds[2:])
	}
	if !strings.Contains(strings.Join(events, "\n"), "rolling back to r2") {
		t.Fatalf("events: %q", events)
	}
}

func TestFailedFirstDeployHasNothingToRollBackTo(t *testing.T) {
	b, e, st, _ := deployFixture(t)
	e.bad["r1"] = true
	res, err := b.Deploy(context.Background(), DeployRequest{Env: "web", Rev: "r1"}, yes, nil)
	if err == nil || res.RolledBack != nil {
		t.Fatalf("err %v, rolled back %+v", err, res)
	}
	if got := st.statuses(); got != "deploy:r1:failed" {
		t.Fatalf("records: %s", got)
	}
}

func TestRollbackTarget(t *testing.T) {
	b, _, st, _ := deployFixture(t)
	ctx := context.Background()
	for _, r := range []string{"r1", "r2", "r2", "r3"} {
		if _, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: r}, yes, nil); err != nil {
			t.Fatal(err)
		}
	}
	// r3 is current: back to r2; then back to r3 (the one before the
	// current rollback), and --to goes anywhere.
	for _, want := range []string{"r2", "r3"} {
		res, err := b.Rollback(ctx, RollbackRequest{Env: "web", Yes: true}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Revision.Hash != want || res.Kind != KindRollback {
			t.Fatalf("rolled back to %s, want %s", res.Revision.Hash, want)
		}
	}
	if res, err := b.Rollback(ctx, RollbackRequest{Env: "web", To: "r1", Yes: true}, nil, nil); err != nil || res.Revision.Hash != "r1" {
		t.Fatalf("--to r1: %v", err)
	}
	if _, err := b.Rollback(ctx, RollbackRequest{Env: "other", Yes: true}, nil, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("nothing to roll back: %v", err)
	}
	if !strings.HasSuffix(st.statuses(), "rollback:r2:succeeded rollback:r3:succeeded rollback:r1:succeeded") {
		t.Fatalf("records: %s", st.statuses())
	}
}

func TestUnfinishedIsMarkedAndConverged(t *testing.T) {
	b, e, st, _ := deployFixture(t)
	ctx := context.Background()
	if _, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: "r1"}, yes, nil); err != nil {
		t.Fatal(err)
	}
	// A deploy of r2 killed after Begin: its record says running.
	id, _ := st.Begin(ctx, Deployment{Kind: KindDeploy, Env: "web", Revision: "r2"})
	st.dead[id] = true
	var warned string
	res, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: "r2"}, yes, func(ev Event) {
		if ev.Kind == "warning" {
			warned += ev.Detail
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Interrupted) != 1 || res.Interrupted[0] != id || !strings.Contains(warned, "interrupted") {
		t.Fatalf("interrupted %v, warned %q", res.Interrupted, warned)
	}
	if got := st.statuses(); got != "deploy:r1:succeeded deploy:r2:interrupted deploy:r2:succeeded" {
		t.Fatalf("records: %s", got)
	}
	if c := e.observed["web"].Containers; len(c) != 1 {
		t.Fatalf("not converged: %+v", c)
	}
}

func TestBusyEnvironmentIsRefused(t *testing.T) {
	b, e, st, lk := deployFixture(t)
	lk.held["web"] = true
	_, err := b.Deploy(context.Background(), DeployRequest{Env: "web", Rev: "r1"}, yes, nil)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("want ErrBusy, got %v", err)
	}
	if _, err := b.Down(context.Background(), DownRequest{Env: "web"}, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("down: want ErrBusy, got %v", err)
	}
	if len(e.applied) != 0 || len(st.ds) != 0 {
		t.Fatalf("a busy environment must not change: %d applied, %d records", len(e.applied), len(st.ds))
	}
}

func TestUpAndDownAreRecorded(t *testing.T) {
	b, e, st, lk := deployFixture(t)
	b.defs = fakeDefs{"web": web()}
	ctx := context.Background()
	if _, err := b.Up(ctx, UpRequest{Env: "web"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Down(ctx, DownRequest{Env: "web"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := st.statuses(); got != "up::succeeded down::succeeded" {
		t.Fatalf("records: %s", got)
	}
	if len(lk.held) != 0 || len(e.applied) != 2 {
		t.Fatalf("lock held after the run: %v", lk.held)
	}
}

func TestDefinitionEscapingWorkspaceIsRefused(t *testing.T) {
	b, e, st, _ := deployFixture(t)
	revs := b.revs.(*fakeRevs)
	revs.revs["bind"] = "services:\n  app:\n    image: berth-test/probe:latest\n    volumes:\n      - /etc:/host-etc\n"
	revs.revs["build"] = "services:\n  app:\n    build: ..\n"
	revs.revs["inside"] = "services:\n  app:\n    image: berth-test/probe:latest\n    volumes:\n      - ./data:/data\n"
	// A host path outside: a capability to grant (no store records
	// trust here, so nothing can grant it).
	_, err := b.Deploy(context.Background(), DeployRequest{Env: "web", Rev: "bind"}, yes, nil)
	var ue *UntrustedError
	if !errors.As(err, &ue) || len(ue.Review.Blocked) != 1 || ue.Review.Blocked[0] != "/etc" || !strings.Contains(err.Error(), "mounts the host path /etc into app") {
		t.Fatalf("bind: want an untrusted error naming /etc, got %v", err)
	}
	// Out of the workspace into Berth's data folder (the other
	// workspaces): refused whatever is granted.
	_, err = b.Deploy(context.Background(), DeployRequest{Env: "web", Rev: "build"}, yes, nil)
	var se *spec.Error
	if !errors.Is(err, spec.ErrOutside) || !errors.As(err, &se) || se.Field != "services.app.build.context" || !strings.HasSuffix(se.File, "compose.yaml") {
		t.Fatalf("build: want an outside spec.Error naming file and field, got %v", err)
	}
	if len(e.applied) != 0 || len(st.ds) != 0 {
		t.Fatal("a refused definition must change nothing")
	}
	if _, err := b.Deploy(context.Background(), DeployRequest{Env: "web", Rev: "inside"}, yes, nil); err != nil {
		t.Fatalf("a bind mount inside the workspace is fine: %v", err)
	}
}

func TestDeployWithoutRepo(t *testing.T) {
	b := New(func(context.Context) (Engine, error) { return &fakeEngine{}, nil }, fakeDefs{})
	if _, err := b.Deploy(context.Background(), DeployRequest{Env: "web"}, yes, nil); !errors.Is(err, ErrNoRepo) {
		t.Fatalf("want ErrNoRepo, got %v", err)
	}
}

func TestPlanDeployAndRollbackApplyNothing(t *testing.T) {
	b, _, st, _ := deployFixture(t)
	ctx := context.Background()
	p, err := b.PlanDeploy(ctx, DeployRequest{Env: "web", Rev: "r1"})
	if err != nil || p.Kind != KindDeploy || p.Revision.Hash != "r1" || len(p.Result.Plan.Ops) == 0 {
		t.Fatalf("plan: %+v, %v", p, err)
	}
	if got := st.statuses(); got != "" {
		t.Fatalf("a plan must record nothing: %s", got)
	}
	for _, r := range []string{"r1", "r2"} {
		if _, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: r, Yes: true}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	p, err = b.PlanRollback(ctx, RollbackRequest{Env: "web"})
	if err != nil || p.Kind != KindRollback || p.Revision.Hash != "r1" {
		t.Fatalf("rollback plan: %+v, %v", p, err)
	}
	if got := st.statuses(); got != "deploy:r1:succeeded deploy:r2:succeeded" {
		t.Fatalf("records: %s", got)
	}
}

func TestRevisionsMarkDeployed(t *testing.T) {
	tests := []struct {
		name     string
		deploy   string // "" deploys nothing
		env      string
		unlisted string // a revision Log leaves out, with r2's content
		want     string // the revision marked, "" none
	}{
		{name: "a listed revision", deploy: "r2", env: "web", want: "r2"},
		{name: "a commit that does not touch the definition", deploy: "other", env: "web", unlisted: "other", want: "r2"},
		{name: "nothing deployed", env: "web", want: ""},
		{name: "a definition with no environment", deploy: "r2", env: "ghost", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _, _, _ := deployFixture(t)
			revs := b.revs.(*fakeRevs)
			if tt.unlisted != "" {
				revs.revs[tt.unlisted] = revs.revs["r2"]
				revs.unlisted = map[string]bool{tt.unlisted: true}
			}
			if tt.deploy != "" {
				if _, err := b.Deploy(context.Background(), DeployRequest{Env: "web", Rev: tt.deploy}, yes, nil); err != nil {
					t.Fatal(err)
				}
			}
			got, err := b.Revisions(context.Background(), tt.env, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 4 {
				t.Fatalf("want the 4 listed revisions, got %+v", got)
			}
			marked := ""
			for _, r := range got {
				if r.Deployed {
					if marked != "" {
						t.Fatalf("two marked: %s and %s", marked, r.Hash)
					}
					marked = r.Hash
				}
			}
			if marked != tt.want {
				t.Fatalf("marked %q, want %q", marked, tt.want)
			}
		})
	}
}
