package reconcile

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// shop is a desired state shaped like the example definition.
func shop() *spec.Project {
	p := &spec.Project{
		Name: "shop", Definition: "shop", Dir: "/defs/shop",
		Networks: []spec.Network{
			{Key: "back", Name: "shop_back", Hash: "nb"},
			{Key: "front", Name: "shop_front", Hash: "nf"},
		},
		Volumes: []spec.Volume{{Key: "dbdata", Name: "shop_dbdata", Hash: "vd"}},
		Services: []spec.Service{
			{Name: "api", Image: "shop-api", Build: &spec.Build{Context: "/defs/shop/api"}, BuildHash: "b1", Replicas: 1, Hash: "h-api",
				Networks:  []spec.ServiceNetwork{{Network: "back"}, {Network: "front"}},
				DependsOn: []spec.Dependency{{Service: "cache", Condition: spec.ConditionStarted, Required: true}, {Service: "db", Condition: spec.ConditionHealthy, Required: true}}},
			{Name: "cache", Image: "redis:7", Replicas: 1, Hash: "h-cache", Networks: []spec.ServiceNetwork{{Network: "back"}}},
			{Name: "db", Image: "postgres:15", Replicas: 1, Hash: "h-db", Networks: []spec.ServiceNetwork{{Network: "back"}},
				Mounts: []spec.Mount{{Type: spec.MountVolume, Source: "dbdata", Target: "/var/lib/postgresql/data"}}},
			{Name: "web", Image: "nginx:1.27", Replicas: 1, Hash: "h-web", Networks: []spec.ServiceNetwork{{Network: "front"}},
				DependsOn: []spec.Dependency{{Service: "api", Condition: spec.ConditionHealthy, Required: true}}},
			{Name: "worker", Image: "shop-worker", Build: &spec.Build{Context: "/defs/shop/api"}, BuildHash: "b1", Replicas: 1, Hash: "h-worker",
				Networks:  []spec.ServiceNetwork{{Network: "back"}},
				DependsOn: []spec.Dependency{{Service: "db", Condition: spec.ConditionHealthy, Required: true}}},
		},
	}
	return p
}

// running is the observed state of shop brought fully up.
func running(p *spec.Project) Observed {
	o := Observed{Project: p.Name, Images: map[string]Image{}}
	for _, n := range p.Networks {
		o.Networks = append(o.Networks, Object{Name: n.Name, Key: n.Key, Hash: n.Hash, Managed: true})
	}
	for _, v := range p.Volumes {
		o.Volumes = append(o.Volumes, Object{Name: v.Name, Key: v.Key, Hash: v.Hash, Managed: true})
	}
	for _, s := range p.Services {
		o.Images[s.Image] = Image{ID: "sha256:" + s.Image, BuildHash: s.BuildHash}
		for n := 1; n <= s.Replicas; n++ {
			o.Containers = append(o.Containers, Container{ID: "c-" + s.Name + "-" + string(rune('0'+n)), Name: ContainerName(p.Name, s.Name, n),
				Service: s.Name, Number: n, Managed: true, ConfigHash: s.Hash, ImageID: "sha256:" + s.Image, State: StateRunning})
		}
	}
	return o
}

func mutate(o Observed, f func(*Observed)) Observed {
	c := o
	c.Containers = append([]Container(nil), o.Containers...)
	c.Networks = append([]Object(nil), o.Networks...)
	c.Volumes = append([]Object(nil), o.Volumes...)
	c.Images = map[string]Image{}
	for k, v := range o.Images {
		c.Images[k] = v
	}
	f(&c)
	return c
}

func container(o *Observed, service string) *Container {
	for i := range o.Containers {
		if o.Containers[i].Service == service {
			return &o.Containers[i]
		}
	}
	return nil
}

func TestUpGolden(t *testing.T) {
	base := shop()
	up := running(base)
	cases := []struct {
		name     string
		desired  func() *spec.Project
		observed Observed
	}{
		{"cold", shop, Observed{Project: "shop"}},
		{"in-sync", shop, up},
		{"one-service-changed", func() *spec.Project {
			p := shop()
			p.Service("web").Hash = "h-web-2"
			return p
		}, up},
		{"build-context-changed", func() *spec.Project {
			p := shop()
			p.Service("api").BuildHash = "b2"
			return p
		}, up},
		{"container-stopped-and-removed", shop, mutate(up, func(o *Observed) {
			c := container(o, "cache")
			c.State, c.ExitCode = StateExited, 137
			for i, c := range o.Containers {
				if c.Service == "worker" {
					o.Containers = append(o.Containers[:i], o.Containers[i+1:]...)
					break
				}
			}
		})},
		{"image-tag-moved", shop, mutate(up, func(o *Observed) {
			o.Images["redis:7"] = Image{ID: "sha256:newer"}
		})},
		{"scale-up-and-down", func() *spec.Project {
			p := shop()
			p.Service("worker").Replicas = 3
			return p
		}, up},
		{"scale-down", shop, mutate(up, func(o *Observed) {
			o.Containers = append(o.Containers, Container{ID: "c-web-2", Name: "shop-web-2", Service: "web", Number: 2, Managed: true, ConfigHash: "h-web", State: StateRunning})
		})},
		{"service-removed", func() *spec.Project {
			p := shop()
			p.Services = p.Services[:4] // worker gone
			return p
		}, up},
		{"network-changed", func() *spec.Project {
			p := shop()
			p.Network("front").Hash = "nf2"
			return p
		}, up},
		{"network-removed", func() *spec.Project {
			p := shop()
			p.Networks = p.Networks[:1]
			p.Service("api").Networks = p.Service("api").Networks[:1]
			p.Services = append(p.Services[:3], p.Services[4]) // web gone
			return p
		}, up},
		{"volume-missing-db-recreated", func() *spec.Project {
			p := shop()
			p.Service("db").Hash = "h-db-2"
			return p
		}, mutate(up, func(o *Observed) { o.Volumes = nil })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := Up(tc.desired(), tc.observed)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, plan.Render())
			checkOrder(t, plan)
		})
	}
}

func TestDownGolden(t *testing.T) {
	up := running(shop())
	golden(t, "down", Down(up, false).Render())
	golden(t, "down-volumes", Down(up, true).Render())
	foreign := mutate(up, func(o *Observed) {
		o.Containers = append(o.Containers, Container{ID: "x", Name: "shop-debug-1", Service: "debug", Managed: false})
	})
	plan := Down(foreign, true)
	for _, op := range plan.Ops {
		if op.Resource == "shop-debug-1" {
			t.Fatalf("down touches a container Berth did not create: %+v", op)
		}
	}
}

func TestInSyncIsEmpty(t *testing.T) {
	plan, err := Up(shop(), running(shop()))
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Empty() {
		t.Fatalf("a running environment that matches its definition must plan nothing, got:\n%s", plan.Render())
	}
}

func TestOnlyChangedServiceRecreated(t *testing.T) {
	p := shop()
	p.Service("cache").Hash = "changed"
	plan, err := Up(p, running(shop()))
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Ops) != 1 || plan.Ops[0].Kind != OpRecreate || plan.Ops[0].Resource != "shop-cache-1" {
		t.Fatalf("want exactly one recreate of shop-cache-1, got:\n%s", plan.Render())
	}
}

func TestConflicts(t *testing.T) {
	cases := []struct {
		name string
		obs  Observed
		want string
	}{
		{"foreign container", Observed{Project: "shop", Foreign: []Foreign{{Kind: KindContainer, Name: "shop-db-1", ID: "x"}}},
			`container "shop-db-1" already exists and was not created by Berth`},
		{"compose project of the same name", Observed{Project: "shop", Containers: []Container{{Name: "shop-db-1", Service: "db", Managed: false}}},
			`belongs to a Compose project of the same name that Berth did not create`},
		{"network of another project", Observed{Project: "shop", Foreign: []Foreign{{Kind: KindNetwork, Name: "shop_back", Project: "other"}}},
			`network "shop_back" already exists and belongs to Compose project "other"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Up(shop(), tc.obs)
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("want ErrConflict, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestCycle(t *testing.T) {
	p := shop()
	p.Service("db").DependsOn = []spec.Dependency{{Service: "api", Condition: spec.ConditionStarted}}
	_, err := Up(p, Observed{Project: "shop"})
	if err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("want a cycle error, got %v", err)
	}
}

func TestPullPolicyNever(t *testing.T) {
	p := shop()
	p.Service("cache").PullPolicy = "never"
	_, err := Up(p, Observed{Project: "shop"})
	if err == nil || !strings.Contains(err.Error(), `image "redis:7" is not present`) {
		t.Fatalf("want a pull_policy never error, got %v", err)
	}
}

func TestSharedImageBuiltOnce(t *testing.T) {
	p := shop()
	p.Service("worker").Image = "shop-api"
	p.Service("worker").Build = nil
	plan, err := Up(p, Observed{Project: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, op := range plan.Ops {
		if op.Resource == "shop-api" {
			n++
			if op.Kind != OpBuildImage {
				t.Fatalf("shop-api must be built, not %s", op.Kind)
			}
		}
	}
	if n != 1 {
		t.Fatalf("want one image op for shop-api, got %d:\n%s", n, plan.Render())
	}
}

// checkOrder asserts every op only depends on earlier ops, so a plan can
// always be executed.
func checkOrder(t *testing.T, p Plan) {
	t.Helper()
	for i, op := range p.Ops {
		if op.ID != i+1 {
			t.Fatalf("op %d has ID %d", i+1, op.ID)
		}
		for _, a := range op.After {
			if a >= op.ID {
				t.Fatalf("op %d runs after later op %d", op.ID, a)
			}
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".plan")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("plan differs from %s (go test -update to accept):\n--- want\n%s--- got\n%s", path, want, got)
	}
}

// TestDependantsFollow: a service that depends on another with restart:
// true is restarted when that one is recreated, and recreated when it
// shares its network namespace (the namespace it joined goes with the old
// container); without restart: true nothing follows.
func TestDependantsFollow(t *testing.T) {
	p := shop()
	api := p.Service("api")
	api.DependsOn[0].Restart = true // cache
	web := p.Service("web")
	web.DependsOn[0].Restart = true // api
	side := spec.Service{Name: "sidecar", Image: "busybox", Replicas: 1, Hash: "h-side", NetworkMode: "service:db",
		DependsOn: []spec.Dependency{{Service: "db", Condition: spec.ConditionStarted, Required: true, Restart: true}}}
	p.Services = append(p.Services, side)
	obs := running(p)
	p.Service("cache").Hash = "h-cache-2"
	p.Service("db").Hash = "h-db-2"
	plan, err := Up(p, obs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Op{}
	for _, op := range plan.Ops {
		got[op.Service] = op
	}
	if op := got["api"]; op.Kind != OpRestartContainer || !strings.Contains(op.Cause, "cache") || op.ContainerID == "" {
		t.Errorf("api: %+v, want a restart because cache changes", op)
	}
	if op := got["web"]; op.Kind != OpRestartContainer || !strings.Contains(op.Cause, "api") {
		t.Errorf("web: %+v, want a restart following api's", op)
	}
	if op := got["sidecar"]; op.Kind != OpRecreate || !strings.Contains(op.Cause, "network namespace of db") {
		t.Errorf("sidecar: %+v, want a recreate: it shares db's network namespace", op)
	}
	if op, ok := got["worker"]; ok {
		t.Errorf("worker depends on db without restart: true, yet %+v", op)
	}
	checkOrder(t, plan)
}
