package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/core"
)

// revsCore answers the revision endpoints and records what it was asked.
type revsCore struct {
	fakeCore
	calls     []string
	confirmed []bool
	filter    core.HistoryFilter
	err       error
}

func (r *revsCore) Revisions(ctx context.Context, env string, limit int) ([]core.RevisionEntry, error) {
	r.calls = append(r.calls, "revisions "+env)
	return []core.RevisionEntry{{Revision: core.Revision{Hash: "b2", Short: "b2", Message: "newer"}}, {Revision: core.Revision{Hash: "a1", Short: "a1"}, Deployed: true}}, r.err
}

func (r *revsCore) PlanDeploy(ctx context.Context, req core.DeployRequest) (*core.DeployPlan, error) {
	r.calls = append(r.calls, fmt.Sprintf("plan-deploy %s %s %s", req.Env, req.Definition, req.Rev))
	return &core.DeployPlan{Env: req.Env, Kind: core.KindDeploy, Revision: core.Revision{Hash: req.Rev}, Result: &core.Result{Env: req.Env}}, r.err
}

func (r *revsCore) Deploy(ctx context.Context, req core.DeployRequest, confirm core.Confirm, emit core.Emit) (*core.DeployResult, error) {
	r.calls = append(r.calls, fmt.Sprintf("deploy %s %s %s", req.Env, req.Definition, req.Rev))
	r.confirmed = append(r.confirmed, confirm(core.DeployPlan{}))
	return &core.DeployResult{Kind: core.KindDeploy, Revision: core.Revision{Hash: req.Rev}}, r.err
}

func (r *revsCore) PlanRollback(ctx context.Context, req core.RollbackRequest) (*core.DeployPlan, error) {
	r.calls = append(r.calls, fmt.Sprintf("plan-rollback %s %s", req.Env, req.To))
	return &core.DeployPlan{Env: req.Env, Kind: core.KindRollback}, r.err
}

func (r *revsCore) Rollback(ctx context.Context, req core.RollbackRequest, confirm core.Confirm, emit core.Emit) (*core.DeployResult, error) {
	r.calls = append(r.calls, fmt.Sprintf("rollback %s %s", req.Env, req.To))
	r.confirmed = append(r.confirmed, confirm(core.DeployPlan{}))
	return &core.DeployResult{Kind: core.KindRollback}, r.err
}

func (r *revsCore) History(ctx context.Context, env string, f core.HistoryFilter) ([]core.Deployment, error) {
	r.calls = append(r.calls, "history "+env)
	r.filter = f
	return []core.Deployment{{ID: 3, Kind: core.KindRollback, Env: env, Status: core.StatusSucceeded}}, r.err
}

func TestRevisionEndpoints(t *testing.T) {
	rc := &revsCore{}
	h := newHandler(t.Context(), rc, handlerConfig{token: testToken, hosts: []string{testHost}})
	steps := []struct{ method, path, body string }{
		{"GET", "/api/environments/web/revisions", ""},
		{"POST", "/api/environments/web/plan-deploy", `{"rev":"a1"}`},
		{"POST", "/api/environments/web/deploy", `{"definition":"site","rev":"a1"}`},
		{"POST", "/api/environments/web/plan-rollback", ""},
		{"POST", "/api/environments/web/rollback", `{"to":"a1"}`},
		{"GET", "/api/environments/web/history?kind=deploy&kind=rollback&status=succeeded&limit=5", ""},
	}
	var bodies []string
	for _, s := range steps {
		w := do(h, s.method, s.path, strings.NewReader(s.body), bearer)
		if w.Code != http.StatusOK {
			t.Fatalf("%s %s = %d %s", s.method, s.path, w.Code, w.Body)
		}
		bodies = append(bodies, w.Body.String())
	}
	want := []string{"revisions web", "plan-deploy web  a1", "deploy web site a1", "plan-rollback web ", "rollback web a1", "history web"}
	if !reflect.DeepEqual(rc.calls, want) {
		t.Fatalf("calls %q, want %q", rc.calls, want)
	}
	if !reflect.DeepEqual(rc.confirmed, []bool{true, true}) {
		t.Fatalf("confirmations %v: the UI has shown the plan", rc.confirmed)
	}
	if f := (core.HistoryFilter{Kinds: []string{"deploy", "rollback"}, Status: "succeeded", Limit: 5}); !reflect.DeepEqual(rc.filter, f) {
		t.Fatalf("filter %+v, want %+v", rc.filter, f)
	}
	var revs []core.RevisionEntry
	if err := json.Unmarshal([]byte(bodies[0]), &revs); err != nil || len(revs) != 2 || !revs[1].Deployed {
		t.Fatalf("revisions %s (%v)", bodies[0], err)
	}
	var ds []core.Deployment
	if err := json.Unmarshal([]byte(bodies[5]), &ds); err != nil || len(ds) != 1 || ds[0].Kind != "rollback" {
		t.Fatalf("history %s (%v)", bodies[5], err)
	}
	if w := do(h, "GET", "/api/environments/web/history?limit=x", nil, bearer); w.Code != http.StatusBadRequest {
		t.Fatalf("bad limit = %d", w.Code)
	}
}

func TestRevisionEndpointErrors(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{core.ErrBusy, http.StatusConflict},
		{core.ErrNoRepo, http.StatusUnprocessableEntity},
		{core.ErrNotFound, http.StatusNotFound},
	} {
		h := newHandler(t.Context(), &revsCore{err: tt.err}, handlerConfig{token: testToken, hosts: []string{testHost}})
		if w := do(h, "POST", "/api/environments/web/deploy", strings.NewReader(`{"rev":"x"}`), bearer); w.Code != tt.want {
			t.Errorf("deploy with %v = %d, want %d", tt.err, w.Code, tt.want)
		}
	}
}
