package engine

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/go-connections/nat"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// composeVersion is the value of com.docker.compose.version on what Berth
// creates.
const composeVersion = "berth"

// createRequest is everything needed to create one container: the
// ContainerCreate body and, on engines older than API 1.44 (which take one
// network at create), the networks to connect before the container starts.
type createRequest struct {
	Name       string                    `json:"name"`
	Config     *container.Config         `json:"config"`
	HostConfig *container.HostConfig     `json:"hostConfig"`
	Networking *network.NetworkingConfig `json:"networking"`
	Connect    []networkAttach           `json:"connect,omitempty"`
}

// networkAttach is one network to connect after create.
type networkAttach struct {
	Network  string                    `json:"network"`
	Endpoint *network.EndpointSettings `json:"endpoint"`
}

// containerName is the Compose name of a service container.
func containerName(project, service string, number int) string {
	return project + "-" + service + "-" + strconv.Itoa(number)
}

// buildCreateRequest translates one service container of the desired state
// into Engine API structures. It is pure: imageID (may be empty), the
// negotiated apiVersion and shared (the container ID of each service whose
// namespaces s shares: network_mode, pid or ipc service:NAME) come from
// the caller.
func buildCreateRequest(p *spec.Project, s *spec.Service, number int, name, imageID, apiVersion string, shared map[string]string) (createRequest, error) {
	fail := func(format string, a ...any) (createRequest, error) {
		return createRequest{}, fmt.Errorf("service %s: "+format, append([]any{s.Name}, a...)...)
	}
	if name == "" {
		name = containerName(p.Name, s.Name, number)
	}
	if s.Image == "" {
		return fail("no image")
	}

	cfg := &container.Config{
		Image:      s.Image,
		User:       s.User,
		WorkingDir: s.WorkingDir,
		Hostname:   s.Hostname,
		Tty:        s.Tty,
		OpenStdin:  s.StdinOpen,
		StopSignal: s.StopSignal,
		Domainname: s.DomainName,
		// as docker compose creates them, ready for docker attach
		AttachStdout: true,
		AttachStderr: true,
		Labels:       containerLabels(p, s, number, imageID),
	}
	if s.Entrypoint != nil {
		cfg.Entrypoint = resetIfEmpty(s.Entrypoint)
	}
	if s.Command != nil {
		cfg.Cmd = resetIfEmpty(s.Command)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		cfg.Env = append(cfg.Env, k+"="+s.Environment[k])
	}
	if s.StopGracePeriod != nil {
		secs := int(s.StopGracePeriod.Round(time.Second) / time.Second)
		cfg.StopTimeout = &secs
	}
	if s.Healthcheck != nil {
		hc, err := healthConfig(s.Healthcheck, apiVersion)
		if err != nil {
			return fail("%v", err)
		}
		cfg.Healthcheck = hc
	}

	hc := &container.HostConfig{
		ExtraHosts:     slices.Clone(s.ExtraHosts),
		CapAdd:         slices.Clone(s.CapAdd),
		CapDrop:        slices.Clone(s.CapDrop),
		ReadonlyRootfs: s.ReadOnly,
		Privileged:     s.Privileged,
		Init:           s.Init,
	}
	rp, err := restartPolicy(s.Restart)
	if err != nil {
		return fail("%v", err)
	}
	hc.RestartPolicy = rp

	if err := runtimeConfig(s, hc, apiVersion, shared); err != nil {
		return fail("%v", err)
	}
	if len(s.Ports) > 0 || len(s.Expose) > 0 {
		cfg.ExposedPorts = nat.PortSet{}
	}
	for _, e := range s.Expose {
		cfg.ExposedPorts[nat.Port(e)] = struct{}{}
	}
	if len(s.Ports) > 0 {
		hc.PortBindings = nat.PortMap{}
	}
	for _, pt := range s.Ports {
		proto := pt.Protocol
		if proto == "" {
			proto = "tcp"
		}
		if pt.ContainerPort == 0 || pt.ContainerPort > 65535 {
			return fail("container port %d is not a port", pt.ContainerPort)
		}
		port := nat.Port(fmt.Sprintf("%d/%s", pt.ContainerPort, proto))
		cfg.ExposedPorts[port] = struct{}{}
		hc.PortBindings[port] = append(hc.PortBindings[port], nat.PortBinding{HostIP: pt.HostIP, HostPort: pt.HostPort})
	}

	for _, t := range s.Tmpfs {
		if hc.Tmpfs == nil {
			hc.Tmpfs = map[string]string{}
		}
		path, opts, _ := strings.Cut(t, ":")
		hc.Tmpfs[path] = opts
	}

	for _, m := range s.Mounts {
		switch m.Type {
		case spec.MountBind:
			if m.Source == "" {
				return fail("bind mount at %s has no source", m.Target)
			}
			if m.CreateHostPath || m.SELinux != "" {
				// The legacy bind syntax makes the engine create a missing
				// source folder on its own host, which also works for a
				// remote engine (a local mkdir would not); it is also the
				// only one that relabels for SELinux.
				var opts []string
				if m.ReadOnly {
					opts = append(opts, "ro")
				}
				opts = append(opts, nonEmpty(m.SELinux, m.Propagation)...)
				b := m.Source + ":" + m.Target
				if len(opts) > 0 {
					b += ":" + strings.Join(opts, ",")
				}
				hc.Binds = append(hc.Binds, b)
				continue
			}
			mt := mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
			if m.Propagation != "" {
				mt.BindOptions = &mount.BindOptions{Propagation: mount.Propagation(m.Propagation)}
			}
			hc.Mounts = append(hc.Mounts, mt)
		case spec.MountVolume:
			src := ""
			if m.Source != "" {
				v := p.Volume(m.Source)
				if v == nil {
					return fail("volume %q mounted at %s is not declared in the project's volumes", m.Source, m.Target)
				}
				src = v.Name
			}
			mt := mount.Mount{Type: mount.TypeVolume, Source: src, Target: m.Target, ReadOnly: m.ReadOnly}
			if m.NoCopy || m.Subpath != "" {
				if m.Subpath != "" && versions.LessThan(apiVersion, "1.45") {
					return fail("volume subpath (at %s) needs Docker Engine API 1.45 (Docker 26) or newer, and this engine speaks API %s; mount the whole volume or upgrade Docker", m.Target, apiVersion)
				}
				mt.VolumeOptions = &mount.VolumeOptions{NoCopy: m.NoCopy, Subpath: m.Subpath}
			}
			hc.Mounts = append(hc.Mounts, mt)
		case spec.MountTmpfs:
			mt := mount.Mount{Type: mount.TypeTmpfs, Target: m.Target, ReadOnly: m.ReadOnly}
			if m.TmpfsSize != 0 || m.TmpfsMode != 0 {
				mt.TmpfsOptions = &mount.TmpfsOptions{SizeBytes: m.TmpfsSize, Mode: os.FileMode(m.TmpfsMode)}
			}
			hc.Mounts = append(hc.Mounts, mt)
		default:
			return fail("mount type %q at %s is not supported", m.Type, m.Target)
		}
	}

	req := createRequest{Name: name, Config: cfg, HostConfig: hc, Networking: &network.NetworkingConfig{}}
	if s.NetworkMode != "" {
		return req, nil // runtimeConfig set it; no network of the project
	}
	multi := versions.GreaterThanOrEqualTo(apiVersion, "1.44")
	// Legacy links, as docker compose makes them: each container of the
	// linked service under the alias, <service>-<n> and <project>-<service>-<n>
	// (n being this container's number).
	var links []string
	for _, l := range s.Links {
		svc, alias, _ := strings.Cut(l, ":")
		replicas := 1
		if ls := p.Service(svc); ls != nil && ls.Replicas > 1 {
			replicas = ls.Replicas
		}
		for i := 1; i <= replicas; i++ {
			target := containerName(p.Name, svc, i)
			links = append(links, target+":"+alias, target+":"+svc+"-"+strconv.Itoa(number), target+":"+containerName(p.Name, svc, number))
		}
	}
	for i, sn := range s.Networks {
		n := p.Network(sn.Network)
		if n == nil {
			return fail("network %q is not declared in the project's networks", sn.Network)
		}
		// the service and the container's name, as docker compose gives them
		aliases := append([]string{name, s.Name}, sn.Aliases...)
		if s.ContainerName != "" {
			aliases = append(aliases, s.ContainerName)
		}
		ep := &network.EndpointSettings{Aliases: aliases, Links: links}
		if sn.IPv4Address != "" {
			ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: sn.IPv4Address}
		}
		if i == 0 {
			hc.NetworkMode = container.NetworkMode(n.Name)
		}
		if i == 0 || multi {
			if req.Networking.EndpointsConfig == nil {
				req.Networking.EndpointsConfig = map[string]*network.EndpointSettings{}
			}
			req.Networking.EndpointsConfig[n.Name] = ep
			continue
		}
		req.Connect = append(req.Connect, networkAttach{Network: n.Name, Endpoint: ep})
	}
	return req, nil
}

// containerLabels are the user's labels plus the Compose and Berth ones.
func containerLabels(p *spec.Project, s *spec.Service, number int, imageID string) map[string]string {
	l := maps.Clone(s.Labels)
	if l == nil {
		l = map[string]string{}
	}
	maps.Copy(l, projectLabels(p))
	l[reconcile.LabelService] = s.Name
	l[reconcile.LabelNumber] = strconv.Itoa(number)
	l[reconcile.LabelOneOff] = "False"
	l[reconcile.LabelConfigHash] = s.Hash
	l[reconcile.LabelWorkingDir] = p.Dir
	l[reconcile.LabelConfigFiles] = strings.Join(p.ComposeFiles, ",")
	if len(s.DependsOn) > 0 {
		deps := make([]string, len(s.DependsOn))
		for i, d := range s.DependsOn {
			deps[i] = fmt.Sprintf("%s:%s:%t", d.Service, d.Condition, d.Restart)
		}
		l[reconcile.LabelDependsOn] = strings.Join(deps, ",")
	}
	if imageID != "" {
		l[reconcile.LabelImage] = imageID
	}
	return l
}

// projectLabels are the labels every object of the environment carries.
func projectLabels(p *spec.Project) map[string]string {
	l := map[string]string{
		reconcile.LabelProject:        p.Name,
		reconcile.LabelComposeVersion: composeVersion,
		reconcile.LabelManaged:        "true",
		reconcile.LabelEnvironment:    p.Name,
	}
	if p.Definition != "" {
		l[reconcile.LabelDefinition] = p.Definition
	}
	if p.Revision != "" {
		l[reconcile.LabelRevision] = p.Revision
	}
	if p.Variant != "" {
		l[reconcile.LabelVariant] = p.Variant
	}
	return l
}

// resetIfEmpty turns an explicitly empty list into the API's way of saying
// "none" ([""]), as `docker run --entrypoint ""` does.
func resetIfEmpty(s []string) strslice.StrSlice {
	if len(s) == 0 {
		return strslice.StrSlice{""}
	}
	return slices.Clone(s)
}

func healthConfig(h *spec.Healthcheck, apiVersion string) (*container.HealthConfig, error) {
	if h.Disable {
		return &container.HealthConfig{Test: []string{"NONE"}}, nil
	}
	hc := &container.HealthConfig{Test: slices.Clone(h.Test)}
	d := func(p *time.Duration) time.Duration {
		if p == nil {
			return 0
		}
		return *p
	}
	hc.Interval, hc.Timeout, hc.StartPeriod = d(h.Interval), d(h.Timeout), d(h.StartPeriod)
	if h.Retries != nil {
		hc.Retries = int(*h.Retries)
	}
	if h.StartInterval != nil && *h.StartInterval != 0 {
		if versions.LessThan(apiVersion, "1.44") {
			return nil, fmt.Errorf("healthcheck start_interval needs Docker Engine API 1.44 (Docker 25) or newer, and this engine speaks API %s; remove start_interval or upgrade Docker", apiVersion)
		}
		hc.StartInterval = *h.StartInterval
	}
	return hc, nil
}

// restartPolicy parses no, always, unless-stopped and on-failure[:N].
func restartPolicy(s string) (container.RestartPolicy, error) {
	switch s {
	case "":
		return container.RestartPolicy{}, nil // the engine's default (no), as docker compose leaves it
	case "no":
		return container.RestartPolicy{Name: container.RestartPolicyDisabled}, nil
	case "always":
		return container.RestartPolicy{Name: container.RestartPolicyAlways}, nil
	case "unless-stopped":
		return container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}, nil
	}
	if rest, ok := strings.CutPrefix(s, "on-failure"); ok {
		rp := container.RestartPolicy{Name: container.RestartPolicyOnFailure}
		if rest == "" {
			return rp, nil
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(rest, ":")); err == nil && strings.HasPrefix(rest, ":") && n >= 0 {
			rp.MaximumRetryCount = n
			return rp, nil
		}
	}
	return container.RestartPolicy{}, fmt.Errorf("restart policy %q is not one of no, always, on-failure[:N], unless-stopped", s)
}
