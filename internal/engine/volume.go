package engine

import (
	"cmp"
	"context"
	"fmt"
	"maps"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// projectVolume finds the volume an op is about, by key, else by name.
func projectVolume(p *spec.Project, op reconcile.Op) *spec.Volume {
	if v := p.Volume(op.Key); v != nil && op.Key != "" {
		return v
	}
	for i := range p.Volumes {
		if p.Volumes[i].Name == op.Resource {
			return &p.Volumes[i]
		}
	}
	return nil
}

func volumeLabels(p *spec.Project, v *spec.Volume) map[string]string {
	l := maps.Clone(v.Labels)
	if l == nil {
		l = map[string]string{}
	}
	maps.Copy(l, projectLabels(p))
	l[reconcile.LabelVolume] = v.Key
	l[reconcile.LabelObjectHash] = v.Hash
	return l
}

// createVolume creates a project volume. The engine would silently hand
// back an existing volume of the same name, so a volume that exists and is
// not this environment's is refused first.
func (e *Engine) createVolume(ctx context.Context, p *spec.Project, op reconcile.Op, detail func(string)) error {
	v := projectVolume(p, op)
	if v == nil {
		return fmt.Errorf("volume %q is not in the project", cmp.Or(op.Key, op.Resource))
	}
	if v.External {
		return fmt.Errorf("volume %q is external: Berth does not create it", v.Name)
	}
	old, err := e.cli.VolumeInspect(ctx, v.Name)
	switch {
	case err == nil && ownedBy(old.Labels, p.Name):
		detail("already exists")
		return nil
	case err == nil:
		return notManaged("volume", v.Name, p.Name, "a volume of that name already exists")
	case !cerrdefs.IsNotFound(err):
		return fmt.Errorf("inspecting volume %s: %w", v.Name, err)
	}
	if _, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: v.Name, Driver: v.Driver, DriverOpts: maps.Clone(v.DriverOpts), Labels: volumeLabels(p, v)}); err != nil {
		return fmt.Errorf("creating volume %s: %w", v.Name, err)
	}
	return nil
}

// removeVolume removes a Berth-managed volume of the project (and its
// data); one that is gone already is fine.
func (e *Engine) removeVolume(ctx context.Context, project string, op reconcile.Op, detail func(string)) error {
	v, err := e.cli.VolumeInspect(ctx, op.Resource)
	if cerrdefs.IsNotFound(err) {
		detail("already gone")
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspecting volume %s: %w", op.Resource, err)
	}
	if !ownedBy(v.Labels, project) {
		return notManaged("volume", v.Name, project, "it was not created by Berth for this environment")
	}
	if err := e.cli.VolumeRemove(ctx, v.Name, false); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing volume %s: %w", v.Name, err)
	}
	return nil
}
