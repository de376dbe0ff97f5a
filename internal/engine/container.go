package engine

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/berthdev/berth/internal/failpoint"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// createContainer creates a service container, connects its networks and
// starts it. A container that cannot start is removed.
func (e *Engine) createContainer(ctx context.Context, p *spec.Project, op reconcile.Op, detail func(string)) error {
	s := p.Service(op.Service)
	if s == nil {
		return fmt.Errorf("service %q is not in the project", op.Service)
	}
	number := op.Number
	if number <= 0 {
		number = 1
	}
	_, err := e.createAndStart(ctx, p, s, number, op.Resource, nil, detail)
	return err
}

// createAndStart creates, connects and starts one container; on any failure
// it removes what it created. inherit are volume mounts carried over from a
// container being replaced.
func (e *Engine) createAndStart(ctx context.Context, p *spec.Project, s *spec.Service, number int, name string, inherit []mount.Mount, detail func(string)) (string, error) {
	id, err := e.create(ctx, p, s, number, name, inherit, detail)
	if err != nil {
		return "", err
	}
	return id, e.start(ctx, s, name, id)
}

// create creates and connects one container without starting it; on
// failure it removes what it created.
func (e *Engine) create(ctx context.Context, p *spec.Project, s *spec.Service, number int, name string, inherit []mount.Mount, detail func(string)) (string, error) {
	img, err := e.cli.ImageInspect(ctx, s.Image)
	if cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("service %s: %w: image %q is not present on the engine (pull or build it first)", s.Name, ErrImageNotFound, s.Image)
	}
	if err != nil {
		return "", fmt.Errorf("service %s: inspecting image %s: %w", s.Name, s.Image, err)
	}
	shared, err := e.sharedContainers(ctx, p, s)
	if err != nil {
		return "", err
	}
	req, err := buildCreateRequest(p, s, number, name, img.ID, e.endpoint.APIVersion, shared)
	if err != nil {
		return "", err
	}
	platform, err := parsePlatform(s.Platform)
	if err != nil {
		return "", fmt.Errorf("service %s: %w", s.Name, err)
	}
	req.HostConfig.Mounts = mergeInherited(req.HostConfig.Mounts, req.HostConfig.Binds, inherit)
	files, err := e.placeSources(ctx, p, s, &req, img.ID, detail)
	if err != nil {
		return "", err
	}

	created, err := e.cli.ContainerCreate(ctx, req.Config, req.HostConfig, req.Networking, platform, req.Name)
	if err != nil {
		return "", fmt.Errorf("creating container %s: %w", req.Name, err)
	}
	id := created.ID
	for _, w := range created.Warnings {
		detail("engine warning: " + w)
	}
	if err := e.injectFiles(ctx, p, s, id); err != nil {
		e.discard(ctx, id)
		return "", fmt.Errorf("container %s: %w", req.Name, err)
	}
	if err := e.copyFiles(ctx, id, files); err != nil {
		e.discard(ctx, id)
		return "", fmt.Errorf("container %s: %w", req.Name, err)
	}
	for _, a := range req.Connect {
		if err := e.cli.NetworkConnect(ctx, a.Network, id, a.Endpoint); err != nil {
			e.discard(ctx, id)
			return "", fmt.Errorf("connecting container %s to network %s: %w", req.Name, a.Network, err)
		}
	}
	detail("created " + shortID(id))
	return id, nil
}

// start starts a created container; on failure it removes it.
func (e *Engine) start(ctx context.Context, s *spec.Service, name, id string) error {
	if err := e.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		e.discard(ctx, id)
		return startError(s, name, err)
	}
	return nil
}

// discard removes a container this run made, with a context that survives
// cancellation: leaving a half-made container behind would confuse the
// next plan.
func (e *Engine) discard(ctx context.Context, id string) {
	_ = e.cli.ContainerRemove(context.WithoutCancel(ctx), id, container.RemoveOptions{Force: true})
}

// mergeInherited adds the anonymous volumes of a replaced container: an
// anonymous mount of the new container at the same target reuses the old
// volume, and an old anonymous volume at a target the new container does
// not mount otherwise (a VOLUME of the image) is mounted again, so recreate
// keeps the data as Compose does.
func mergeInherited(mounts []mount.Mount, binds []string, inherit []mount.Mount) []mount.Mount {
	if len(inherit) == 0 {
		return mounts
	}
	used := map[string]bool{}
	for _, b := range binds {
		parts := strings.Split(b, ":")
		if len(parts) >= 2 {
			used[parts[1]] = true
		}
	}
	for i, m := range mounts {
		used[m.Target] = true
		if m.Type != mount.TypeVolume || m.Source != "" {
			continue
		}
		for _, old := range inherit {
			if old.Target == m.Target {
				mounts[i].Source = old.Source
			}
		}
	}
	for _, old := range inherit {
		if !used[old.Target] {
			mounts = append(mounts, old)
		}
	}
	return mounts
}

var anonymousVolume = regexp.MustCompile(`^[0-9a-f]{64}$`)

// inheritable lists the anonymous volumes a container mounts.
func inheritable(ins container.InspectResponse) []mount.Mount {
	var out []mount.Mount
	for _, m := range ins.Mounts {
		if m.Type == mount.TypeVolume && anonymousVolume.MatchString(m.Name) {
			out = append(out, mount.Mount{Type: mount.TypeVolume, Source: m.Name, Target: m.Destination, ReadOnly: !m.RW})
		}
	}
	return out
}

var portInUse = regexp.MustCompile(`(?:Bind for |listen \w+ )\S*?:(\d+)`)

// startError turns a failed start into a clear error; a taken host port
// becomes a PortInUseError.
func startError(s *spec.Service, name string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "port is already allocated") || strings.Contains(msg, "address already in use") {
		port := ""
		if m := portInUse.FindStringSubmatch(msg); m != nil {
			port = m[1]
		} else {
			var published []string
			for _, p := range s.Ports {
				if p.HostPort != "" {
					published = append(published, p.HostPort)
				}
			}
			if len(published) == 1 {
				port = published[0]
			}
		}
		return &PortInUseError{Service: s.Name, HostPort: port, Err: err}
	}
	return fmt.Errorf("starting container %s: %w", name, err)
}

// managedContainer inspects a container and refuses one that is not a
// Berth-managed container of the project.
func (e *Engine) managedContainer(ctx context.Context, ref, project string) (container.InspectResponse, error) {
	ins, err := e.cli.ContainerInspect(ctx, ref)
	if err != nil {
		return ins, err
	}
	var labels map[string]string
	if ins.Config != nil {
		labels = ins.Config.Labels
	}
	name := strings.TrimPrefix(ins.Name, "/")
	switch {
	case labels[reconcile.LabelManaged] != "true":
		return ins, notManaged("container", name, project, "it has no "+reconcile.LabelManaged+"=true label")
	case labels[reconcile.LabelProject] != project:
		return ins, notManaged("container", name, project, fmt.Sprintf("it belongs to environment %q", labels[reconcile.LabelProject]))
	}
	return ins, nil
}

func containerRef(op reconcile.Op) string {
	if op.ContainerID != "" {
		return op.ContainerID
	}
	return op.Resource
}

// recreateContainer replaces a container: stop the old one, rename it out
// of the way, create and start the new one under the original name, then
// remove the old. If the new one cannot be created or started, it is
// removed and the old one gets its name back and is started again.
func (e *Engine) recreateContainer(ctx context.Context, p *spec.Project, op reconcile.Op, detail func(string)) error {
	s := p.Service(op.Service)
	if s == nil {
		return fmt.Errorf("service %q is not in the project", op.Service)
	}
	old, err := e.managedContainer(ctx, containerRef(op), p.Name)
	if err != nil {
		return err
	}
	oldName := strings.TrimPrefix(old.Name, "/")
	name := op.Resource
	if name == "" {
		name = oldName
	}
	number := op.Number
	if number <= 0 {
		number, _ = strconv.Atoi(old.Config.Labels[reconcile.LabelNumber])
	}
	if number <= 0 {
		number = 1
	}
	wasRunning := old.State != nil && (old.State.Running || old.State.Restarting)

	// The old container is renamed aside first, so that the new one can be
	// created under the name while the old one stops: creating overlaps the
	// stop (the engine uses the container's own stop grace period, set from
	// stop_grace_period), and the new one starts once the old has let go of
	// its ports.
	tmpName := fmt.Sprintf("%s_%s_berth-replaced", oldName, shortID(old.ID))
	if err := e.cli.ContainerRename(ctx, old.ID, tmpName); err != nil {
		return fmt.Errorf("renaming container %s out of the way: %w", oldName, err)
	}
	failpoint.Hit(failpoint.Renamed)
	detail("stopping " + shortID(old.ID))
	stopped := make(chan error, 1)
	go func() { stopped <- e.cli.ContainerStop(ctx, old.ID, container.StopOptions{}) }()
	newID, err := e.create(ctx, p, s, number, name, inheritable(old), detail)
	if err == nil {
		failpoint.Hit(failpoint.Created)
	}
	stopErr := <-stopped
	if err == nil && stopErr != nil {
		e.discard(ctx, newID)
		err = fmt.Errorf("stopping container %s: %w", oldName, stopErr)
	}
	if err == nil {
		err = e.start(ctx, s, name, newID)
	}
	if err != nil {
		if rerr := e.restore(ctx, old.ID, oldName, wasRunning); rerr != nil {
			return fmt.Errorf("%w; restoring the previous container %s also failed: %v", err, oldName, rerr)
		}
		return fmt.Errorf("%w (the previous container %s was restored)", err, oldName)
	}
	detail("replaced " + shortID(old.ID) + " with " + shortID(newID))
	if err := e.cli.ContainerRemove(ctx, old.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing the replaced container %s (%s): %w", tmpName, shortID(old.ID), err)
	}
	return nil
}

// restore gives a replaced container its name back and starts it again if
// it ran; it works even when ctx is cancelled.
func (e *Engine) restore(ctx context.Context, id, name string, start bool) error {
	ctx = context.WithoutCancel(ctx)
	if name != "" {
		if err := e.cli.ContainerRename(ctx, id, name); err != nil {
			return fmt.Errorf("renaming back: %w", err)
		}
	}
	if start {
		if err := e.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
			return fmt.Errorf("starting again: %w", err)
		}
	}
	return nil
}

func (e *Engine) startContainer(ctx context.Context, p *spec.Project, op reconcile.Op, detail func(string)) error {
	ins, err := e.managedContainer(ctx, containerRef(op), p.Name)
	if err != nil {
		return err
	}
	if err := e.cli.ContainerStart(ctx, ins.ID, container.StartOptions{}); err != nil {
		s := p.Service(op.Service)
		if s == nil {
			s = &spec.Service{Name: ins.Config.Labels[reconcile.LabelService]}
		}
		return startError(s, strings.TrimPrefix(ins.Name, "/"), err)
	}
	return nil
}

func (e *Engine) stopContainer(ctx context.Context, p *spec.Project, op reconcile.Op, detail func(string)) error {
	ins, err := e.managedContainer(ctx, containerRef(op), p.Name)
	if err != nil {
		return err
	}
	if err := e.cli.ContainerStop(ctx, ins.ID, container.StopOptions{}); err != nil {
		return fmt.Errorf("stopping container %s: %w", strings.TrimPrefix(ins.Name, "/"), err)
	}
	return nil
}

// restartContainer restarts a running container (its grace period
// honoured), as docker compose does for depends_on restart: true.
func (e *Engine) restartContainer(ctx context.Context, p *spec.Project, op reconcile.Op, detail func(string)) error {
	ins, err := e.managedContainer(ctx, containerRef(op), p.Name)
	if err != nil {
		return err
	}
	if err := e.cli.ContainerRestart(ctx, ins.ID, container.StopOptions{}); err != nil {
		return fmt.Errorf("restarting container %s: %w", strings.TrimPrefix(ins.Name, "/"), err)
	}
	return nil
}

// removeContainer stops a container (with its grace period) and removes
// it; its anonymous volumes stay, as with docker compose down without -v.
// A container that is already gone is fine.
func (e *Engine) removeContainer(ctx context.Context, p *spec.Project, op reconcile.Op, detail func(string)) error {
	ins, err := e.managedContainer(ctx, containerRef(op), p.Name)
	if cerrdefs.IsNotFound(err) {
		detail("already gone")
		return nil
	}
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(ins.Name, "/")
	if ins.State != nil && (ins.State.Running || ins.State.Restarting || ins.State.Paused) {
		detail("stopping")
		if err := e.cli.ContainerStop(ctx, ins.ID, container.StopOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("stopping container %s: %w", name, err)
		}
	}
	// Anonymous volumes go with the container only when asked (down
	// --volumes): like docker compose, a plain down keeps them.
	if err := e.cli.ContainerRemove(ctx, ins.ID, container.RemoveOptions{Force: true, RemoveVolumes: op.RemoveVolumes}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing container %s: %w", name, err)
	}
	if op.RemoveVolumes {
		// A recreated container mounts its predecessor's anonymous volume
		// by name, which the engine then no longer counts as the
		// container's own: remove those here. An unnamed volume is one
		// whose name is the engine's 64-hex id; one still in use by another
		// container is left.
		for _, m := range ins.Mounts {
			if m.Type == mount.TypeVolume && isAnonymousName(m.Name) {
				if err := e.cli.VolumeRemove(ctx, m.Name, false); err == nil {
					detail("removed anonymous volume " + shortID(m.Name))
				}
			}
		}
	}
	return nil
}

// isAnonymousName reports whether a volume name is one the engine made up.
func isAnonymousName(name string) bool {
	if len(name) != 64 {
		return false
	}
	for _, c := range name {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
