package engine

import (
	"cmp"
	"context"
	"fmt"
	"maps"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// projectNetwork finds the network an op is about, by key, else by name.
func projectNetwork(p *spec.Project, op reconcile.Op) *spec.Network {
	if n := p.Network(op.Key); n != nil && op.Key != "" {
		return n
	}
	for i := range p.Networks {
		if p.Networks[i].Name == op.Resource {
			return &p.Networks[i]
		}
	}
	return nil
}

// networkLabels are the user's labels plus the project's and Berth's.
func networkLabels(p *spec.Project, n *spec.Network) map[string]string {
	l := maps.Clone(n.Labels)
	if l == nil {
		l = map[string]string{}
	}
	maps.Copy(l, projectLabels(p))
	l[reconcile.LabelNetwork] = n.Key
	l[reconcile.LabelObjectHash] = n.Hash
	return l
}

// createNetwork creates a project network. A network of that name that
// this environment already made is left as it is; any other is refused.
func (e *Engine) createNetwork(ctx context.Context, p *spec.Project, op reconcile.Op, detail func(string)) error {
	n := projectNetwork(p, op)
	if n == nil {
		return fmt.Errorf("network %q is not in the project", cmp.Or(op.Key, op.Resource))
	}
	if n.External {
		return fmt.Errorf("network %q is external: Berth does not create it", n.Name)
	}
	found, err := e.networksByName(ctx, []string{n.Name})
	if err != nil {
		return err
	}
	if old, ok := found[n.Name]; ok {
		if !ownedBy(old.Labels, p.Name) {
			return notManaged("network", n.Name, p.Name, "a network of that name already exists")
		}
		detail("already exists")
		return nil
	}
	opts := network.CreateOptions{
		Driver:     n.Driver,
		Internal:   n.Internal,
		Attachable: n.Attachable,
		Options:    maps.Clone(n.DriverOpts),
		Labels:     networkLabels(p, n),
	}
	if n.EnableIPv6 {
		v6 := true
		opts.EnableIPv6 = &v6
	}
	if n.IPAM != nil {
		opts.IPAM = &network.IPAM{Driver: n.IPAM.Driver}
		for _, c := range n.IPAM.Config {
			opts.IPAM.Config = append(opts.IPAM.Config, network.IPAMConfig{Subnet: c.Subnet, Gateway: c.Gateway, IPRange: c.IPRange})
		}
	}
	_, err = e.cli.NetworkCreate(ctx, n.Name, opts)
	if err != nil {
		return fmt.Errorf("creating network %s: %w", n.Name, err)
	}
	return nil
}

// removeNetwork removes a Berth-managed network of the project; one that is
// gone already is fine.
func (e *Engine) removeNetwork(ctx context.Context, project string, op reconcile.Op, detail func(string)) error {
	found, err := e.networksByName(ctx, []string{op.Resource})
	if err != nil {
		return err
	}
	n, ok := found[op.Resource]
	if !ok {
		detail("already gone")
		return nil
	}
	if !ownedBy(n.Labels, project) {
		return notManaged("network", n.Name, project, "it was not created by Berth for this environment")
	}
	if err := e.cli.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing network %s: %w", n.Name, err)
	}
	return nil
}
