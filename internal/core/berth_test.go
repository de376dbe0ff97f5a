package core

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// fakeEngine records what core asks of it. It is the fast unit-test stand
// in; the real engine is proven in app/cli's end-to-end tests.
type fakeEngine struct {
	observed map[string]reconcile.Observed
	applyErr error
	applied  []reconcile.Plan
	// events feeds Events; closing it drops the stream.
	events chan ContainerEvent
}

func (f *fakeEngine) Observe(ctx context.Context, p *spec.Project) (reconcile.Observed, error) {
	return f.ObserveProject(ctx, p.Name)
}

func (f *fakeEngine) ObserveProject(_ context.Context, name string) (reconcile.Observed, error) {
	o, ok := f.observed[name]
	if !ok {
		return reconcile.Observed{Project: name}, nil
	}
	return o, nil
}

func (f *fakeEngine) Environments(context.Context) ([]reconcile.Observed, error) {
	var out []reconcile.Observed
	for _, o := range f.observed {
		out = append(out, o)
	}
	return out, nil
}

// Apply records the plan and, for an up plan, makes its containers exist
// (so that a later down finds them) before failing when told to.
func (f *fakeEngine) Apply(_ context.Context, p *spec.Project, plan reconcile.Plan, _ ApplyOptions, progress func(reconcile.Progress)) error {
	f.applied = append(f.applied, plan)
	o := f.observed[p.Name]
	o.Project = p.Name
	for _, op := range plan.Ops {
		progress(reconcile.Progress{Op: op, Status: reconcile.StatusDone})
		switch op.Kind {
		case reconcile.OpCreateContainer:
			o.Containers = append(o.Containers, reconcile.Container{Name: op.Resource, Service: op.Service, Number: op.Number, Managed: true, State: reconcile.StateRunning,
				ConfigHash: p.Service(op.Service).Hash, Labels: map[string]string{reconcile.LabelDefinition: p.Definition}})
		case reconcile.OpPullImage:
			if o.Images == nil {
				o.Images = map[string]reconcile.Image{}
			}
			o.Images[op.Resource] = reconcile.Image{ID: "sha256:" + op.Resource}
		case reconcile.OpCreateNetwork:
			o.Networks = append(o.Networks, reconcile.Object{Name: op.Resource, Key: op.Key, Managed: true})
		case reconcile.OpRemoveContainer, reconcile.OpRemoveNetwork, reconcile.OpRemoveVolume:
			o = reconcile.Observed{Project: p.Name}
		}
	}
	if f.observed == nil {
		f.observed = map[string]reconcile.Observed{}
	}
	f.observed[p.Name] = o
	if f.applyErr != nil && len(plan.Ops) > 0 && plan.Ops[0].Kind != reconcile.OpRemoveContainer {
		return f.applyErr
	}
	return nil
}

func (f *fakeEngine) Logs(context.Context, LogsRequest, func(LogLine)) error { return nil }

func (f *fakeEngine) Events(ctx context.Context, out func(ContainerEvent)) error {
	if f.events == nil {
		<-ctx.Done()
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-f.events:
			if !ok {
				return errors.New("stream dropped")
			}
			out(ev)
		}
	}
}

func (f *fakeEngine) Target(context.Context) Target { return Target{Host: "fake://engine"} }

type fakeDefs map[string]*spec.Project

func (d fakeDefs) List(context.Context) ([]Definition, error) {
	var out []Definition
	for name := range d {
		out = append(out, Definition{Name: name})
	}
	return out, nil
}

func (d fakeDefs) Load(_ context.Context, name string, opts spec.LoadOptions) (*spec.Project, error) {
	p, ok := d[name]
	if !ok {
		return nil, ErrNotFound
	}
	c := *p
	c.Definition = name
	if opts.Name != "" {
		c.Name = opts.Name
	}
	return &c, nil
}

func web() *spec.Project {
	return &spec.Project{Name: "web", Networks: []spec.Network{{Key: "default", Name: "web_default"}},
		Services: []spec.Service{{Name: "app", Image: "app:1", Replicas: 1, Hash: "h", Networks: []spec.ServiceNetwork{{Network: "default"}}}}}
}

func newBerth(e *fakeEngine, defs fakeDefs) *Berth {
	return New(func(context.Context) (Engine, error) { return e, nil }, defs)
}

func TestFailedFirstUpRemovesWhatItCreated(t *testing.T) {
	e := &fakeEngine{applyErr: errors.New("start failed"), observed: map[string]reconcile.Observed{}}
	b := newBerth(e, fakeDefs{"web": web()})
	res, err := b.Up(context.Background(), UpRequest{Env: "web"}, nil)
	if err == nil || !strings.Contains(err.Error(), "start failed") {
		t.Fatalf("want the apply error, got %v", err)
	}
	if !res.Cleaned {
		t.Fatal("a failed first up must clean up")
	}
	if len(e.applied) != 2 {
		t.Fatalf("want an up plan and a down plan, got %d plans", len(e.applied))
	}
	down := e.applied[1]
	if len(down.Ops) == 0 || down.Ops[len(down.Ops)-1].Kind != reconcile.OpRemoveNetwork {
		t.Fatalf("cleanup must remove the containers and the network created:\n%s", down.Render())
	}
}

func TestFailedUpOfExistingEnvironmentKeepsIt(t *testing.T) {
	existing := reconcile.Observed{Project: "web", Networks: []reconcile.Object{{Name: "web_default", Key: "default", Managed: true}},
		Containers: []reconcile.Container{{Name: "web-app-1", Service: "app", Number: 1, Managed: true, ConfigHash: "old", State: reconcile.StateRunning}}}
	e := &fakeEngine{applyErr: errors.New("start failed"), observed: map[string]reconcile.Observed{"web": existing}}
	b := newBerth(e, fakeDefs{"web": web()})
	res, err := b.Up(context.Background(), UpRequest{Env: "web"}, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	if res.Cleaned || len(e.applied) != 1 {
		t.Fatalf("an environment that existed must be left for the next up to converge (cleaned=%v, plans=%d)", res.Cleaned, len(e.applied))
	}
}

func TestUpAsCopyUsesDefinition(t *testing.T) {
	e := &fakeEngine{observed: map[string]reconcile.Observed{}}
	b := newBerth(e, fakeDefs{"web": web()})
	var events []Event
	res, err := b.Up(context.Background(), UpRequest{Env: "web-pr42", Definition: "web"}, func(ev Event) { events = append(events, ev) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Env != "web-pr42" || res.Plan.Project != "web-pr42" {
		t.Fatalf("want environment web-pr42, got %q", res.Env)
	}
	if len(events) < 2 || events[0].Kind != "plan" || events[0].Plan == nil || events[1].Env != "web-pr42" || events[1].Op == nil {
		t.Fatalf("want the plan, then op events for web-pr42, got %+v", events)
	}
	// A later plan by environment name finds the definition from labels.
	plan, err := b.Plan(context.Background(), UpRequest{Env: "web-pr42"})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Plan.Empty() {
		t.Fatalf("want an empty plan after up, got:\n%s", plan.Plan.Render())
	}
}

func TestListWithoutEngine(t *testing.T) {
	b := New(func(context.Context) (Engine, error) {
		return nil, errors.New("dial unix /nope.sock: connect: no such file")
	}, fakeDefs{"web": web()})
	l, err := b.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Definitions) != 1 || !strings.Contains(l.Target.Error, "/nope.sock") {
		t.Fatalf("want definitions listed and the engine error named, got %+v", l)
	}
	if _, err := b.Status(context.Background(), "web"); !errors.Is(err, ErrEngine) {
		t.Fatalf("want ErrEngine, got %v", err)
	}
}

func TestDownUnknown(t *testing.T) {
	b := newBerth(&fakeEngine{}, fakeDefs{})
	if _, err := b.Down(context.Background(), DownRequest{Env: "nope"}, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func TestStates(t *testing.T) {
	c := func(state, health string, code int) reconcile.Container {
		return reconcile.Container{Service: "s", State: state, Health: health, ExitCode: code, Managed: true}
	}
	cases := []struct {
		name string
		cs   []reconcile.Container
		want string
	}{
		{"running", []reconcile.Container{c("running", "healthy", 0)}, StateRunning},
		{"stopped", []reconcile.Container{c("exited", "", 0)}, StateStopped},
		{"failed exit", []reconcile.Container{c("exited", "", 1)}, StateFailed},
		{"unhealthy", []reconcile.Container{c("running", "unhealthy", 0)}, StateFailed},
		{"stopped keeps its last health", []reconcile.Container{c("exited", "unhealthy", 0)}, StateStopped},
		{"partial", []reconcile.Container{c("running", "", 0), c("exited", "", 0)}, StatePartial},
		{"absent", nil, StateAbsent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := summarise(reconcile.Observed{Project: "p", Containers: tc.cs}, nil)
			if env.State != tc.want {
				t.Fatalf("state %q, want %q", env.State, tc.want)
			}
		})
	}
}

// The listing says partial, as the detail does, when the environment's last
// successful deployment had services that have no container now; a record
// that does not describe what runs is not used.
func TestListCountsRecordedServices(t *testing.T) {
	ctx := context.Background()
	labels := map[string]string{reconcile.LabelDefinition: "web", reconcile.LabelRevision: "abc"}
	obs := reconcile.Observed{Project: "web", Containers: []reconcile.Container{
		{Name: "web-app-1", Service: "app", Number: 1, Managed: true, State: reconcile.StateRunning, Labels: labels}}}
	cases := []struct {
		name   string
		record *Deployment
		want   string
	}{
		{"no record", nil, StateRunning},
		{"record of what runs", &Deployment{Kind: KindDeploy, Env: "web", Definition: "web", Revision: "abc"}, StatePartial},
		{"record of another revision", &Deployment{Kind: KindDeploy, Env: "web", Definition: "web", Revision: "old"}, StateRunning},
		{"record of another definition", &Deployment{Kind: KindUp, Env: "web", Definition: "blog", Revision: "abc"}, StateRunning},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &fakeStore{}
			if c.record != nil {
				id, _ := st.Begin(ctx, *c.record)
				if err := st.Finish(ctx, id, Outcome{Status: StatusSucceeded, ImageDigests: map[string]string{"app": "sha256:a", "db": "sha256:d"}}); err != nil {
					t.Fatal(err)
				}
			}
			e := &fakeEngine{observed: map[string]reconcile.Observed{"web": obs}}
			b := New(func(context.Context) (Engine, error) { return e, nil }, fakeDefs{"web": web()}, WithStore(st))
			l, err := b.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Environments) != 1 || l.Environments[0].State != c.want {
				t.Fatalf("listing %+v: want state %s", l.Environments, c.want)
			}
			if c.want == StatePartial {
				var names []string
				for _, s := range l.Environments[0].Services {
					names = append(names, s.Name+":"+s.State)
				}
				if got := strings.Join(names, ","); got != "app:running,db:absent" {
					t.Errorf("services %s, want app:running,db:absent", got)
				}
			}
		})
	}
}
