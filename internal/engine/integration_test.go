package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// threeServices is a project of three probe services: db (health check,
// named volume, back network with an alias), api (published port, both
// networks, waits for db to be healthy) and worker (waits for api to start).
func threeServices(name, img string, port int, message string) *spec.Project {
	interval := 300 * time.Millisecond
	retries := uint64(20)
	return &spec.Project{
		Name:         name,
		Definition:   "shop",
		Dir:          "/tmp/defs/" + name,
		ComposeFiles: []string{"/tmp/defs/" + name + "/compose.yaml"},
		Revision:     "abc123",
		Networks: []spec.Network{
			{Key: "back", Name: name + "_back", Hash: "hb"},
			{Key: "front", Name: name + "_front", Hash: "hf", Labels: map[string]string{"tier": "front"}},
		},
		Volumes: []spec.Volume{{Key: "data", Name: name + "_data", Hash: "hv"}},
		Services: []spec.Service{
			{
				Name: "api", Image: img, Replicas: 1, Hash: "api-1",
				Command:     []string{"serve"},
				DependsOn:   []spec.Dependency{{Service: "db", Condition: spec.ConditionHealthy, Required: true}},
				Environment: map[string]string{"MESSAGE": message},
				Labels:      map[string]string{"team": "shop"},
				Ports:       []spec.Port{{HostIP: "127.0.0.1", HostPort: portStr(port), ContainerPort: 8080, Protocol: "tcp"}},
				Networks:    []spec.ServiceNetwork{{Network: "back"}, {Network: "front", Aliases: []string{"web"}}},
			},
			{
				Name: "db", Image: img, Replicas: 1, Hash: "db-1",
				Environment: map[string]string{"MESSAGE": "from-db"},
				Mounts:      []spec.Mount{{Type: spec.MountVolume, Source: "data", Target: "/data"}},
				Networks:    []spec.ServiceNetwork{{Network: "back", Aliases: []string{"database"}}},
				Healthcheck: &spec.Healthcheck{Test: []string{"CMD", "/probe", "health"}, Interval: &interval, Retries: &retries},
			},
			{
				Name: "worker", Image: img, Replicas: 1, Hash: "worker-1",
				Command:   []string{"sleep"},
				DependsOn: []spec.Dependency{{Service: "api", Condition: spec.ConditionStarted, Required: true}},
				Networks:  []spec.ServiceNetwork{{Network: "back"}},
			},
		},
	}
}

func TestIntegrationProjectLifecycle(t *testing.T) {
	e := testEngine(t)
	img := probeImage(t, e)
	name := uniqueProject(t, e)
	port := freePort(t)
	p := threeServices(name, img, port, "hello-"+name)
	ctx := testCtx(t, 3*time.Minute)

	plan := reconcile.Plan{Project: name, Ops: []reconcile.Op{
		{ID: 1, Kind: reconcile.OpCreateNetwork, Resource: name + "_back", Key: "back", Cause: "network missing"},
		{ID: 2, Kind: reconcile.OpCreateNetwork, Resource: name + "_front", Key: "front", Cause: "network missing"},
		{ID: 3, Kind: reconcile.OpCreateVolume, Resource: name + "_data", Key: "data", Cause: "volume missing"},
		{ID: 4, Kind: reconcile.OpCreateContainer, Resource: name + "-db-1", Service: "db", Number: 1, Cause: "container missing", After: []int{1, 3}},
		{ID: 5, Kind: reconcile.OpCreateContainer, Resource: name + "-api-1", Service: "api", Number: 1, Cause: "container missing", After: []int{1, 2},
			Await: []reconcile.Await{{Service: "db", Condition: spec.ConditionHealthy, Required: true}}},
		{ID: 6, Kind: reconcile.OpCreateContainer, Resource: name + "-worker-1", Service: "worker", Number: 1, Cause: "container missing", After: []int{1},
			Await: []reconcile.Await{{Service: "api", Condition: spec.ConditionStarted, Required: true}}},
	}}
	rec := &recorder{}
	start := time.Now()
	dbHealthAtAPIStart := ""
	if err := e.Apply(ctx, p, plan, ApplyOptions{Wait: true, WaitTimeout: time.Minute}, func(pr reconcile.Progress) {
		rec.add(pr)
		t.Logf("%6s %d %s %s %s %s", time.Since(start).Round(time.Millisecond), pr.Op.ID, pr.Op.Kind, pr.Op.Resource, pr.Status, pr.Detail)
		if pr.Op.ID == 5 && pr.Status == reconcile.StatusStarted {
			// The await held: db must be healthy now, before api exists.
			if db, err := e.cli.ContainerInspect(ctx, name+"-db-1"); err == nil && db.State.Health != nil {
				dbHealthAtAPIStart = db.State.Health.Status
			}
		}
	}); err != nil {
		t.Fatalf("apply: %v\n%s", err, rec.text())
	}
	t.Logf("up from nothing: %s", time.Since(start).Round(time.Millisecond))
	for _, op := range plan.Ops {
		st := rec.statuses(op.ID)
		if !has(st, "started") || st[len(st)-1] != "done" {
			t.Errorf("op %d statuses %v", op.ID, st)
		}
	}
	if st := rec.statuses(5); !has(st, "waiting") {
		t.Errorf("api did not wait for db: %v", st)
	}
	if dbHealthAtAPIStart != "healthy" {
		t.Errorf("api's create started while db was %q", dbHealthAtAPIStart)
	}
	db := containerByName(t, e, name+"-db-1")
	api := containerByName(t, e, name+"-api-1")
	// Real clients: the published port answers with the env we set, and
	// api reaches db through the back network by its alias.
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if got := httpGet(t, base+"/"); got != "hello-"+name {
		t.Errorf("GET / = %q", got)
	}
	if got := httpGet(t, base+"/fetch?url=http://database:8080/"); got != "from-db" {
		t.Errorf("api → database alias = %q", got)
	}

	// Labels, networks and aliases as the engine reports them.
	wantLabels := map[string]string{
		reconcile.LabelProject: name, reconcile.LabelService: "api", reconcile.LabelNumber: "1", reconcile.LabelOneOff: "False",
		reconcile.LabelConfigHash: "api-1", reconcile.LabelWorkingDir: "/tmp/defs/" + name, reconcile.LabelConfigFiles: "/tmp/defs/" + name + "/compose.yaml",
		reconcile.LabelComposeVersion: "berth", reconcile.LabelDependsOn: "db:service_healthy:false", reconcile.LabelManaged: "true",
		reconcile.LabelEnvironment: name, reconcile.LabelDefinition: "shop", reconcile.LabelRevision: "abc123", "team": "shop",
	}
	for k, v := range wantLabels {
		if got := api.Config.Labels[k]; got != v {
			t.Errorf("api label %s = %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(api.Config.Labels[reconcile.LabelImage], "sha256:") {
		t.Errorf("api image label = %q", api.Config.Labels[reconcile.LabelImage])
	}
	if got := slices.Sorted(maps.Keys(api.NetworkSettings.Networks)); !slices.Equal(got, []string{name + "_back", name + "_front"}) {
		t.Errorf("api networks = %v", got)
	}
	if al := api.NetworkSettings.Networks[name+"_front"].Aliases; !has(al, "api") || !has(al, "web") {
		t.Errorf("api aliases on front = %v", al)
	}
	net, err := e.cli.NetworkInspect(ctx, name+"_front", network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if net.Labels[reconcile.LabelNetwork] != "front" || net.Labels[reconcile.LabelManaged] != "true" || net.Labels[reconcile.LabelObjectHash] != "hf" || net.Labels["tier"] != "front" {
		t.Errorf("network labels = %v", net.Labels)
	}
	if db.Mounts[0].Name != name+"_data" || db.Mounts[0].Destination != "/data" {
		t.Errorf("db mounts = %+v", db.Mounts)
	}

	// Observe reports what exists.
	start = time.Now()
	obs, err := e.Observe(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	observeTook := time.Since(start)
	// A no-op up: observe, an empty plan, and the wait.
	if err := e.Apply(ctx, p, reconcile.Plan{Project: name}, ApplyOptions{Wait: true, WaitTimeout: 10 * time.Second}, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("no-op up: observe %s, observe+wait %s", observeTook.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if len(obs.Containers) != 3 || len(obs.Networks) != 2 || len(obs.Volumes) != 1 || len(obs.Foreign) != 0 {
		t.Fatalf("observed %d containers, %d networks, %d volumes, foreign %v", len(obs.Containers), len(obs.Networks), len(obs.Volumes), obs.Foreign)
	}
	for _, c := range obs.Containers {
		if !c.Managed || c.State != reconcile.StateRunning || c.Number != 1 || c.ConfigHash != c.Service+"-1" || c.Image != img || c.StartedAt.IsZero() {
			t.Errorf("observed container %+v", c)
		}
	}
	if c := obs.Containers[1]; c.Service != "db" || c.Health != reconcile.HealthHealthy {
		t.Errorf("db observed as %s health %q", c.Service, c.Health)
	}
	if c := obs.Containers[0]; len(c.Ports) != 1 || c.Ports[0].HostPort != uint16(port) || c.Ports[0].ContainerPort != 8080 || c.Ports[0].HostIP != "127.0.0.1" {
		t.Errorf("api ports %+v", c.Ports)
	}
	if n := obs.Networks[1]; n.Key != "front" || !n.Managed || n.Hash != "hf" {
		t.Errorf("observed network %+v", n)
	}
	if v := obs.Volumes[0]; v.Key != "data" || !v.Managed || v.Hash != "hv" {
		t.Errorf("observed volume %+v", v)
	}
	if im, ok := obs.Images[img]; !ok || !strings.HasPrefix(im.ID, "sha256:") {
		t.Errorf("observed images %v", obs.Images)
	}

	projects, err := e.Projects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ps := range projects {
		if ps.Name == name {
			found = true
			if ps.Containers != 3 || ps.Running != 3 || ps.Definition != "shop" || ps.Revision != "abc123" || ps.States["running"] != 3 {
				t.Errorf("project summary %+v", ps)
			}
		}
	}
	if !found {
		t.Errorf("Projects does not list %s", name)
	}

	// Logs returns what the probe printed, on the right streams.
	var lines []LogLine
	if err := e.Logs(ctx, name, LogOptions{Services: []string{"api"}, Tail: -1, Timestamps: true}, func(l LogLine) { lines = append(lines, l) }); err != nil {
		t.Fatal(err)
	}
	var sawMsg, sawErr bool
	for _, l := range lines {
		if l.Service != "api" || l.Container != name+"-api-1" || l.Number != 1 || l.Time.IsZero() {
			t.Errorf("log line %+v", l)
		}
		sawMsg = sawMsg || l.Text == "probe: MESSAGE=hello-"+name && l.Stream == "stdout"
		sawErr = sawErr || l.Text == "probe: this line goes to stderr" && l.Stream == "stderr"
	}
	if !sawMsg || !sawErr {
		t.Errorf("logs: %+v", lines)
	}
	// Following: returns nil once ctx ends.
	fctx, stopFollow := context.WithTimeout(ctx, 10*time.Second)
	followed := make(chan string, 100)
	go func() {
		err := e.Logs(fctx, name, LogOptions{Services: []string{"db", "worker"}, Follow: true, Tail: 5}, func(l LogLine) { followed <- l.Service + ": " + l.Text })
		if err != nil {
			t.Errorf("following logs: %v", err)
		}
		close(followed)
	}()
	var got []string
	for l := range followed {
		got = append(got, l)
		if has(got, "db: probe: MESSAGE=from-db") && has(got, "worker: probe: sleeping") {
			stopFollow()
		}
	}
	stopFollow()
	if !has(got, "db: probe: MESSAGE=from-db") || !has(got, "worker: probe: sleeping") {
		t.Errorf("followed %q", got)
	}

	// Recreate api with a new environment; watch the events meanwhile.
	e.eventsSince = time.Now() // the stream replays what happens before it opens
	evCtx, stopEvents := context.WithCancel(ctx)
	var (
		evMu   sync.Mutex
		events []Event
		evDone = make(chan error, 1)
	)
	go func() {
		evDone <- e.Events(evCtx, name, func(ev Event) {
			evMu.Lock()
			events = append(events, ev)
			evMu.Unlock()
		})
	}()

	before := map[string]string{}
	for _, c := range obs.Containers {
		before[c.Service] = c.ID
	}
	api2 := p.Service("api")
	api2.Environment = map[string]string{"MESSAGE": "changed"}
	api2.Hash = "api-2"
	recreate := reconcile.Plan{Project: name, Ops: []reconcile.Op{
		{ID: 1, Kind: reconcile.OpRecreate, Resource: name + "-api-1", Service: "api", Number: 1, ContainerID: before["api"], Cause: "env MESSAGE changed"},
	}}
	if err := e.Apply(ctx, p, recreate, ApplyOptions{Wait: true, WaitTimeout: time.Minute}, nil); err != nil {
		t.Fatal(err)
	}
	if got := httpGet(t, base+"/"); got != "changed" {
		t.Errorf("after recreate GET / = %q", got)
	}
	obs2, err := e.Observe(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs2.Containers) != 3 {
		t.Fatalf("after recreate: %d containers", len(obs2.Containers))
	}
	for _, c := range obs2.Containers {
		switch c.Service {
		case "api":
			if c.ID == before["api"] || c.ConfigHash != "api-2" || c.Name != name+"-api-1" {
				t.Errorf("api after recreate: %+v", c)
			}
		default:
			if c.ID != before[c.Service] {
				t.Errorf("%s changed id on api's recreate", c.Service)
			}
		}
	}
	if _, err := e.cli.ContainerInspect(ctx, before["api"]); err == nil {
		t.Error("the replaced api container still exists")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		evMu.Lock()
		var acts []string
		for _, ev := range events {
			if ev.Service == "api" {
				acts = append(acts, ev.Action)
			}
		}
		evMu.Unlock()
		if has(acts, "die") && has(acts, "start") && has(acts, "create") && has(acts, "destroy") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("events for api: %v", acts)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopEvents()
	if err := <-evDone; err != nil {
		t.Errorf("events returned %v", err)
	}

	// Tear down by plan: containers, then networks and volume.
	down := reconcile.Plan{Project: name}
	id := 0
	var cids []int
	for _, c := range obs2.Containers {
		id++
		cids = append(cids, id)
		down.Ops = append(down.Ops, reconcile.Op{ID: id, Kind: reconcile.OpRemoveContainer, Resource: c.Name, Service: c.Service, ContainerID: c.ID, Cause: "down"})
	}
	for _, n := range obs2.Networks {
		id++
		down.Ops = append(down.Ops, reconcile.Op{ID: id, Kind: reconcile.OpRemoveNetwork, Resource: n.Name, Key: n.Key, Cause: "down", After: cids})
	}
	id++
	down.Ops = append(down.Ops, reconcile.Op{ID: id, Kind: reconcile.OpRemoveVolume, Resource: name + "_data", Key: "data", Cause: "down -v", After: cids})
	if err := e.Apply(ctx, p, down, ApplyOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	left, err := e.ObserveProject(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(left.Containers)+len(left.Networks)+len(left.Volumes) != 0 {
		t.Errorf("left after down: %+v", left)
	}
}

// TestIntegrationPortInUse: a host port held by the test makes create fail
// with ErrPortInUse, and no container is left behind.
func TestIntegrationPortInUse(t *testing.T) {
	e := testEngine(t)
	img := probeImage(t, e)
	name := uniqueProject(t, e)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	p := &spec.Project{Name: name, Services: []spec.Service{{
		Name: "web", Image: img, Replicas: 1, Hash: "w",
		Ports: []spec.Port{{HostIP: "127.0.0.1", HostPort: portStr(port), ContainerPort: 8080, Protocol: "tcp"}},
	}}}
	plan := reconcile.Plan{Project: name, Ops: []reconcile.Op{{ID: 1, Kind: reconcile.OpCreateContainer, Resource: name + "-web-1", Service: "web", Number: 1, Cause: "container missing"}}}
	rec := &recorder{}
	err = e.Apply(testCtx(t, time.Minute), p, plan, ApplyOptions{}, rec.add)
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("error = %v, want ErrPortInUse", err)
	}
	want := fmt.Sprintf("op 1 create-container %s-web-1: service web: host port %d is already in use by another process or container", name, port)
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	if st := rec.statuses(1); !slices.Equal(st, []string{"started", "progress", "failed"}) {
		t.Errorf("statuses %v", st)
	}
	if cs := projectContainers(t, e, name); len(cs) != 0 {
		t.Errorf("%d containers left", len(cs))
	}
}

// TestIntegrationRecreateRollback: when the new container cannot start, the
// old one gets its name back and runs again, with the same ID.
func TestIntegrationRecreateRollback(t *testing.T) {
	e := testEngine(t)
	img := probeImage(t, e)
	name := uniqueProject(t, e)
	ctx := testCtx(t, 2*time.Minute)
	port := freePort(t)
	p := &spec.Project{Name: name, Services: []spec.Service{{
		Name: "web", Image: img, Replicas: 1, Hash: "v1", Environment: map[string]string{"MESSAGE": "v1"},
		Ports: []spec.Port{{HostIP: "127.0.0.1", HostPort: portStr(port), ContainerPort: 8080, Protocol: "tcp"}},
	}}}
	cname := name + "-web-1"
	create := reconcile.Plan{Project: name, Ops: []reconcile.Op{{ID: 1, Kind: reconcile.OpCreateContainer, Resource: cname, Service: "web", Number: 1}}}
	if err := e.Apply(ctx, p, create, ApplyOptions{Wait: true, WaitTimeout: 30 * time.Second}, nil); err != nil {
		t.Fatal(err)
	}
	old := containerByName(t, e, cname)

	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	s := p.Service("web")
	s.Hash, s.Environment["MESSAGE"] = "v2", "v2"
	s.Ports[0].HostPort = portStr(held.Addr().(*net.TCPAddr).Port)
	recreate := reconcile.Plan{Project: name, Ops: []reconcile.Op{{ID: 1, Kind: reconcile.OpRecreate, Resource: cname, Service: "web", Number: 1, ContainerID: old.ID}}}
	err = e.Apply(ctx, p, recreate, ApplyOptions{}, nil)
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), "was restored") {
		t.Fatalf("error = %v", err)
	}
	now := containerByName(t, e, cname)
	if now.ID != old.ID || !now.State.Running || now.Config.Labels[reconcile.LabelConfigHash] != "v1" {
		t.Errorf("after a failed recreate: id %s (was %s), running %v", now.ID[:12], old.ID[:12], now.State.Running)
	}
	if cs := projectContainers(t, e, name); len(cs) != 1 {
		t.Errorf("%d containers, want the old one only", len(cs))
	}
	if got := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); got != "v1" {
		t.Errorf("old container answers %q", got)
	}
}

// TestIntegrationForeignRefused: objects Berth did not create are reported
// by Observe and refused by the executor; ops after a failed one are
// skipped, independent ones still run.
func TestIntegrationForeignRefused(t *testing.T) {
	e := testEngine(t)
	img := probeImage(t, e)
	name := uniqueProject(t, e)
	ctx := testCtx(t, 2*time.Minute)

	// Made by "someone else": a container with the project label (as an
	// older docker compose would leave it) but no Berth label, a network and
	// a volume with the names Berth would use.
	cname := name + "-web-1"
	cr, err := e.cli.ContainerCreate(ctx, &container.Config{Image: img, Cmd: []string{"sleep"}, Labels: map[string]string{reconcile.LabelProject: name, reconcile.LabelService: "web", reconcile.LabelNumber: "1"}}, nil, nil, nil, cname)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cli.ContainerStart(ctx, cr.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli.NetworkCreate(ctx, name+"_default", network.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: name + "_data"}); err != nil {
		t.Fatal(err)
	}

	p := &spec.Project{
		Name:     name,
		Networks: []spec.Network{{Key: "default", Name: name + "_default"}, {Key: "other", Name: name + "_other"}},
		Volumes:  []spec.Volume{{Key: "data", Name: name + "_data"}},
		Services: []spec.Service{{Name: "web", Image: img, Replicas: 1, Hash: "w", Networks: []spec.ServiceNetwork{{Network: "default"}}}},
	}
	obs, err := e.Observe(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range obs.Foreign {
		kinds = append(kinds, f.Kind+":"+f.Name)
	}
	wantForeign := []string{"container:" + cname, "network:" + name + "_default", "volume:" + name + "_data"}
	if !slices.Equal(kinds, wantForeign) {
		t.Errorf("foreign = %v, want %v", kinds, wantForeign)
	}
	if len(obs.Containers) != 1 || obs.Containers[0].Managed {
		t.Errorf("containers %+v", obs.Containers)
	}
	if obs.Foreign[0].ID != cr.ID || obs.Foreign[0].Project != name {
		t.Errorf("foreign container %+v", obs.Foreign[0])
	}

	plan := reconcile.Plan{Project: name, Ops: []reconcile.Op{
		{ID: 1, Kind: reconcile.OpStopContainer, Resource: cname, Service: "web", ContainerID: cr.ID},
		{ID: 2, Kind: reconcile.OpRemoveContainer, Resource: cname, Service: "web", ContainerID: cr.ID},
		{ID: 3, Kind: reconcile.OpRecreate, Resource: cname, Service: "web", ContainerID: cr.ID},
		{ID: 4, Kind: reconcile.OpCreateNetwork, Resource: name + "_default", Key: "default"},
		{ID: 5, Kind: reconcile.OpCreateVolume, Resource: name + "_data", Key: "data"},
		{ID: 6, Kind: reconcile.OpRemoveNetwork, Resource: name + "_default", Key: "default"},
		{ID: 7, Kind: reconcile.OpRemoveVolume, Resource: name + "_data", Key: "data"},
		{ID: 8, Kind: reconcile.OpCreateContainer, Resource: name + "-web-2", Service: "web", Number: 2, After: []int{4}},
		{ID: 9, Kind: reconcile.OpCreateNetwork, Resource: name + "_other", Key: "other"},
	}}
	rec := &recorder{}
	err = e.Apply(ctx, p, plan, ApplyOptions{}, rec.add)
	if !errors.Is(err, ErrNotManaged) {
		t.Fatalf("error = %v", err)
	}
	for id := 1; id <= 7; id++ {
		if st := rec.statuses(id); st[len(st)-1] != "failed" {
			t.Errorf("op %d: %v", id, st)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("op %d ", id)) {
			t.Errorf("error does not name op %d", id)
		}
	}
	if !strings.Contains(err.Error(), fmt.Sprintf(`refusing to touch container %q: it has no dev.berth.managed=true label`, cname)) {
		t.Errorf("error: %v", err)
	}
	if st := rec.statuses(8); !slices.Equal(st, []string{"skipped"}) {
		t.Errorf("op 8 (after a failed op): %v", st)
	}
	if st := rec.statuses(9); st[len(st)-1] != "done" {
		t.Errorf("op 9 (independent): %v", st)
	}
	// Nothing foreign was touched.
	if c := containerByName(t, e, cname); c.ID != cr.ID || !c.State.Running {
		t.Errorf("foreign container changed: running %v", c.State.Running)
	}
	if _, err := e.cli.NetworkInspect(ctx, name+"_default", network.InspectOptions{}); err != nil {
		t.Errorf("foreign network: %v", err)
	}
	if v, err := e.cli.VolumeInspect(ctx, name+"_data"); err != nil || v.Labels[reconcile.LabelManaged] != "" {
		t.Errorf("foreign volume: %v %v", err, v.Labels)
	}
}

// TestIntegrationPullMissing: no registry, no such image → ErrImageNotFound.
func TestIntegrationPullMissing(t *testing.T) {
	e := testEngine(t)
	name := uniqueProject(t, e)
	ref := "berth-test/does-not-exist:never"
	p := &spec.Project{Name: name}
	plan := reconcile.Plan{Project: name, Ops: []reconcile.Op{{ID: 1, Kind: reconcile.OpPullImage, Resource: ref, Cause: "image missing"}}}
	err := e.Apply(testCtx(t, 2*time.Minute), p, plan, ApplyOptions{}, nil)
	if !errors.Is(err, ErrImageNotFound) {
		t.Fatalf("error = %v", err)
	}
	if want := `op 1 pull-image ` + ref + `: image "` + ref + `" is not present on the engine and could not be pulled: `; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q", err)
	}
	t.Log(err)
}

// TestIntegrationBuild builds an image from a temp context through Apply
// with the classic builder (an engine without BuildKit's), then runs it to
// see what the context held.
func TestIntegrationBuild(t *testing.T) {
	e := testEngine(t)
	img := probeImage(t, e)
	e.build.choice = builderChoice{kind: builderClassic, why: "this test asks for it"}
	name := uniqueProject(t, e)
	ctx := testCtx(t, 3*time.Minute)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile":    "FROM " + img + "\nARG GREETING=none\nCOPY . /ctx/\nLABEL greeting=$GREETING\n",
		".dockerignore": "secret.txt\nlogs/\n!logs/keep.txt\n",
		"hello.txt":     "hello",
		"secret.txt":    "secret",
		"logs/drop.txt": "drop",
		"logs/keep.txt": "keep",
	})
	ref := "berth-test/build-" + name + ":latest"
	p := &spec.Project{Name: name, Services: []spec.Service{{
		Name: "app", Image: ref, Replicas: 1, Hash: "a", Command: []string{"ls", "/ctx"},
		Build:     &spec.Build{Context: dir, Dockerfile: "Dockerfile", Args: map[string]string{"GREETING": "hi"}, Labels: map[string]string{"x": "y"}},
		BuildHash: "bh-" + name,
	}}}
	plan := reconcile.Plan{Project: name, Ops: []reconcile.Op{
		{ID: 1, Kind: reconcile.OpBuildImage, Resource: ref, Service: "app", Cause: "image missing"},
		{ID: 2, Kind: reconcile.OpCreateContainer, Resource: name + "-app-1", Service: "app", Number: 1, After: []int{1}},
	}}
	rec := &recorder{}
	if err := e.Apply(ctx, p, plan, ApplyOptions{}, rec.add); err != nil {
		t.Fatalf("%v\n%s", err, rec.text())
	}
	if d := rec.details(1); len(d) == 0 || !strings.HasPrefix(d[0], "warning: building with the classic builder: this test asks for it;") {
		t.Errorf("the build did not start with the classic builder's warning: %q", d)
	}
	steps := 0
	for _, d := range rec.details(1) {
		if strings.HasPrefix(d, "Step ") {
			steps++
		}
	}
	// Four steps of the Dockerfile, plus one per label the classic
	// builder appends.
	if steps < 4 || !has(rec.details(1), "Step 3/"+fmt.Sprint(steps)+" : COPY . /ctx/") {
		t.Errorf("build progress had %d step lines: %q", steps, rec.details(1))
	}
	ins, err := e.cli.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{reconcile.LabelBuildHash: "bh-" + name, "greeting": "hi", "x": "y"} {
		if ins.Config.Labels[k] != v {
			t.Errorf("image label %s = %q, want %q", k, ins.Config.Labels[k], v)
		}
	}
	obs, err := e.Observe(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if obs.Images[ref].BuildHash != "bh-"+name || obs.Images[ref].ID != ins.ID {
		t.Errorf("observed image %+v", obs.Images[ref])
	}

	// The container lists /ctx and exits; its logs show the context. The
	// lines arrive one by one: read until as many as wanted have come (a
	// read that saw only the first line passed for the whole listing).
	want := []string{".dockerignore", "Dockerfile", "hello.txt", "logs", "logs/keep.txt"}
	var files []string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		files = nil
		if err := e.Logs(ctx, name, LogOptions{Tail: -1}, func(l LogLine) {
			if f, ok := strings.CutPrefix(l.Text, "ls: "); ok {
				files = append(files, f)
			}
		}); err != nil {
			t.Fatal(err)
		}
		if len(files) >= len(want) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !slices.Equal(files, want) {
		t.Errorf("context in the image = %v, want %v", files, want)
	}

	// A failing step fails the op with the builder's message and the step.
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + img + "\nRUN [\"/probe\", \"exit\", \"3\"]\n"})
	p.Services[0].BuildHash = "bh2"
	err = e.Apply(ctx, p, reconcile.Plan{Project: name, Ops: plan.Ops[:1]}, ApplyOptions{}, nil)
	if err == nil || !regexp.MustCompile(`^op 1 build-image \S+: build of service app failed at Step 2/\d+ : RUN \["/probe", "exit", "3"\]: .*returned a non-zero code: 3 \(Berth built with the classic builder because this test asks for it; .*\)$`).MatchString(err.Error()) {
		t.Errorf("error = %v", err)
	}
}

// TestIntegrationWaitFailures: a dependency that exits fails the ops
// awaiting it, naming it; with Wait, a container that exits fails the wait
// with its last log lines.
func TestIntegrationWaitFailures(t *testing.T) {
	e := testEngine(t)
	img := probeImage(t, e)
	name := uniqueProject(t, e)
	ctx := testCtx(t, 2*time.Minute)
	interval := 200 * time.Millisecond
	p := &spec.Project{Name: name, Services: []spec.Service{
		{Name: "app", Image: img, Replicas: 1, Hash: "a", DependsOn: []spec.Dependency{{Service: "crash", Condition: spec.ConditionHealthy, Required: true}}},
		{Name: "crash", Image: img, Replicas: 1, Hash: "c", Command: []string{"exit", "3"},
			Healthcheck: &spec.Healthcheck{Test: []string{"CMD", "/probe", "health"}, Interval: &interval}},
	}}
	plan := reconcile.Plan{Project: name, Ops: []reconcile.Op{
		{ID: 1, Kind: reconcile.OpCreateContainer, Resource: name + "-crash-1", Service: "crash", Number: 1},
		{ID: 2, Kind: reconcile.OpCreateContainer, Resource: name + "-app-1", Service: "app", Number: 1,
			Await: []reconcile.Await{{Service: "crash", Condition: spec.ConditionHealthy, Required: true}}},
	}}
	start := time.Now()
	err := e.Apply(ctx, p, plan, ApplyOptions{Wait: true}, nil)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "op 2 create-container "+name+"-app-1: dependency crash did not become healthy: container "+name+"-crash-1 exited with code 3") {
		t.Errorf("error = %v", err)
	}
	// The engine copies stdout and stderr separately, so where the stderr
	// line lands among the others varies; the last stdout line is always
	// among the last 10.
	_, tail, _ := strings.Cut(msg, "its last 10 log lines:\n")
	if n := strings.Count(tail, "\n  probe: ") + 1; n != 10 || !strings.Contains(tail, "probe: line 12") || strings.Contains(tail, "probe: line 2\n") {
		t.Errorf("error does not carry the last 10 log lines: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("failing took %s", d)
	}
	if _, err := e.cli.ContainerInspect(ctx, name+"-app-1"); err == nil {
		t.Error("app was created although its dependency failed")
	}

	// Wait on its own: the exited container fails it.
	p2 := &spec.Project{Name: name, Services: p.Services[1:]}
	err = e.waitUp(ctx, p2, 10*time.Second, func(reconcile.Progress) {})
	if err == nil || !strings.Contains(err.Error(), "service crash: container "+name+"-crash-1 exited with code 3; its last 10 log lines:\n  probe: ") || !strings.Contains(err.Error(), "probe: line 12") {
		t.Errorf("wait error = %v", err)
	}
}

// TestIntegrationObserveExternal: a missing external network or volume is
// an error from Observe; a present one is fine and not reported.
func TestIntegrationObserveExternal(t *testing.T) {
	e := testEngine(t)
	name := uniqueProject(t, e)
	ctx := testCtx(t, time.Minute)
	p := &spec.Project{Name: name, Networks: []spec.Network{{Key: "shared", Name: name + "-shared", External: true}}}
	if _, err := e.Observe(ctx, p); err == nil || !strings.Contains(err.Error(), `network "`+name+`-shared" is declared external but does not exist`) {
		t.Errorf("error = %v", err)
	}
	if _, err := e.cli.NetworkCreate(ctx, name+"-shared", network.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p.Volumes = []spec.Volume{{Key: "vault", Name: name + "-vault", External: true}}
	if _, err := e.Observe(ctx, p); err == nil || !strings.Contains(err.Error(), `volume "`+name+`-vault" is declared external`) {
		t.Errorf("error = %v", err)
	}
	if _, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: name + "-vault"}); err != nil {
		t.Fatal(err)
	}
	obs, err := e.Observe(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.Foreign)+len(obs.Networks)+len(obs.Volumes) != 0 {
		t.Errorf("observed %+v", obs)
	}
}
