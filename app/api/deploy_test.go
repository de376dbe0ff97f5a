package api

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/berthdev/berth/internal/core"
)

// deployCore answers the revision methods and records what it was asked.
type deployCore struct {
	Core
	deployReq   core.DeployRequest
	rollbackReq core.RollbackRequest
	filter      core.HistoryFilter
	confirmed   bool
	limit       int
}

func (d *deployCore) Revisions(ctx context.Context, env string, limit int) ([]core.RevisionEntry, error) {
	d.limit = limit
	return []core.RevisionEntry{{Revision: core.Revision{Hash: "bbb", Short: "bbb"}}, {Revision: core.Revision{Hash: "aaa", Short: "aaa"}, Deployed: true}}, nil
}

func (d *deployCore) PlanDeploy(ctx context.Context, req core.DeployRequest) (*core.DeployPlan, error) {
	d.deployReq = req
	return &core.DeployPlan{Env: req.Env, Kind: core.KindDeploy, Revision: core.Revision{Hash: req.Rev}, Result: &core.Result{Env: req.Env}}, nil
}

func (d *deployCore) Deploy(ctx context.Context, req core.DeployRequest, confirm core.Confirm, emit core.Emit) (*core.DeployResult, error) {
	d.deployReq = req
	d.confirmed = confirm != nil && confirm(core.DeployPlan{Env: req.Env})
	emit(core.Event{Env: req.Env, Kind: "message", Detail: "deploying"})
	return &core.DeployResult{Kind: core.KindDeploy, Revision: core.Revision{Hash: req.Rev}}, nil
}

func (d *deployCore) PlanRollback(ctx context.Context, req core.RollbackRequest) (*core.DeployPlan, error) {
	d.rollbackReq = req
	return &core.DeployPlan{Env: req.Env, Kind: core.KindRollback, Revision: core.Revision{Hash: "aaa"}}, nil
}

func (d *deployCore) Rollback(ctx context.Context, req core.RollbackRequest, confirm core.Confirm, emit core.Emit) (*core.DeployResult, error) {
	d.rollbackReq = req
	d.confirmed = confirm != nil && confirm(core.DeployPlan{Env: req.Env})
	return &core.DeployResult{Kind: core.KindRollback}, nil
}

func (d *deployCore) History(ctx context.Context, env string, f core.HistoryFilter) ([]core.Deployment, error) {
	d.filter = f
	return nil, nil
}

func TestDeployAndRollbackAreConfirmedAndEmitProgress(t *testing.T) {
	rec := &recorder{}
	d := &deployCore{}
	s := New(d, nil, rec.emit)
	ctx := t.Context()
	p, err := s.PlanDeploy(ctx, "web", "site", "aaa")
	if err != nil || p.Kind != core.KindDeploy || d.deployReq != (core.DeployRequest{Env: "web", Definition: "site", Rev: "aaa"}) {
		t.Fatalf("plan: %+v %v (asked %+v)", p, err, d.deployReq)
	}
	if _, err := s.Deploy(ctx, "web", "site", "aaa"); err != nil || !d.confirmed {
		t.Fatalf("deploy: confirmed %v, err %v", d.confirmed, err)
	}
	if len(rec.names) != 1 || rec.names[0] != EventOp {
		t.Fatalf("events: %v", rec.names)
	}
	d.confirmed = false
	if _, err := s.PlanRollback(ctx, "web", ""); err != nil || d.rollbackReq.Env != "web" {
		t.Fatalf("plan rollback: %v", err)
	}
	if _, err := s.Rollback(ctx, "web", "aaa"); err != nil || !d.confirmed || d.rollbackReq.To != "aaa" {
		t.Fatalf("rollback: confirmed %v, req %+v, err %v", d.confirmed, d.rollbackReq, err)
	}
	if _, err := s.Deploy(ctx, "", "", ""); err == nil {
		t.Fatal("deploy without an environment must fail")
	}
}

func TestDeployIsOneOperationPerEnvironment(t *testing.T) {
	s := New(&deployCore{}, nil, (&recorder{}).emit)
	done, err := s.begin("web", "up")
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if _, err := s.Deploy(t.Context(), "web", "", "aaa"); !errors.Is(err, ErrBusy) {
		t.Fatalf("deploy: want ErrBusy, got %v", err)
	}
	if _, err := s.Rollback(t.Context(), "web", ""); !errors.Is(err, ErrBusy) {
		t.Fatalf("rollback: want ErrBusy, got %v", err)
	}
}

func TestRevisionsAndHistory(t *testing.T) {
	d := &deployCore{}
	s := New(d, nil, (&recorder{}).emit)
	revs, err := s.Revisions(t.Context(), "web")
	if err != nil || len(revs) != 2 || !revs[1].Deployed || d.limit != MaxRevisions {
		t.Fatalf("revisions: %+v %v (limit %d)", revs, err, d.limit)
	}
	ds, err := s.History(t.Context(), "web", HistoryFilter{Kinds: []string{"deploy"}, Status: "failed"})
	if err != nil || ds == nil || len(ds) != 0 {
		t.Fatalf("history: %#v %v", ds, err)
	}
	want := core.HistoryFilter{Kinds: []string{"deploy"}, Status: "failed", Limit: DefaultHistory}
	if !reflect.DeepEqual(d.filter, want) {
		t.Fatalf("filter %+v, want %+v", d.filter, want)
	}
	if _, err := s.History(t.Context(), "", HistoryFilter{}); err == nil {
		t.Fatal("history without an environment must fail")
	}
}
