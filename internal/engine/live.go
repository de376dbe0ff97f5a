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
	"github.com/docker/docker/api/types/mount"
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
	m, err := e.LiveMany(ctx, []*spec.Project{p}, false)
	return m[p.Name], err
}

// LiveMany is Live for several environments at once, in one round of
// engine calls: one container list and one network list for all of them,
// inspects run concurrently (bounded), each image reference and image
// configuration looked up once. While a DriftEvents stream is open,
// containers and networks with no event since their last inspect are not
// inspected again (see liveCache); fresh inspects everything anew (the
// periodic resync, the safety net for anything the events missed).
func (e *Engine) LiveMany(ctx context.Context, ps []*spec.Project, fresh bool) (map[string]drift.Live, error) {
	out := make(map[string]drift.Live, len(ps))
	byName := map[string]*spec.Project{}
	for _, p := range ps {
		out[p.Name] = drift.Live{Project: p.Name, Containers: []drift.Container{}, Networks: []drift.Network{}, Images: map[string]string{}}
		byName[p.Name] = p
	}
	if len(ps) == 0 {
		return out, nil
	}

	// Containers: every one with a project label (one list), and by the
	// names the desired states need when the list lacks them.
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", reconcile.LabelProject))})
	if err != nil {
		return out, fmt.Errorf("listing containers: %w", err)
	}
	owner := map[string]string{} // container ID → environment
	names := map[string]string{} // container name → environment that needs it
	for _, p := range ps {
		for _, s := range p.Services {
			for n := 1; n <= s.Replicas; n++ {
				names[containerName(p.Name, s.Name, n)] = p.Name
			}
		}
	}
	found := map[string]bool{}
	for _, c := range list {
		if _, ok := byName[c.Labels[reconcile.LabelProject]]; ok {
			owner[c.ID] = c.Labels[reconcile.LabelProject]
		}
		for _, n := range c.Names {
			n = strings.TrimPrefix(n, "/")
			found[n] = true
			if env, ok := names[n]; ok && owner[c.ID] == "" {
				owner[c.ID] = env
			}
		}
	}
	nf := filters.NewArgs()
	for n := range names {
		if !found[n] {
			nf.Add("name", "^/?"+regexp.QuoteMeta(n)+"$")
		}
	}
	if nf.Len() > 0 {
		named, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: nf})
		if err != nil {
			return out, fmt.Errorf("listing containers: %w", err)
		}
		for _, c := range named {
			for _, n := range c.Names {
				if env, ok := names[strings.TrimPrefix(n, "/")]; ok && owner[c.ID] == "" {
					owner[c.ID] = env
				}
			}
		}
	}

	var (
		mu    sync.Mutex
		first error
		refs  = map[string]string{} // image reference → ID
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	g := newPool(inspectParallelism)
	ctrs := map[string]drift.Container{}
	for id := range owner {
		g.Go(func() {
			c, ok, tok := e.live.container(id, fresh)
			if !ok {
				ins, err := e.cli.ContainerInspect(ctx, id)
				if cerrdefs.IsNotFound(err) {
					return // removed meanwhile
				}
				if err != nil {
					fail(fmt.Errorf("inspecting container %s: %w", id[:min(12, len(id))], err))
					return
				}
				c = liveContainer(ins)
				e.live.putContainer(tok, c)
			}
			mu.Lock()
			ctrs[id] = c
			mu.Unlock()
		})
	}
	// The images the desired states name: each reference once.
	for _, p := range ps {
		for _, s := range p.Services {
			if s.Image != "" {
				refs[s.Image] = ""
			}
		}
	}
	refList := make([]string, 0, len(refs))
	for ref := range refs {
		refList = append(refList, ref)
	}
	for _, ref := range refList { // refs is written below: range over a copy
		g.Go(func() {
			img, err := e.cli.ImageInspect(ctx, ref)
			if cerrdefs.IsNotFound(err) {
				return
			}
			if err != nil {
				fail(fmt.Errorf("inspecting image %s: %w", ref, err))
				return
			}
			mu.Lock()
			refs[ref] = img.ID
			mu.Unlock()
		})
	}
	var nets map[string][]drift.Network
	g.Go(func() {
		ns, err := e.liveNetworks(ctx, ps, fresh)
		if err != nil {
			fail(err)
			return
		}
		nets = ns
	})
	g.Wait()
	if first != nil {
		return out, first
	}

	// The configuration of each image a container runs (shared, and kept:
	// an image ID names immutable content).
	images := map[string]*drift.ImageConfig{}
	for _, c := range ctrs {
		if c.ImageID != "" {
			images[c.ImageID] = e.live.image(c.ImageID)
		}
	}
	var toInspect []string
	for id, ic := range images {
		if ic == nil {
			toInspect = append(toInspect, id)
		}
	}
	for _, id := range toInspect { // images is written below
		g.Go(func() {
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
				for p := range cfg.ExposedPorts {
					ic.ExposedPorts = append(ic.ExposedPorts, p)
				}
				sort.Strings(ic.ExposedPorts)
				for v := range cfg.Volumes {
					ic.Volumes = append(ic.Volumes, v)
				}
				sort.Strings(ic.Volumes)
			}
			e.live.putImage(id, ic)
			mu.Lock()
			images[id] = ic
			mu.Unlock()
		})
	}
	g.Wait()
	if first != nil {
		return out, first
	}
	for id, c := range ctrs {
		if ic := images[c.ImageID]; ic != nil {
			c.ImageConfig = *ic
		}
		l := out[owner[id]]
		l.Containers = append(l.Containers, c)
		out[owner[id]] = l
	}
	for name, l := range out {
		for _, s := range byName[name].Services {
			if id := refs[s.Image]; id != "" {
				l.Images[s.Image] = id
			}
		}
		if ns := nets[name]; ns != nil {
			l.Networks = ns
		}
		sort.Slice(l.Containers, func(i, j int) bool { return l.Containers[i].Name < l.Containers[j].Name })
		out[name] = l
	}
	return out, nil
}

// pool runs functions with bounded concurrency.
type pool struct {
	wg  sync.WaitGroup
	sem chan struct{}
}

func newPool(n int) *pool { return &pool{sem: make(chan struct{}, n)} }

func (p *pool) Go(f func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.sem <- struct{}{}
		defer func() { <-p.sem }()
		f()
	}()
}

func (p *pool) Wait() { p.wg.Wait() }

// liveNetworks inspects the projects' networks (by label, one list for
// all) and the ones they name, for what is attached to them.
func (e *Engine) liveNetworks(ctx context.Context, ps []*spec.Project, fresh bool) (map[string][]drift.Network, error) {
	byName := map[string]bool{}
	for _, p := range ps {
		byName[p.Name] = true
	}
	owner := map[string]string{} // network ID → environment
	seen := map[string]bool{}    // network names listed
	ns, err := e.cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", reconcile.LabelProject))})
	if err != nil {
		return nil, fmt.Errorf("listing networks: %w", err)
	}
	for _, n := range ns {
		seen[n.Name] = true
		if byName[n.Labels[reconcile.LabelProject]] {
			owner[n.ID] = n.Labels[reconcile.LabelProject]
		}
	}
	wanted := map[string]string{} // network name → environment that names it
	for _, p := range ps {
		for _, n := range p.Networks {
			wanted[n.Name] = p.Name
		}
	}
	for _, n := range ns {
		if env, ok := wanted[n.Name]; ok && owner[n.ID] == "" {
			owner[n.ID] = env
		}
	}
	var missing []string
	for name := range wanted {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		more, err := e.networksByName(ctx, missing)
		if err != nil {
			return nil, err
		}
		for name, n := range more {
			if owner[n.ID] == "" {
				owner[n.ID] = wanted[name]
			}
		}
	}
	var (
		mu    sync.Mutex
		first error
	)
	out := map[string][]drift.Network{}
	g := newPool(inspectParallelism)
	for id, env := range owner {
		g.Go(func() {
			dn, ok, tok := e.live.network(id, fresh)
			if !ok {
				ins, err := e.cli.NetworkInspect(ctx, id, network.InspectOptions{})
				if cerrdefs.IsNotFound(err) {
					return
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("inspecting network %s: %w", id[:min(12, len(id))], err)
					}
					mu.Unlock()
					return
				}
				dn = drift.Network{ID: id, Name: ins.Name, Key: ins.Labels[reconcile.LabelNetwork], Managed: ins.Labels[reconcile.LabelManaged] == "true"}
				for cid, ep := range ins.Containers {
					dn.Attached = append(dn.Attached, drift.Attached{ID: cid, Name: ep.Name})
				}
				sort.Slice(dn.Attached, func(i, j int) bool { return dn.Attached[i].Name < dn.Attached[j].Name })
				e.live.putNetwork(tok, dn)
			}
			mu.Lock()
			out[env] = append(out[env], dn)
			mu.Unlock()
		})
	}
	g.Wait()
	if first != nil {
		return nil, first
	}
	for env := range out {
		sort.Slice(out[env], func(i, j int) bool { return out[env][i].Name < out[env][j].Name })
	}
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
				c.Mounts = append(c.Mounts, drift.Mount{Type: string(m.Type), Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly, Options: mountOptions(m)})
			}
			for _, b := range hc.Binds {
				parts := strings.Split(b, ":")
				if len(parts) < 2 {
					continue
				}
				m := drift.Mount{Type: spec.MountBind, Source: parts[0], Target: parts[1]}
				if len(parts) > 2 {
					opts := strings.Split(parts[2], ",")
					m.ReadOnly = slices.Contains(opts, "ro")
					var propagation, selinux string
					for _, o := range opts {
						switch o {
						case "z", "Z":
							selinux = o
						case "shared", "rshared", "slave", "rslave", "private", "rprivate":
							propagation = o
						}
					}
					m.Options = drift.MountOptions(false, "", 0, 0, propagation, selinux)
				}
				if !strings.HasPrefix(m.Source, "/") {
					m.Type = spec.MountVolume // a named volume in the bind syntax
				}
				c.Mounts = append(c.Mounts, m)
			}
			if ins.Config != nil {
				c.Mounts = copiedBinds(ins.Config.Labels, c.Mounts)
			}
			if len(hc.Tmpfs) > 0 {
				c.Tmpfs = maps.Clone(hc.Tmpfs)
			}
			c.Restart = restartText(hc.RestartPolicy)
			c.Init, c.Privileged, c.ReadOnly = hc.Init, hc.Privileged, hc.ReadonlyRootfs
			c.CapAdd, c.CapDrop, c.ExtraHosts = hc.CapAdd, hc.CapDrop, hc.ExtraHosts
			r := hc.Resources
			c.Resources = drift.Resources{Memory: r.Memory, MemoryReservation: r.MemoryReservation, MemorySwap: r.MemorySwap, MemorySwappiness: r.MemorySwappiness,
				NanoCPUs: r.NanoCPUs, CPUShares: r.CPUShares, CPUQuota: r.CPUQuota, CPUPeriod: r.CPUPeriod, CpusetCpus: r.CpusetCpus, OomScoreAdj: hc.OomScoreAdj}
			if r.PidsLimit != nil && *r.PidsLimit > 0 {
				c.Resources.PidsLimit = *r.PidsLimit
			}
			if r.OomKillDisable != nil {
				c.Resources.OomKillDisable = *r.OomKillDisable
			}
			c.Settings = liveSettings(hc)
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
		c.Settings.Domainname = cfg.Domainname
		for p := range cfg.ExposedPorts {
			c.Settings.ExposedPorts = append(c.Settings.ExposedPorts, string(p))
		}
		sort.Strings(c.Settings.ExposedPorts)
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

// liveSettings reads the runtime settings of a container's host config.
func liveSettings(hc *container.HostConfig) drift.Settings {
	st := drift.Settings{
		NetworkMode: string(hc.NetworkMode), PidMode: string(hc.PidMode), IpcMode: string(hc.IpcMode),
		UTSMode: string(hc.UTSMode), UsernsMode: string(hc.UsernsMode), CgroupnsMode: string(hc.CgroupnsMode),
		ShmSize: hc.ShmSize, Sysctls: maps.Clone(hc.Sysctls),
		DNS: hc.DNS, DNSSearch: hc.DNSSearch, DNSOptions: hc.DNSOptions,
		LogDriver: hc.LogConfig.Type, LogOptions: maps.Clone(hc.LogConfig.Config),
		Runtime: hc.Runtime, SecurityOpt: hc.SecurityOpt, GroupAdd: hc.GroupAdd, VolumesFrom: hc.VolumesFrom,
	}
	for _, d := range hc.Devices {
		st.Devices = append(st.Devices, d.PathOnHost+":"+d.PathInContainer+":"+d.CgroupPermissions)
	}
	for _, u := range hc.Ulimits {
		if u != nil {
			st.Ulimits = append(st.Ulimits, fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard))
		}
	}
	return st
}

// mountOptions renders a configured mount's options as drift compares them.
func mountOptions(m mount.Mount) string {
	var noCopy bool
	var subpath, propagation string
	var size int64
	var mode uint32
	if o := m.VolumeOptions; o != nil {
		noCopy, subpath = o.NoCopy, o.Subpath
	}
	if o := m.TmpfsOptions; o != nil {
		size, mode = o.SizeBytes, uint32(o.Mode) // the engine reads the raw bits (mode=%o)
	}
	if o := m.BindOptions; o != nil {
		propagation = string(o.Propagation)
	}
	return drift.MountOptions(noCopy, subpath, size, mode, propagation, "")
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

// DriftEvents streams what may change an environment's state or drift,
// until ctx ends (then nil) or a stream fails (then its error): every
// action on a container Berth manages (its lifecycle, as AllEvents
// reports it, and update, rename, kill, pause...; exec actions excepted),
// and every container connected to or disconnected from a network
// (Event.Network names it; Project is empty, the caller maps it). It is
// the one stream a watcher needs: AllEvents' events are among its own.
// out is called from one goroutine at a time.
//
// While the streams are open they keep LiveMany's inspect cache: each
// event invalidates the cached inspect of the object it names before out
// hears of it; when a stream ends the whole cache is dropped.
func (e *Engine) DriftEvents(ctx context.Context, out func(Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	send := func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		out(ev)
	}
	// The client returns from Events once the engine has answered the
	// request, that is once the subscription is in place: inspects made
	// after both calls returned are safe to keep.
	cmsgs, cerrs := e.cli.Events(ctx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("type", string(events.ContainerEventType)), filters.Arg("label", reconcile.LabelManaged+"=true"))})
	nmsgs, nerrs := e.cli.Events(ctx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("type", string(events.NetworkEventType)), filters.Arg("event", "connect"), filters.Arg("event", "disconnect"))})
	disarm := e.live.arm()
	defer disarm()
	errc := make(chan error, 2)
	stream := func(msgs <-chan events.Message, errs <-chan error, fn func(events.Message)) {
		for {
			select {
			case <-ctx.Done():
				errc <- nil
				return
			case err := <-errs:
				disarm() // events may be missed from now on
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
	go stream(cmsgs, cerrs, func(m events.Message) {
		action, _, _ := strings.Cut(string(m.Action), ":")
		if action == "exec_create" || action == "exec_start" || action == "exec_die" {
			return
		}
		e.live.invalidate(m.Actor.ID)
		if action == "rename" {
			e.live.invalidateNetworks()
		}
		send(containerEvent(m))
	})
	go stream(nmsgs, nerrs, func(m events.Message) {
		e.live.invalidate(m.Actor.ID)
		e.live.invalidate(m.Actor.Attributes["container"])
		send(Event{Time: eventTime(m), Network: m.Actor.Attributes["name"], ContainerID: m.Actor.Attributes["container"], Action: string(m.Action)})
	})
	err := <-errc
	cancel()
	<-errc
	return err
}
