package engine

import (
	"context"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
)

// Facts is what a preflight asks of the engine's host.
type Facts struct {
	DataRoot string
	MemTotal int64
	CPUs     int
	// FreeDisk is the free space under DataRoot, -1 when the engine is not
	// on this machine (its file system cannot be measured from here).
	FreeDisk int64
}

// Facts asks the engine for its data root, memory and CPUs, and measures
// the free space under the data root when the engine is local.
func (e *Engine) Facts(ctx context.Context) (Facts, error) {
	info, err := e.cli.Info(ctx)
	if err != nil {
		return Facts{}, fmt.Errorf("asking the engine about its host: %w", err)
	}
	f := Facts{DataRoot: info.DockerRootDir, MemTotal: info.MemTotal, CPUs: info.NCPU, FreeDisk: -1}
	if e.SharesFiles() && f.DataRoot != "" {
		if free, err := freeBytes(f.DataRoot); err == nil {
			f.FreeDisk = free
		}
	}
	return f, nil
}

// ImageState says whether ref is on the engine (with its size), and if
// not, whether its registry knows it: PullErr says why a pull would fail.
func (e *Engine) ImageState(ctx context.Context, ref string) (present bool, size int64, pullErr error, err error) {
	img, err := e.cli.ImageInspect(ctx, ref)
	if err == nil {
		return true, img.Size, nil, nil
	}
	if !cerrdefs.IsNotFound(err) {
		return false, 0, nil, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	// The registry is asked through the engine, as a pull would, with the
	// user's credentials for it; a registry that does not answer soon
	// would not answer the pull either.
	dctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	auth, aerr := e.registryAuth(dctx, ref, func(string) {})
	if aerr != nil {
		return false, 0, aerr, nil
	}
	if _, err := e.cli.DistributionInspect(dctx, ref, auth); err != nil {
		if dctx.Err() != nil && ctx.Err() == nil {
			return false, 0, fmt.Errorf("its registry did not answer within 4s"), nil
		}
		return false, 0, err, nil
	}
	return false, 0, nil, nil
}
