package engine

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"golang.org/x/sync/errgroup"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// ProjectSummary is one Berth-managed environment found on the engine.
type ProjectSummary struct {
	Name       string         `json:"name"`
	Definition string         `json:"definition,omitempty"`
	Revision   string         `json:"revision,omitempty"`
	WorkingDir string         `json:"workingDir,omitempty"`
	Containers int            `json:"containers"`
	Running    int            `json:"running"`
	States     map[string]int `json:"states"` // container state → count
}

// inspectParallelism bounds concurrent inspect calls.
const inspectParallelism = 8

// Observe reports the live state of p: every container, network and volume
// carrying its project label, the images its services use, and the objects
// Berth did not create whose names p needs. An external network or volume
// that does not exist is an error.
func (e *Engine) Observe(ctx context.Context, p *spec.Project) (reconcile.Observed, error) {
	var (
		obs    reconcile.Observed
		images map[string]reconcile.Image
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		obs, err = e.ObserveProject(gctx, p.Name)
		return err
	})
	g.Go(func() error {
		var err error
		images, err = e.observeImages(gctx, p)
		return err
	})
	g.Go(func() error { return e.checkExternal(gctx, p) })
	if err := g.Wait(); err != nil {
		return reconcile.Observed{}, err
	}
	obs.Images = images
	foreign, err := e.observeForeign(ctx, p, obs)
	if err != nil {
		return reconcile.Observed{}, err
	}
	obs.Foreign = foreign
	return obs, nil
}

// ObserveProject reports every container, network and volume labelled with
// the project name, without images or name collisions (for down and status,
// when only the name is known).
func (e *Engine) ObserveProject(ctx context.Context, name string) (reconcile.Observed, error) {
	obs := reconcile.Observed{Project: name, Containers: []reconcile.Container{}, Networks: []reconcile.Object{}, Volumes: []reconcile.Object{}}
	f := filters.NewArgs(filters.Arg("label", reconcile.LabelProject+"="+name))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		cs, err := e.listContainers(gctx, f)
		obs.Containers = cs
		return err
	})
	g.Go(func() error {
		ns, err := e.cli.NetworkList(gctx, network.ListOptions{Filters: f})
		if err != nil {
			return fmt.Errorf("listing networks of %s: %w", name, err)
		}
		for _, n := range ns {
			obs.Networks = append(obs.Networks, toObject(n.ID, n.Name, n.Labels, reconcile.LabelNetwork))
		}
		return nil
	})
	g.Go(func() error {
		vs, err := e.cli.VolumeList(gctx, volume.ListOptions{Filters: f})
		if err != nil {
			return fmt.Errorf("listing volumes of %s: %w", name, err)
		}
		for _, v := range vs.Volumes {
			obs.Volumes = append(obs.Volumes, toObject("", v.Name, v.Labels, reconcile.LabelVolume))
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return reconcile.Observed{}, err
	}
	sort.Slice(obs.Networks, func(i, j int) bool { return obs.Networks[i].Name < obs.Networks[j].Name })
	sort.Slice(obs.Volumes, func(i, j int) bool { return obs.Volumes[i].Name < obs.Volumes[j].Name })
	return obs, nil
}

// Projects lists every Berth-managed environment on the engine, from its
// containers, sorted by name.
func (e *Engine) Projects(ctx context.Context) ([]ProjectSummary, error) {
	cs, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", reconcile.LabelManaged+"=true"))})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	byName := map[string]*ProjectSummary{}
	for _, c := range cs {
		name := c.Labels[reconcile.LabelProject]
		if name == "" {
			continue
		}
		ps := byName[name]
		if ps == nil {
			ps = &ProjectSummary{Name: name, States: map[string]int{}}
			byName[name] = ps
		}
		ps.Definition = cmp.Or(ps.Definition, c.Labels[reconcile.LabelDefinition])
		ps.Revision = cmp.Or(ps.Revision, c.Labels[reconcile.LabelRevision])
		ps.WorkingDir = cmp.Or(ps.WorkingDir, c.Labels[reconcile.LabelWorkingDir])
		ps.Containers++
		ps.States[string(c.State)]++
		if c.State == container.StateRunning {
			ps.Running++
		}
	}
	out := make([]ProjectSummary, 0, len(byName))
	for _, n := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, *byName[n])
	}
	return out, nil
}

// listContainers lists containers (all states) matching f and inspects each
// for what the list does not carry (health, exit code, restarts, start time).
func (e *Engine) listContainers(ctx context.Context, f filters.Args) ([]reconcile.Container, error) {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	out := make([]reconcile.Container, len(list))
	gone := make([]bool, len(list))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(inspectParallelism)
	for i, s := range list {
		g.Go(func() error {
			ins, err := e.cli.ContainerInspect(gctx, s.ID)
			if cerrdefs.IsNotFound(err) {
				gone[i] = true // removed between list and inspect
				return nil
			}
			if err != nil {
				return fmt.Errorf("inspecting container %s: %w", s.ID[:12], err)
			}
			out[i] = toContainer(s, ins)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res := make([]reconcile.Container, 0, len(out))
	for i, c := range out {
		if !gone[i] {
			res = append(res, c)
		}
	}
	sort.Slice(res, func(i, j int) bool {
		if res[i].Service != res[j].Service {
			return res[i].Service < res[j].Service
		}
		if res[i].Number != res[j].Number {
			return res[i].Number < res[j].Number
		}
		return res[i].Name < res[j].Name
	})
	return res, nil
}

// toContainer converts the engine's view of a container.
func toContainer(s container.Summary, ins container.InspectResponse) reconcile.Container {
	l := s.Labels
	if ins.Config != nil && ins.Config.Labels != nil {
		l = ins.Config.Labels
	}
	c := reconcile.Container{
		ID:         s.ID,
		Service:    l[reconcile.LabelService],
		OneOff:     strings.EqualFold(l[reconcile.LabelOneOff], "true"),
		Managed:    l[reconcile.LabelManaged] == "true",
		ConfigHash: l[reconcile.LabelConfigHash],
		Image:      s.Image,
		ImageID:    s.ImageID,
		State:      string(s.State),
		Created:    time.Unix(s.Created, 0).UTC(),
		Labels:     maps.Clone(l),
	}
	c.Number, _ = strconv.Atoi(l[reconcile.LabelNumber])
	if len(s.Names) > 0 {
		c.Name = strings.TrimPrefix(s.Names[0], "/")
	}
	if ins.ContainerJSONBase != nil {
		b := ins.ContainerJSONBase
		c.Name = strings.TrimPrefix(b.Name, "/")
		c.ImageID = b.Image
		c.Restarts = b.RestartCount
		if t, err := time.Parse(time.RFC3339Nano, b.Created); err == nil {
			c.Created = t.UTC()
		}
		if st := b.State; st != nil {
			c.State = string(st.Status)
			c.ExitCode = st.ExitCode
			if st.Health != nil && st.Health.Status != container.NoHealthcheck {
				c.Health = st.Health.Status
			}
			if t, err := time.Parse(time.RFC3339Nano, st.StartedAt); err == nil && t.Year() > 1 {
				c.StartedAt = t.UTC()
			}
		}
	}
	if ins.Config != nil && ins.Config.Image != "" {
		c.Image = ins.Config.Image
	}
	for _, p := range s.Ports {
		if p.PublicPort == 0 {
			continue
		}
		c.Ports = append(c.Ports, reconcile.PublishedPort{HostIP: p.IP, HostPort: p.PublicPort, ContainerPort: p.PrivatePort, Protocol: p.Type})
	}
	sort.Slice(c.Ports, func(i, j int) bool {
		a, b := c.Ports[i], c.Ports[j]
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		if a.HostIP != b.HostIP {
			return a.HostIP < b.HostIP
		}
		return a.HostPort < b.HostPort
	})
	if ins.NetworkSettings != nil {
		c.Networks = slices.Sorted(maps.Keys(ins.NetworkSettings.Networks))
	} else if s.NetworkSettings != nil {
		c.Networks = slices.Sorted(maps.Keys(s.NetworkSettings.Networks))
	}
	return c
}

func toObject(id, name string, labels map[string]string, keyLabel string) reconcile.Object {
	return reconcile.Object{
		ID:      id,
		Name:    name,
		Key:     labels[keyLabel],
		Hash:    labels[reconcile.LabelObjectHash],
		Managed: labels[reconcile.LabelManaged] == "true",
		Labels:  maps.Clone(labels),
	}
}

// observeImages inspects every image reference p's services run.
func (e *Engine) observeImages(ctx context.Context, p *spec.Project) (map[string]reconcile.Image, error) {
	refs := map[string]bool{}
	for _, s := range p.Services {
		if s.Image != "" {
			refs[s.Image] = true
		}
	}
	out := map[string]reconcile.Image{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(inspectParallelism)
	for ref := range refs {
		g.Go(func() error {
			img, err := e.cli.ImageInspect(gctx, ref)
			if cerrdefs.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("inspecting image %s: %w", ref, err)
			}
			im := reconcile.Image{ID: img.ID}
			if img.Config != nil {
				im.BuildHash = img.Config.Labels[reconcile.LabelBuildHash]
			}
			mu.Lock()
			out[ref] = im
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

// checkExternal makes sure every external network and volume exists.
func (e *Engine) checkExternal(ctx context.Context, p *spec.Project) error {
	var nets []string
	for _, n := range p.Networks {
		if n.External {
			nets = append(nets, n.Name)
		}
	}
	if len(nets) > 0 {
		found, err := e.networksByName(ctx, nets)
		if err != nil {
			return err
		}
		for _, n := range nets {
			if _, ok := found[n]; !ok {
				return fmt.Errorf("network %q is declared external but does not exist on the engine; create it first (docker network create %s)", n, n)
			}
		}
	}
	for _, v := range p.Volumes {
		if !v.External {
			continue
		}
		if _, err := e.cli.VolumeInspect(ctx, v.Name); cerrdefs.IsNotFound(err) {
			return fmt.Errorf("volume %q is declared external but does not exist on the engine; create it first (docker volume create %s)", v.Name, v.Name)
		} else if err != nil {
			return fmt.Errorf("inspecting external volume %s: %w", v.Name, err)
		}
	}
	return nil
}

// networksByName lists networks whose name is exactly one of names.
func (e *Engine) networksByName(ctx context.Context, names []string) (map[string]network.Summary, error) {
	f := filters.NewArgs()
	for _, n := range names {
		f.Add("name", n)
	}
	ns, err := e.cli.NetworkList(ctx, network.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	out := map[string]network.Summary{}
	for _, n := range ns {
		if slices.Contains(names, n.Name) {
			out[n.Name] = n
		}
	}
	return out, nil
}

// ownedBy reports whether labels mark a Berth-managed object of project.
func ownedBy(labels map[string]string, project string) bool {
	return labels[reconcile.LabelManaged] == "true" && labels[reconcile.LabelProject] == project
}

// observeForeign finds objects with names p needs that are not Berth-managed
// objects of p. Names already taken by p's own managed objects are not
// looked up again, so a project in sync costs no extra calls.
func (e *Engine) observeForeign(ctx context.Context, p *spec.Project, obs reconcile.Observed) ([]reconcile.Foreign, error) {
	var out []reconcile.Foreign

	own := map[string]bool{}
	for _, c := range obs.Containers {
		if ownedBy(c.Labels, p.Name) {
			own[c.Name] = true
		}
	}
	var wantC []string
	for _, s := range p.Services {
		for n := 1; n <= s.Replicas; n++ {
			if name := containerName(p.Name, s.Name, n); !own[name] {
				wantC = append(wantC, name)
			}
		}
	}
	if len(wantC) > 0 {
		f := filters.NewArgs()
		for _, n := range wantC {
			f.Add("name", "^/?"+regexp.QuoteMeta(n)+"$")
		}
		list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		if err != nil {
			return nil, fmt.Errorf("listing containers: %w", err)
		}
		for _, c := range list {
			for _, n := range c.Names {
				n = strings.TrimPrefix(n, "/")
				if slices.Contains(wantC, n) && !ownedBy(c.Labels, p.Name) {
					out = append(out, reconcile.Foreign{Kind: reconcile.KindContainer, Name: n, ID: c.ID, Project: c.Labels[reconcile.LabelProject]})
				}
			}
		}
	}

	own = map[string]bool{}
	for _, n := range obs.Networks {
		if ownedBy(n.Labels, p.Name) {
			own[n.Name] = true
		}
	}
	var wantN []string
	for _, n := range p.Networks {
		if !n.External && !own[n.Name] {
			wantN = append(wantN, n.Name)
		}
	}
	if len(wantN) > 0 {
		found, err := e.networksByName(ctx, wantN)
		if err != nil {
			return nil, err
		}
		for _, name := range wantN {
			if n, ok := found[name]; ok && !ownedBy(n.Labels, p.Name) {
				out = append(out, reconcile.Foreign{Kind: reconcile.KindNetwork, Name: name, ID: n.ID, Project: n.Labels[reconcile.LabelProject]})
			}
		}
	}

	own = map[string]bool{}
	for _, v := range obs.Volumes {
		if ownedBy(v.Labels, p.Name) {
			own[v.Name] = true
		}
	}
	var wantV []string
	for _, v := range p.Volumes {
		if !v.External && !own[v.Name] {
			wantV = append(wantV, v.Name)
		}
	}
	if len(wantV) > 0 {
		f := filters.NewArgs()
		for _, n := range wantV {
			f.Add("name", n)
		}
		vs, err := e.cli.VolumeList(ctx, volume.ListOptions{Filters: f})
		if err != nil {
			return nil, fmt.Errorf("listing volumes: %w", err)
		}
		for _, v := range vs.Volumes {
			if slices.Contains(wantV, v.Name) && !ownedBy(v.Labels, p.Name) {
				out = append(out, reconcile.Foreign{Kind: reconcile.KindVolume, Name: v.Name, ID: v.Name, Project: v.Labels[reconcile.LabelProject]})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}
