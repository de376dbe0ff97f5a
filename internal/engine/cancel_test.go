package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// TestApplyInterrupted: a plan whose context ends before it completes is an
// error, never a success, even when every op left was merely skipped.
func TestApplyInterrupted(t *testing.T) {
	e := testEngine(t)
	project := uniqueProject(t, e)
	p := &spec.Project{Name: project, Networks: []spec.Network{{Key: "default", Name: project + "_default"}}}
	plan := reconcile.Plan{Project: project, Ops: []reconcile.Op{
		{ID: 1, Kind: reconcile.OpCreateNetwork, Resource: project + "_default", Key: "default", Cause: "network missing"},
		{ID: 2, Kind: reconcile.OpRemoveNetwork, Resource: project + "_default", Key: "default", Cause: "test", After: []int{1}},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := e.Apply(ctx, p, plan, ApplyOptions{}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want an error wrapping context.Canceled, got %v", err)
	}
}
