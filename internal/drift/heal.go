package drift

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/berthdev/berth/internal/reconcile"
)

// Heal extends plan (reconcile.Up's plan for the same environment) so
// that applying it removes the drift items describe: the planner already
// creates missing containers, starts stopped ones and replaces outdated
// ones; a Berth container whose configuration was changed in place
// (docker update, a network disconnected) carries the right config hash,
// so it is recreated here, its cause naming the fields. Containers Berth
// did not create are never touched (reconcile refuses to plan around
// them). It is a pure function of its arguments.
func Heal(plan reconcile.Plan, items []Item) reconcile.Plan {
	out := reconcile.Plan{Project: plan.Project, Ops: slices.Clone(plan.Ops)}
	if out.Ops == nil {
		out.Ops = []reconcile.Op{}
	}
	planned := map[string]bool{}
	for _, op := range plan.Ops {
		if op.Resource != "" {
			planned[op.Resource] = true
		}
	}
	type fix struct {
		it    Item
		paths []string
	}
	fixes := map[string]*fix{}
	for _, it := range items {
		switch it.Kind {
		case KindChanged, KindAdded, KindRemoved:
		default:
			continue
		}
		if it.Container == "" || it.ContainerID == "" || it.Service == "" || planned[it.Container] {
			continue
		}
		f := fixes[it.Container]
		if f == nil {
			f = &fix{it: it}
			fixes[it.Container] = f
		}
		if !slices.Contains(f.paths, it.Path) {
			f.paths = append(f.paths, it.Path)
		}
	}
	replaced := map[string]bool{}
	for _, it := range items {
		if it.Kind == KindReplaced {
			replaced[it.Container] = true
		}
	}
	names := make([]string, 0, len(fixes))
	for n := range fixes {
		if !replaced[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		f := fixes[n]
		paths := f.paths
		if len(paths) > 3 {
			paths = append(paths[:3:3], fmt.Sprintf("and %d more", len(f.paths)-3))
		}
		out.Ops = append(out.Ops, reconcile.Op{
			ID:          len(out.Ops) + 1,
			Kind:        reconcile.OpRecreate,
			Resource:    n,
			Service:     f.it.Service,
			Number:      containerNumber(plan.Project, f.it.Service, n),
			ContainerID: f.it.ContainerID,
			Cause:       "changed outside Berth: " + strings.Join(paths, ", "),
		})
	}
	return out
}

// containerNumber reads the replica number from a Compose container name.
func containerNumber(project, service, name string) int {
	var n int
	fmt.Sscanf(strings.TrimPrefix(name, project+"-"+service+"-"), "%d", &n)
	return n
}
