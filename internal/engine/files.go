package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// injectFiles copies a service's secrets and configs into a created
// container, before it starts: through the engine's archive API, so that
// no host file is bind-mounted and a remote engine gets them as well.
// Owner and mode come from the definition (root and 0444 by default).
func (e *Engine) injectFiles(ctx context.Context, p *spec.Project, s *spec.Service, id string) error {
	if len(s.Secrets) == 0 && len(s.Configs) == 0 {
		return nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(kind string, m spec.FileMount, o *spec.FileObject) error {
		if o == nil {
			return fmt.Errorf("%s %q is not in the project", kind, m.Source)
		}
		uid, _ := strconv.Atoi(m.UID)
		gid, _ := strconv.Atoi(m.GID)
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     strings.TrimPrefix(m.Target, "/"),
			Mode:     int64(m.Mode),
			Size:     int64(len(o.Content)),
			Uid:      uid,
			Gid:      gid,
			ModTime:  time.Unix(0, 0),
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(o.Content)
		return err
	}
	for _, m := range s.Secrets {
		if err := add("secret", m, p.Secret(m.Source)); err != nil {
			return err
		}
	}
	for _, m := range s.Configs {
		if err := add("config", m, p.Config(m.Source)); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	// The header's owner is applied (CopyUIDGID would use the image's
	// user instead).
	if err := e.cli.CopyToContainer(ctx, id, "/", &buf, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("putting secrets and configs into the container: %w", err)
	}
	return nil
}

// sharedContainers finds the container of each service whose namespaces
// or volumes s shares (network_mode, pid or ipc service:NAME, volumes_from):
// the project's first running replica of it, created by Berth.
func (e *Engine) sharedContainers(ctx context.Context, p *spec.Project, s *spec.Service) (map[string]string, error) {
	var names []string
	for _, v := range append([]string{s.NetworkMode, s.Pid, s.Ipc}, s.VolumesFrom...) {
		if rest, ok := strings.CutPrefix(v, "service:"); ok {
			svc, _, _ := strings.Cut(rest, ":")
			names = append(names, svc)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, svc := range names {
		if _, done := out[svc]; done {
			continue
		}
		list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
			filters.Arg("label", reconcile.LabelProject+"="+p.Name),
			filters.Arg("label", reconcile.LabelService+"="+svc),
			filters.Arg("label", reconcile.LabelManaged+"=true"),
		)})
		if err != nil {
			return nil, fmt.Errorf("finding the container of service %s: %w", svc, err)
		}
		best := ""
		for _, c := range list {
			if c.Labels[reconcile.LabelOneOff] == "True" {
				continue
			}
			if best == "" || (c.State == "running" && c.Labels[reconcile.LabelNumber] == "1") {
				best = c.ID
			}
		}
		if best != "" {
			out[svc] = best
		}
	}
	return out, nil
}
