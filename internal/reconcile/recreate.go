package reconcile

import (
	"fmt"
	"sort"

	"github.com/berthdev/berth/internal/spec"
)

// CauseRecreateAsked is the cause of every op of a Recreate plan that
// replaces a running container.
const CauseRecreateAsked = "recreate asked"

// Recreate plans replacing exactly the containers of one service: each
// existing replica is recreated ("recreate asked"), a missing one created,
// and the service's image pulled or built first only when it is missing.
// Nothing else of the environment is touched. It is a pure function of its
// arguments.
func Recreate(desired *spec.Project, observed Observed, service string) (Plan, error) {
	s := desired.Service(service)
	if s == nil {
		return Plan{}, fmt.Errorf("service %q is not in the definition of %s", service, desired.Name)
	}
	if err := conflicts(desired.Name, observed); err != nil {
		return Plan{}, err
	}
	pl := &planner{plan: Plan{Project: desired.Name, Ops: []Op{}}}
	var after []int
	if _, have := observed.Images[s.Image]; !have {
		switch {
		case s.Build != nil:
			after = append(after, pl.add(Op{Kind: OpBuildImage, Resource: s.Image, Service: s.Name, Cause: "image missing"}))
		case s.PullPolicy == "never":
			return Plan{}, fmt.Errorf("service %s: image %q is not present on the engine and pull_policy is never", s.Name, s.Image)
		default:
			after = append(after, pl.add(Op{Kind: OpPullImage, Resource: s.Image, Service: s.Name, Cause: "image missing"}))
		}
	}
	byNumber := map[int]Container{}
	var extra []Container
	for _, c := range observed.Containers {
		if c.Service != s.Name || c.OneOff || !c.Managed {
			continue
		}
		if _, dup := byNumber[c.Number]; dup || c.Number < 1 || c.Number > s.Replicas {
			extra = append(extra, c)
			continue
		}
		byNumber[c.Number] = c
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].Number < extra[j].Number })
	for _, c := range extra {
		pl.add(Op{Kind: OpRemoveContainer, Resource: c.Name, Service: s.Name, Number: c.Number, ContainerID: c.ID,
			Cause: fmt.Sprintf("scaled to %d replica%s", s.Replicas, plural(s.Replicas))})
	}
	for n := 1; n <= s.Replicas; n++ {
		op := Op{Kind: OpCreateContainer, Resource: ContainerName(desired.Name, s.Name, n), Service: s.Name, Number: n, Cause: "container missing",
			After: append([]int(nil), after...)}
		if c, ok := byNumber[n]; ok {
			op.Kind, op.ContainerID, op.Cause = OpRecreate, c.ID, CauseRecreateAsked
		}
		pl.add(op)
	}
	return pl.plan, nil
}
