package engine

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// Live reports p's environment in the detail drift detection needs: every
// container carrying its project label or holding a name p needs (one
// recreated by hand under that name), inspected, with the configuration of
// the image each runs; the project's networks with what is attached to
// them; and the image each of p's references points to now. It changes
// nothing.
func (e *Engine) Live(ctx context.Context, p *spec.Project) (drift.Live, error) {
	live := drift.Live{Project: p.Name, Containers: []drift.Container{}, Networks: []drift.Network{}, Images: map[string]string{}}

	// Containers: by label, and by the names the desired state needs.
	ids := map[string]bool{}
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", reconcile.LabelProject+"="+p.Name))})
	if err != nil {
		return live, fmt.Errorf("listing containers of %s: %w", p.Name, err)
	}
	for _, c := range list {
		ids[c.ID] = true
	}
	nf := filters.NewArgs()
	for _, s := range p.Services {
		for n := 1; n <= s.Replicas; n++ {
			nf.Add("name", "^/?"+regexp.QuoteMeta(containerName(p.Name, s.Name, n))+"$")
		}
	}
	if nf.Len() > 0 {
		named, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: nf})
		if err != nil {
			return live, fmt.Errorf("listing containers: %w", err)
		}
		for _, c := range named {
			ids[c.ID] = true
		}
	}

	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		first  error
		images = map[string]*drift.ImageConfig{}
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	sem := make(chan struct{}, inspectParallelism)
	for id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ins, err := e.cli.ContainerInspect(ctx, id)
			if cerrdefs.IsNotFound(err) {
				return // removed meanwhile
			}
			if err != nil {
				fail(fmt.Errorf("inspecting container %s: %w", id[:12], err))
				return
			}
			c := liveContainer(ins)
			mu.Lock()
			live.Containers = append(live.Containers, c)
			mu.Unlock()
		}()
	}
	// The images the desired state names, and the networks.
	refs := map[string]bool{}
	for _, s := range p.Services {
		if s.Image != "" {
			refs[s.Image] = true
		}
	}
	for ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			img, err := e.cli.ImageInspect(ctx, ref)
			if cerrdefs.IsNotFound(err) {
				return
			}
			if err != nil {
				fail(fmt.Errorf("inspecting image %s: %w", ref, err))
				return
			}
			mu.Lock()
			live.Images[ref] = img.ID
			mu.Unlock()
		}()
	}
	var nets []drift.Network
	wg.Add(1)
	go func() {
		defer wg.Done()
		ns, err := e.liveNetworks(ctx, p)
		if err != nil {
			fail(err)
			return
		}
		nets = ns
	}()
	wg.Wait()
	if first != nil {
		return live, first
	}
	live.Networks = nets

	// The configuration of each image a container runs (shared).
	for _, c := range live.Containers {
		if c.ImageID != "" {
			images[c.ImageID] = nil
		}
	}
	for id := range images {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			img, err := e.cli.ImageInspect(ctx, id)
			if cerrdefs.IsNotFound(err) {
				return // the image was removed under the container
			}
			if err != nil {
				fail(fmt.Errorf("inspecting image %s: %w", id, err))
				return
			}
			ic := &drift.ImageConfig{}
			if cfg := img.Config; cfg != nil {
				ic.Env, ic.Entrypoint, ic.Cmd = cfg.Env, cfg.Entrypoint, cfg.Cmd
				ic.Labels, ic.User, ic.WorkingDir, ic.StopSignal = cfg.Labels, cfg.User, cfg.WorkingDir, cfg.StopSignal
				ic.Healthcheck = liveHealth(cfg.Healthcheck)
			}
			mu.Lock()
			images[id] = ic
			mu.Unlock()
		}()
	}
	wg.Wait()
	if first != nil {
		return live, first
	}
	for i := range live.Containers {
		if ic := images[live.Containers[i].ImageID]; ic != nil {
			live.Containers[i].ImageConfig = *ic
		}
	}
	sort.Slice(live.Containers, func(i, j int) bool { return live.Containers[i].Name < live.Containers[j].Name })
	return live, nil
}

// liveNetworks inspects the project's networks (by label) and the ones p
// names, for what is attached to them.
func (e *Engine) liveNetworks(ctx context.Context, p *spec.Project) ([]drift.Network, error) {
	found := map[string]network.Summary{}
	ns, err := e.cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", reconcile.LabelProject+"="+p.Name))})
	if err != nil {
		return nil, fmt.Errorf("listing networks of %s: %w", p.Name, err)
	}
	for _, n := range ns {
		found[n.ID] = n
	}
	var names []string
	for _, n := range p.Networks {
		names = append(names, n.Name)
	}
	if len(names) > 0 {
		byName, err := e.networksByName(ctx, names)
		if err != nil {
			return nil, err
		}
		for _, n := range byName {
			found[n.ID] = n
		}
	}
	out := make([]drift.Network, 0, len(found))
	for id, n := range found {
		ins, err := e.cli.NetworkInspect(ctx, id, network.InspectOptions{})
		if cerrdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspecting network %s: %w", n.Name, err)
		}
		dn := drift.Network{ID: id, Name: ins.Name, Key: ins.Labels[reconcile.LabelNetwork], Managed: ins.Labels[reconcile.LabelManaged] == "true"}
		for cid, ep := range ins.Containers {
			dn.Attached = append(dn.Attached, drift.Attached{ID: cid, Name: ep.Name})
		}
		sort.Slice(dn.Attached, func(i, j int) bool { return dn.Attached[i].Name < dn.Attached[j].Name })
		out = append(out, dn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// liveContainer converts an inspected container.
func liveContainer(ins container.InspectResponse) drift.Container {
	c := drift.Container{Networks: map[string]drift.Endpoint{}}
	if b := ins.ContainerJSONBase; b != nil {
		c.ID, c.Name, c.ImageID = b.ID, strings.TrimPrefix(b.Name, "/"), b.Image
		if st := b.State; st != nil {
			c.State, c.ExitCode = string(st.Status), st.ExitCode
		}
		if hc := b.HostConfig; hc != nil {
			for port, bindings := range hc.PortBindings {
				n, _ := strconv.ParseUint(port.Port(), 10, 32)
				for _, pb := range bindings {
					c.Ports = append(c.Ports, drift.Port{HostIP: pb.HostIP, HostPort: pb.HostPort, ContainerPort: uint32(n), Protocol: port.Proto()})
				}
			}
			for _, m := range hc.Mounts {
				c.Mounts = append(c.Mounts, drift.Mount{Type: string(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
			}
			for _, b := range hc.Binds {
				parts := strings.Split(b, ":")
				if len(parts) < 2 {
					continue
				}
				m := drift.Mount{Type: spec.MountBind, Source: parts[0], Target: parts[1]}
				if len(parts) > 2 {
					m.ReadOnly = slices.Contains(strings.Split(parts[2], ","), "ro")
				}
				if !strings.HasPrefix(m.Source, "/") {
					m.Type = spec.MountVolume // a named volume in the bind syntax
				}
				c.Mounts = append(c.Mounts, m)
			}
			if len(hc.Tmpfs) > 0 {
				c.Tmpfs = maps.Clone(hc.Tmpfs)
			}
			c.Restart = restartText(hc.RestartPolicy)
			c.Init, c.Privileged, c.ReadOnly = hc.Init, hc.Privileged, hc.ReadonlyRootfs
			c.CapAdd, c.CapDrop, c.ExtraHosts = hc.CapAdd, hc.CapDrop, hc.ExtraHosts
			r := hc.Resources
			c.Resources = drift.Resources{Memory: r.Memory, MemoryReservation: r.MemoryReservation, NanoCPUs: r.NanoCPUs, CPUShares: r.CPUShares, CPUQuota: r.CPUQuota}
			if r.PidsLimit != nil && *r.PidsLimit > 0 {
				c.Resources.PidsLimit = *r.PidsLimit
			}
		}
	}
	if cfg := ins.Config; cfg != nil {
		l := cfg.Labels
		c.Project, c.Service = l[reconcile.LabelProject], l[reconcile.LabelService]
		c.Number, _ = strconv.Atoi(l[reconcile.LabelNumber])
		c.OneOff = strings.EqualFold(l[reconcile.LabelOneOff], "true")
		c.Managed = l[reconcile.LabelManaged] == "true"
		c.ConfigHash = l[reconcile.LabelConfigHash]
		c.Image = cfg.Image
		c.Env, c.Entrypoint, c.Cmd = cfg.Env, cfg.Entrypoint, cfg.Cmd
		c.Labels = maps.Clone(l)
		c.User, c.WorkingDir, c.Hostname, c.StopSignal = cfg.User, cfg.WorkingDir, cfg.Hostname, cfg.StopSignal
		c.StopTimeout = cfg.StopTimeout
		c.Healthcheck = liveHealth(cfg.Healthcheck)
		c.Tty, c.OpenStdin = cfg.Tty, cfg.OpenStdin
	}
	if ns := ins.NetworkSettings; ns != nil {
		for name, ep := range ns.Networks {
			if ep == nil {
				continue
			}
			de := drift.Endpoint{Aliases: slices.Clone(ep.Aliases)}
			if ep.IPAMConfig != nil {
				de.IPv4Address = ep.IPAMConfig.IPv4Address
			}
			c.Networks[name] = de
		}
	}
	sort.Slice(c.Ports, func(i, j int) bool {
		return fmt.Sprint(c.Ports[i]) < fmt.Sprint(c.Ports[j])
	})
	return c
}

func liveHealth(h *container.HealthConfig) *drift.Health {
	if h == nil {
		return nil
	}
	return &drift.Health{Test: h.Test, Interval: int64(h.Interval), Timeout: int64(h.Timeout), StartPeriod: int64(h.StartPeriod),
		StartInterval: int64(h.StartInterval), Retries: h.Retries}
}

// restartText is a restart policy in the Compose form.
func restartText(rp container.RestartPolicy) string {
	switch rp.Name {
	case "", container.RestartPolicyDisabled:
		return "no"
	case container.RestartPolicyOnFailure:
		if rp.MaximumRetryCount > 0 {
			return "on-failure:" + strconv.Itoa(rp.MaximumRetryCount)
		}
		return "on-failure"
	}
	return string(rp.Name)
}

// DriftEvents streams what may change an environment's drift, until ctx
// ends (then nil) or a stream fails (then its error): every action on a
// container Berth manages (update and rename included), and every
// container connected to or disconnected from a network (network is its
// name; env is empty, the caller maps it). out is called from one
// goroutine at a time.
func (e *Engine) DriftEvents(ctx context.Context, out func(env, network, container, action string)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	send := func(env, nw, c, a string) {
		mu.Lock()
		defer mu.Unlock()
		out(env, nw, c, a)
	}
	errc := make(chan error, 2)
	stream := func(f filters.Args, fn func(events.Message)) {
		msgs, errs := e.cli.Events(ctx, events.ListOptions{Filters: f})
		for {
			select {
			case <-ctx.Done():
				errc <- nil
				return
			case err := <-errs:
				if ctx.Err() != nil {
					err = nil
				}
				errc <- err
				return
			case m := <-msgs:
				fn(m)
			}
		}
	}
	go stream(filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)), filters.Arg("label", reconcile.LabelManaged+"=true")),
		func(m events.Message) {
			a := m.Actor.Attributes
			action, _, _ := strings.Cut(string(m.Action), ":")
			if action == "exec_create" || action == "exec_start" || action == "exec_die" || action == "health_status" {
				return
			}
			send(a[reconcile.LabelProject], "", a["name"], action)
		})
	go stream(filters.NewArgs(filters.Arg("type", string(events.NetworkEventType)), filters.Arg("event", "connect"), filters.Arg("event", "disconnect")),
		func(m events.Message) {
			send("", m.Actor.Attributes["name"], m.Actor.Attributes["container"], string(m.Action))
		})
	err := <-errc
	cancel()
	<-errc
	return err
}
