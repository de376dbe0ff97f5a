package reconcile

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/berthdev/berth/internal/spec"
)

// ErrConflict is returned when an object Berth needs is taken by one it did
// not create. Berth never changes such an object; the user has to move it.
var ErrConflict = errors.New("name conflict")

// ConflictError lists the foreign objects in the way.
type ConflictError struct {
	Project string
	Objects []Foreign
}

func (e *ConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "environment %q cannot be applied: ", e.Project)
	for i, f := range e.Objects {
		if i > 0 {
			b.WriteString("; ")
		}
		owner := "was not created by Berth"
		if f.Project != "" && f.Project != e.Project {
			owner = fmt.Sprintf("belongs to Compose project %q", f.Project)
		} else if f.Project == e.Project {
			owner = "belongs to a Compose project of the same name that Berth did not create"
		}
		fmt.Fprintf(&b, "%s %q already exists and %s", f.Kind, f.Name, owner)
	}
	b.WriteString(" (Berth never changes objects it did not create: remove or rename them, or bring the environment up under another name with --as)")
	return b.String()
}

func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ContainerName is the engine name of a service's container number n.
func ContainerName(project, service string, n int) string {
	return fmt.Sprintf("%s-%s-%d", project, service, n)
}

// planner builds a plan op by op.
type planner struct {
	plan Plan
}

func (pl *planner) add(op Op) int {
	op.ID = len(pl.plan.Ops) + 1
	sort.Ints(op.After)
	op.After = dedupInts(op.After)
	pl.plan.Ops = append(pl.plan.Ops, op)
	return op.ID
}

// Up plans bringing the environment to the desired state. It is a pure
// function of its arguments.
func Up(desired *spec.Project, observed Observed) (Plan, error) {
	pl := &planner{plan: Plan{Project: desired.Name, Ops: []Op{}}}

	if err := conflicts(desired.Name, observed); err != nil {
		return Plan{}, err
	}

	// Networks: those a network config change forces to be replaced.
	liveNet := map[string]Object{}
	for _, n := range observed.Networks {
		liveNet[n.Key] = n
	}
	netOp := map[string]int{}        // network key -> create op
	replacedNet := map[string]bool{} // network key -> replaced in this plan
	var netRemovals []Op
	for _, n := range desired.Networks {
		if n.External {
			continue
		}
		live, ok := liveNet[n.Key]
		switch {
		case !ok:
			netOp[n.Key] = -1 // create below, after removals are known
		case live.Hash != "" && live.Hash != n.Hash:
			replacedNet[n.Key] = true
			netRemovals = append(netRemovals, Op{Kind: OpRemoveNetwork, Resource: live.Name, Key: n.Key, Cause: "network configuration changed"})
			netOp[n.Key] = -1
		}
	}
	keys := slices.Sorted(maps.Keys(netOp))

	// Containers observed per service.
	byService := map[string][]Container{}
	for _, c := range observed.Containers {
		if c.OneOff || !c.Managed {
			continue
		}
		byService[c.Service] = append(byService[c.Service], c)
	}
	for _, cs := range byService {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Number < cs[j].Number })
	}

	// Containers to take down before networks are replaced.
	var preRemovals []int
	replaceSvc := map[string]bool{}
	for _, s := range desired.Services {
		for _, sn := range s.Networks {
			if replacedNet[sn.Network] {
				replaceSvc[s.Name] = true
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(replaceSvc)) {
		for _, c := range byService[name] {
			preRemovals = append(preRemovals, pl.add(Op{Kind: OpRemoveContainer, Resource: c.Name, Service: c.Service, Number: c.Number, ContainerID: c.ID,
				Cause: "a network it uses is replaced"}))
		}
	}
	for _, op := range netRemovals {
		op.After = append(op.After, preRemovals...)
		pl.add(op)
	}
	removedNet := map[string]int{}
	for _, op := range pl.plan.Ops {
		if op.Kind == OpRemoveNetwork {
			removedNet[op.Key] = op.ID
		}
	}
	for _, k := range keys {
		n := desired.Network(k)
		cause := "network missing"
		var after []int
		if id, ok := removedNet[k]; ok {
			cause, after = "network configuration changed", []int{id}
		}
		netOp[k] = pl.add(Op{Kind: OpCreateNetwork, Resource: n.Name, Key: k, Cause: cause, After: after})
	}

	// Volumes: created when missing, never removed or replaced by up.
	liveVol := map[string]bool{}
	for _, v := range observed.Volumes {
		liveVol[v.Key] = true
	}
	volOp := map[string]int{}
	for _, v := range desired.Volumes {
		if v.External || liveVol[v.Key] {
			continue
		}
		volOp[v.Key] = pl.add(Op{Kind: OpCreateVolume, Resource: v.Name, Key: v.Key, Cause: "volume missing"})
	}

	// Images: one op per reference.
	imgOp := map[string]int{}
	rebuilt := map[string]bool{}
	// Services that build come first, so that a reference built by one
	// service and used by another is built, not pulled.
	byBuild := append([]spec.Service(nil), desired.Services...)
	sort.SliceStable(byBuild, func(i, j int) bool { return byBuild[i].Build != nil && byBuild[j].Build == nil })
	for _, s := range byBuild {
		if _, done := imgOp[s.Image]; done {
			continue
		}
		img, have := observed.Images[s.Image]
		switch {
		case s.Build != nil:
			cause := ""
			switch {
			case !have:
				cause = "image missing"
			case img.BuildHash != s.BuildHash:
				cause = "build context changed"
				if img.BuildHash == "" {
					cause = "image was not built by Berth from this context"
				}
				rebuilt[s.Image] = true
			}
			if cause != "" {
				imgOp[s.Image] = pl.add(Op{Kind: OpBuildImage, Resource: s.Image, Service: s.Name, Cause: cause})
			}
		case s.PullPolicy == "always":
			imgOp[s.Image] = pl.add(Op{Kind: OpPullImage, Resource: s.Image, Service: s.Name, Cause: "pull_policy is always"})
		case !have:
			if s.PullPolicy == "never" {
				return Plan{}, fmt.Errorf("service %s: image %q is not present on the engine and pull_policy is never", s.Name, s.Image)
			}
			imgOp[s.Image] = pl.add(Op{Kind: OpPullImage, Resource: s.Image, Service: s.Name, Cause: "image missing"})
		}
	}

	// Containers, services in dependency order.
	order, err := serviceOrder(desired)
	if err != nil {
		return Plan{}, err
	}
	svcOps := map[string][]int{}
	// changed: services whose containers this plan replaces, restarts or
	// starts (their dependants with depends_on restart: true follow).
	changed := map[string]bool{}
	for _, s := range order {
		var after []int
		for _, sn := range s.Networks {
			if id, ok := netOp[sn.Network]; ok {
				after = append(after, id)
			}
		}
		for _, m := range s.Mounts {
			if m.Type == spec.MountVolume {
				if id, ok := volOp[m.Source]; ok {
					after = append(after, id)
				}
			}
		}
		if id, ok := imgOp[s.Image]; ok {
			after = append(after, id)
		}
		var await []Await
		for _, d := range s.DependsOn {
			if desired.Service(d.Service) == nil {
				continue // not enabled (profile); spec validated the rest
			}
			after = append(after, svcOps[d.Service]...)
			await = append(await, Await{Service: d.Service, Condition: d.Condition, Required: d.Required})
		}
		live := byService[s.Name]
		byNumber := map[int]Container{}
		for _, c := range live {
			if _, dup := byNumber[c.Number]; dup || c.Number < 1 || c.Number > s.Replicas {
				svcOps[s.Name] = append(svcOps[s.Name], pl.add(Op{Kind: OpRemoveContainer, Resource: c.Name, Service: s.Name, Number: c.Number, ContainerID: c.ID,
					Cause: fmt.Sprintf("scaled to %d replica%s", s.Replicas, plural(s.Replicas))}))
				continue
			}
			byNumber[c.Number] = c
		}
		want := observed.Images[s.Image]
		completedDep := awaitedToComplete(desired, s.Name)
		follow := followOp(s, changed)
		for n := 1; n <= s.Replicas; n++ {
			name := ContainerName(desired.Name, s.Name, n)
			c, ok := byNumber[n]
			if replaceSvc[s.Name] {
				ok = false
			}
			var op Op
			switch {
			case !ok:
				op = Op{Kind: OpCreateContainer, Cause: "container missing"}
				if replaceSvc[s.Name] {
					op.Cause = "a network it uses was replaced"
				}
			case c.ConfigHash != s.Hash:
				op = Op{Kind: OpRecreate, ContainerID: c.ID, Cause: "configuration changed"}
			case rebuilt[s.Image]:
				op = Op{Kind: OpRecreate, ContainerID: c.ID, Cause: "image rebuilt"}
			case want.ID != "" && c.ImageID != "" && want.ID != c.ImageID:
				op = Op{Kind: OpRecreate, ContainerID: c.ID, Cause: "image changed"}
			case follow.Kind != "" && (c.State == StateRunning || c.State == StateRestarting):
				op = follow
				op.ContainerID = c.ID
			case c.State == StateRunning || c.State == StateRestarting:
				continue
			case c.State == StateExited && c.ExitCode == 0 && completedDep:
				continue // a one-shot job others wait on: done
			default:
				cause := "container " + c.State
				if c.State == StateExited {
					cause = fmt.Sprintf("container exited (code %d)", c.ExitCode)
				}
				op = Op{Kind: OpStartContainer, ContainerID: c.ID, Cause: cause}
			}
			op.Resource, op.Service, op.Number = name, s.Name, n
			op.After = append([]int(nil), after...)
			op.Await = await
			svcOps[s.Name] = append(svcOps[s.Name], pl.add(op))
			changed[s.Name] = true
		}
	}

	// Orphans: containers of services no longer defined, then their networks.
	var removals []int
	for _, name := range slices.Sorted(maps.Keys(byService)) {
		if desired.Service(name) != nil {
			continue
		}
		for _, c := range byService[name] {
			removals = append(removals, pl.add(Op{Kind: OpRemoveContainer, Resource: c.Name, Service: c.Service, Number: c.Number, ContainerID: c.ID,
				Cause: "service no longer in the definition"}))
		}
	}
	for _, n := range observed.Networks {
		if !n.Managed || desired.Network(n.Key) != nil {
			continue
		}
		// Every container op may move a container off this network.
		var after []int
		after = append(after, removals...)
		for _, ids := range svcOps {
			after = append(after, ids...)
		}
		pl.add(Op{Kind: OpRemoveNetwork, Resource: n.Name, Key: n.Key, Cause: "network no longer in the definition", After: after})
	}
	return pl.plan, nil
}

// followOp is what a running container of s must go through because a
// service it depends on with restart: true changes in this plan: a
// recreate when it shares that service's network, pid or ipc namespace
// (the namespace it joined is gone), a restart otherwise, as Compose does.
// The zero Op when nothing it follows changes.
func followOp(s spec.Service, changed map[string]bool) Op {
	var restartFor string
	for _, d := range s.DependsOn {
		if !d.Restart || !changed[d.Service] {
			continue
		}
		for _, ns := range []struct{ name, mode string }{{"network", s.NetworkMode}, {"pid", s.Pid}, {"ipc", s.Ipc}} {
			if ns.mode == "service:"+d.Service {
				return Op{Kind: OpRecreate, Cause: fmt.Sprintf("it shares the %s namespace of %s, which changes", ns.name, d.Service)}
			}
		}
		if restartFor == "" {
			restartFor = d.Service
		}
	}
	if restartFor != "" {
		return Op{Kind: OpRestartContainer, Cause: fmt.Sprintf("%s, which it depends on with restart: true, changes", restartFor)}
	}
	return Op{}
}

// Down plans removing the environment: its containers, then its networks,
// then (when asked) its volumes. Objects Berth did not create are left.
func Down(observed Observed, volumes bool) Plan {
	pl := &planner{plan: Plan{Project: observed.Project, Ops: []Op{}}}
	var removed []int
	cs := append([]Container(nil), observed.Containers...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	for _, c := range cs {
		if !c.Managed {
			continue
		}
		removed = append(removed, pl.add(Op{Kind: OpRemoveContainer, Resource: c.Name, Service: c.Service, Number: c.Number, ContainerID: c.ID,
			Cause: "environment down", RemoveVolumes: volumes}))
	}
	objs := func(list []Object, kind OpKind, cause string) {
		list = append([]Object(nil), list...)
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		for _, o := range list {
			if o.Managed {
				pl.add(Op{Kind: kind, Resource: o.Name, Key: o.Key, Cause: cause, After: removed})
			}
		}
	}
	objs(observed.Networks, OpRemoveNetwork, "environment down")
	if volumes {
		objs(observed.Volumes, OpRemoveVolume, "environment down with --volumes")
	}
	return pl.plan
}

// Unmanaged lists the objects of the project that Berth did not create.
func Unmanaged(observed Observed) []Foreign {
	var out []Foreign
	for _, c := range observed.Containers {
		if !c.Managed {
			out = append(out, Foreign{Kind: KindContainer, Name: c.Name, ID: c.ID, Project: observed.Project})
		}
	}
	for _, n := range observed.Networks {
		if !n.Managed {
			out = append(out, Foreign{Kind: KindNetwork, Name: n.Name, ID: n.ID, Project: observed.Project})
		}
	}
	for _, v := range observed.Volumes {
		if !v.Managed {
			out = append(out, Foreign{Kind: KindVolume, Name: v.Name, ID: v.ID, Project: observed.Project})
		}
	}
	return out
}

func conflicts(project string, observed Observed) error {
	objs := append([]Foreign(nil), observed.Foreign...)
	objs = append(objs, Unmanaged(observed)...)
	if len(objs) == 0 {
		return nil
	}
	sort.Slice(objs, func(i, j int) bool {
		if objs[i].Kind != objs[j].Kind {
			return objs[i].Kind < objs[j].Kind
		}
		return objs[i].Name < objs[j].Name
	})
	return &ConflictError{Project: project, Objects: dedupForeign(objs)}
}

// serviceOrder sorts services so that every service comes after those it
// depends on; ties by name. A cycle is an error naming it.
func serviceOrder(p *spec.Project) ([]spec.Service, error) {
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	var out []spec.Service
	var stack []string
	var visit func(name string) error
	visit = func(name string) error {
		s := p.Service(name)
		if s == nil {
			return nil
		}
		switch state[name] {
		case 1:
			i := indexOf(stack, name)
			return fmt.Errorf("services depend on each other in a cycle: %s -> %s", strings.Join(stack[i:], " -> "), name)
		case 2:
			return nil
		}
		state[name] = 1
		stack = append(stack, name)
		for _, d := range s.DependsOn {
			if err := visit(d.Service); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = 2
		out = append(out, *s)
		return nil
	}
	for _, s := range p.Services {
		if err := visit(s.Name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func awaitedToComplete(p *spec.Project, service string) bool {
	for _, s := range p.Services {
		for _, d := range s.DependsOn {
			if d.Service == service && d.Condition == spec.ConditionCompleted {
				return true
			}
		}
	}
	return false
}

func dedupInts(xs []int) []int {
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func dedupForeign(xs []Foreign) []Foreign {
	seen := map[string]bool{}
	out := xs[:0]
	for _, f := range xs {
		k := f.Kind + "/" + f.Name
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return 0
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
