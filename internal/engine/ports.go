package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/berthdev/berth/internal/reconcile"
)

// HostPortUse is a host port a running container publishes.
type HostPortUse struct {
	Project   string // the container's Compose project, if any
	Container string // its name
	HostIP    string
	Port      int
	Protocol  string
}

// PublishedPorts lists the host ports the engine's running containers
// publish (Berth's and every other's).
func (e *Engine) PublishedPorts(ctx context.Context) ([]HostPortUse, error) {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	var out []HostPortUse
	for _, c := range list {
		name := c.ID
		if len(name) > 12 {
			name = name[:12]
		}
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		for _, p := range c.Ports {
			if p.PublicPort == 0 {
				continue
			}
			out = append(out, HostPortUse{Project: c.Labels[reconcile.LabelProject], Container: name, HostIP: p.IP, Port: int(p.PublicPort), Protocol: p.Type})
		}
	}
	return out, nil
}

// LocalHost says whether the engine runs on this machine (a unix socket or
// a Windows named pipe): then a host port another program holds can be
// found by binding it here.
func (e *Engine) LocalHost() bool {
	h := e.endpoint.Host // set at connection; Endpoint would ask the engine its version
	return strings.HasPrefix(h, "unix://") || strings.HasPrefix(h, "npipe://")
}
