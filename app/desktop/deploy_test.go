package desktop

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/berthdev/berth/app/api"
	"github.com/berthdev/berth/internal/core"
)

func (f *fakeCore) record(format string, args ...any) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fakeCore) Revisions(ctx context.Context, env string, limit int) ([]core.RevisionEntry, error) {
	f.record("revisions %s", env)
	return []core.RevisionEntry{{Revision: core.Revision{Hash: "a1"}, Deployed: true}}, nil
}

func (f *fakeCore) PlanDeploy(ctx context.Context, req core.DeployRequest) (*core.DeployPlan, error) {
	f.record("plan-deploy %s %s", req.Env, req.Rev)
	return &core.DeployPlan{Env: req.Env, Kind: core.KindDeploy}, nil
}

func (f *fakeCore) Deploy(ctx context.Context, req core.DeployRequest, confirm core.Confirm, emit core.Emit) (*core.DeployResult, error) {
	f.record("deploy %s %s %v", req.Env, req.Rev, confirm(core.DeployPlan{}))
	emit(core.Event{Env: req.Env, Kind: "message", Detail: "deploying"})
	return &core.DeployResult{Kind: core.KindDeploy}, nil
}

func (f *fakeCore) PlanRollback(ctx context.Context, req core.RollbackRequest) (*core.DeployPlan, error) {
	f.record("plan-rollback %s %s", req.Env, req.To)
	return &core.DeployPlan{Env: req.Env, Kind: core.KindRollback}, nil
}

func (f *fakeCore) Rollback(ctx context.Context, req core.RollbackRequest, confirm core.Confirm, emit core.Emit) (*core.DeployResult, error) {
	f.record("rollback %s %s %v", req.Env, req.To, confirm(core.DeployPlan{}))
	return &core.DeployResult{Kind: core.KindRollback}, nil
}

func (f *fakeCore) History(ctx context.Context, env string, fl core.HistoryFilter) ([]core.Deployment, error) {
	f.record("history %s %v %s %d", env, fl.Kinds, fl.Status, fl.Limit)
	return nil, nil
}

func TestRevisionMethods(t *testing.T) {
	f := &fakeCore{}
	a, events := newTestAPI(t, f)
	if revs, err := a.Revisions("web"); err != nil || len(revs) != 1 {
		t.Fatalf("Revisions: %v %v", revs, err)
	}
	if _, err := a.PlanDeploy("web", "", "a1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Deploy("web", "", "a1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PlanRollback("web", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Rollback("web", ""); err != nil {
		t.Fatal(err)
	}
	if ds, err := a.History("web", api.HistoryFilter{Kinds: []string{"deploy"}}); err != nil || ds == nil {
		t.Fatalf("History: %v %v", ds, err)
	}
	want := []string{"revisions web", "plan-deploy web a1", "deploy web a1 true", "plan-rollback web ", "rollback web  true", "history web [deploy]  200"}
	if !reflect.DeepEqual(f.calls, want) {
		t.Fatalf("calls %q, want %q", f.calls, want)
	}
	if got := events(); len(got) != 1 || got[0].name != EventName || got[0].ev.Detail != "deploying" {
		t.Fatalf("events %+v", got)
	}
}
