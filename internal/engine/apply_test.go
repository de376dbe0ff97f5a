package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// These tests need no engine: every op here fails before any API call.

func TestApplyRejectsBadPlans(t *testing.T) {
	e := &Engine{}
	p := &spec.Project{Name: "shop"}
	cases := []struct {
		name string
		plan reconcile.Plan
		want string
	}{
		{"other project", reconcile.Plan{Project: "blog"}, `plan is for environment "blog", not "shop"`},
		{"duplicate id", reconcile.Plan{Ops: []reconcile.Op{{ID: 1}, {ID: 1}}}, "two ops with id 1"},
		{"unknown after", reconcile.Plan{Ops: []reconcile.Op{{ID: 1, Kind: reconcile.OpCreateNetwork, Resource: "n", After: []int{7}}}}, "op 1 create-network n comes after op 7, which is not in the plan"},
		{"cycle", reconcile.Plan{Ops: []reconcile.Op{{ID: 1, After: []int{2}}, {ID: 2, After: []int{1}}}}, "dependency cycle"},
		{"cycle through await", reconcile.Plan{Ops: []reconcile.Op{
			{ID: 1, Kind: reconcile.OpCreateContainer, Service: "a", Await: []reconcile.Await{{Service: "b", Condition: spec.ConditionStarted}}},
			{ID: 2, Kind: reconcile.OpCreateContainer, Service: "b", After: []int{1}},
		}}, "dependency cycle"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			called := false
			err := e.Apply(context.Background(), p, c.plan, ApplyOptions{}, func(reconcile.Progress) { called = true })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want %q", err, c.want)
			}
			if called {
				t.Error("progress was reported for a plan that was refused")
			}
		})
	}
}

func TestApplySkipsDependents(t *testing.T) {
	e := &Engine{}
	p := &spec.Project{Name: "shop"}
	plan := reconcile.Plan{Project: "shop", Ops: []reconcile.Op{
		{ID: 1, Kind: "teleport", Resource: "x"},
		{ID: 2, Kind: reconcile.OpCreateVolume, Resource: "shop_data", Key: "data", After: []int{1}},
		{ID: 3, Kind: reconcile.OpCreateNetwork, Resource: "shop_back", Key: "back"},
		{ID: 4, Kind: reconcile.OpCreateContainer, Resource: "shop-web-1", Service: "web", After: []int{2}},
	}}
	var mu sync.Mutex
	got := map[int][]reconcile.Status{}
	err := e.Apply(context.Background(), p, plan, ApplyOptions{}, func(pr reconcile.Progress) {
		mu.Lock()
		defer mu.Unlock()
		got[pr.Op.ID] = append(got[pr.Op.ID], pr.Status)
	})
	want := map[int]string{1: "started failed", 2: "skipped", 3: "started failed", 4: "skipped"}
	for id, w := range want {
		var s []string
		for _, st := range got[id] {
			s = append(s, string(st))
		}
		if strings.Join(s, " ") != w {
			t.Errorf("op %d: %v, want %s", id, s, w)
		}
	}
	var oe *OpError
	if !errors.As(err, &oe) || oe.Op.ID != 1 {
		t.Fatalf("error = %v", err)
	}
	for _, w := range []string{`op 1 teleport x: unknown op kind "teleport"`, `op 3 create-network shop_back: network "back" is not in the project`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}
