package engine

import (
	"context"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
)

// DBClone returns the engine as the port internal/dbclone needs: bare
// volumes, helper containers, stopping and starting managed containers.
func (e *Engine) DBClone() dbclone.Engine { return dbPort{e} }

type dbPort struct{ e *Engine }

func (p dbPort) CreateVolume(ctx context.Context, name string, labels, driverOpts map[string]string) error {
	return p.e.CreateManagedVolume(ctx, name, labels, driverOpts)
}

func (p dbPort) RemoveVolume(ctx context.Context, name string) error {
	return p.e.RemoveManagedVolume(ctx, name)
}

func (p dbPort) InspectVolume(ctx context.Context, name string) (dbclone.Volume, bool, error) {
	v, ok, err := p.e.InspectVolume(ctx, name)
	return dbVolume(v), ok, err
}

func (p dbPort) Volumes(ctx context.Context, match map[string]string) ([]dbclone.Volume, error) {
	vs, err := p.e.ManagedVolumes(ctx, match)
	out := make([]dbclone.Volume, len(vs))
	for i, v := range vs {
		out[i] = dbVolume(v)
	}
	return out, err
}

func dbVolume(v VolumeInfo) dbclone.Volume {
	return dbclone.Volume{Name: v.Name, Labels: v.Labels, Created: v.Created, Managed: v.Managed}
}

func (p dbPort) RunHelper(ctx context.Context, h dbclone.Helper) (dbclone.HelperResult, error) {
	spec := HelperSpec{Image: h.Image, Cmd: h.Cmd, Env: h.Env, User: h.User, Upload: h.Upload, UploadDir: h.UploadDir,
		Network: h.Network, Labels: h.Labels, Line: h.Line}
	for _, m := range h.Mounts {
		spec.Mounts = append(spec.Mounts, HelperMount{Volume: m.Volume, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	r, err := p.e.RunHelper(ctx, spec)
	return dbclone.HelperResult{ExitCode: r.ExitCode, Output: r.Output}, err
}

func (p dbPort) StopContainer(ctx context.Context, name string, timeout time.Duration) error {
	return p.e.StopContainer(ctx, name, timeout)
}

func (p dbPort) StartContainer(ctx context.Context, name string) error {
	return p.e.StartContainer(ctx, name)
}

func (p dbPort) ContainerRunning(ctx context.Context, name string) (bool, bool, error) {
	return p.e.ContainerRunning(ctx, name)
}

func (p dbPort) RemoveHelpers(ctx context.Context, match map[string]string) (int, error) {
	return p.e.RemoveHelpers(ctx, match)
}

func (p dbPort) ImageID(ctx context.Context, ref string) (string, error) {
	return p.e.ImageID(ctx, ref)
}
