package spec

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// normalizer turns a compose-go project into Berth's Project.
type normalizer struct {
	// warnUnsupported turns errors about what Berth does not support into
	// warnings (the manifest's compose.unsupported: warn).
	warnUnsupported bool
	src             *sources
	warnings        []Warning
	errs            Errors
}

func (z *normalizer) project(cp *types.Project) *Project {
	p := &Project{
		Name:     cp.Name,
		Services: []Service{},
		Networks: []Network{},
		Volumes:  []Volume{},
	}
	for _, name := range slices.Sorted(maps.Keys(cp.Services)) {
		p.Services = append(p.Services, z.service(cp, cp.Services[name]))
	}

	usesDefault := false
	for _, s := range p.Services {
		for _, n := range s.Networks {
			if n.Network == "default" {
				usesDefault = true
			}
		}
	}
	declaredDefault := z.src.has("networks", "default")
	for _, key := range slices.Sorted(maps.Keys(cp.Networks)) {
		if key == "default" && !usesDefault && !declaredDefault {
			continue // implicit, and only a disabled service wanted it
		}
		n := cp.Networks[key]
		nw := Network{
			Key:        key,
			Name:       n.Name,
			Driver:     n.Driver,
			DriverOpts: stringMap(n.DriverOpts),
			External:   bool(n.External),
			Internal:   n.Internal,
			Attachable: n.Attachable,
			EnableIPv6: n.EnableIPv6 != nil && *n.EnableIPv6,
			Labels:     stringMap(n.Labels),
		}
		if n.Ipam.Driver != "" || len(n.Ipam.Config) > 0 {
			nw.IPAM = &IPAM{Driver: n.Ipam.Driver}
			for _, pool := range n.Ipam.Config {
				if pool != nil {
					nw.IPAM.Config = append(nw.IPAM.Config, IPAMConfig{Subnet: pool.Subnet, Gateway: pool.Gateway, IPRange: pool.IPRange})
				}
			}
		}
		if nw.Name == "" {
			nw.Name = cp.Name + "_" + key
		}
		nw.Hash = networkHash(nw)
		p.Networks = append(p.Networks, nw)
	}
	for _, key := range slices.Sorted(maps.Keys(cp.Volumes)) {
		v := cp.Volumes[key]
		vol := Volume{
			Key:        key,
			Name:       v.Name,
			Driver:     v.Driver,
			DriverOpts: stringMap(v.DriverOpts),
			External:   bool(v.External),
			Labels:     stringMap(v.Labels),
		}
		if vol.Name == "" {
			vol.Name = cp.Name + "_" + key
		}
		vol.Hash = volumeHash(vol)
		p.Volumes = append(p.Volumes, vol)
	}
	usedSecrets, usedConfigs := map[string]bool{}, map[string]bool{}
	for _, s := range p.Services {
		for _, m := range s.Secrets {
			usedSecrets[m.Source] = true
		}
		for _, m := range s.Configs {
			usedConfigs[m.Source] = true
		}
	}
	p.Secrets = fileObjects(cp.Secrets, usedSecrets, func(o types.SecretConfig) types.FileObjectConfig { return types.FileObjectConfig(o) })
	p.Configs = fileObjects(cp.Configs, usedConfigs, func(o types.ConfigObjConfig) types.FileObjectConfig { return types.FileObjectConfig(o) })
	return p
}

func (z *normalizer) service(cp *types.Project, s types.ServiceConfig) Service {
	out := Service{
		Name:       s.Name,
		Image:      s.Image,
		Replicas:   s.GetScale(),
		User:       s.User,
		WorkingDir: s.WorkingDir,
		Hostname:   s.Hostname,
		Restart:    s.Restart,
		Init:       s.Init,
		ReadOnly:   s.ReadOnly,
		Privileged: s.Privileged,
		Tty:        s.Tty,
		StdinOpen:  s.StdinOpen,
		StopSignal: s.StopSignal,
	}
	if s.Build != nil {
		b := &Build{
			Context:    s.Build.Context,
			Dockerfile: s.Build.Dockerfile,
			Args:       stringPtrMap(s.Build.Args),
			Target:     s.Build.Target,
			Labels:     stringMap(s.Build.Labels),
		}
		if b.Dockerfile == "" {
			b.Dockerfile = "Dockerfile"
		}
		z.buildExtras(cp, s, b)
		out.Build = b
		if out.Image == "" {
			// what Compose tags a built image with when the service names none
			out.Image = strings.ToLower(cp.Name + "-" + s.Name)
		}
	}
	out.PullPolicy = z.pullPolicy(s)

	for _, dep := range slices.Sorted(maps.Keys(s.DependsOn)) {
		d := s.DependsOn[dep]
		if _, enabled := cp.Services[dep]; !enabled {
			// an optional dependency on a service left out by profiles
			continue
		}
		cond := d.Condition
		if cond == "" {
			cond = ConditionStarted
		}
		out.DependsOn = append(out.DependsOn, Dependency{Service: dep, Condition: cond, Required: d.Required, Restart: d.Restart})
	}

	if s.Entrypoint != nil {
		out.Entrypoint = append([]string{}, s.Entrypoint...)
	}
	if s.Command != nil {
		out.Command = append([]string{}, s.Command...)
	}
	out.Environment = stringPtrMap(s.Environment)
	out.Labels = stringMap(s.Labels)

	for _, port := range s.Ports {
		proto := strings.ToLower(port.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		out.Ports = append(out.Ports, Port{HostIP: port.HostIP, HostPort: port.Published, ContainerPort: port.Target, Protocol: proto})
	}
	sort.SliceStable(out.Ports, func(i, j int) bool {
		a, b := out.Ports[i], out.Ports[j]
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		if a.HostIP != b.HostIP {
			return a.HostIP < b.HostIP
		}
		return a.HostPort < b.HostPort
	})

	for i, v := range s.Volumes {
		m := Mount{Type: v.Type, Source: v.Source, Target: v.Target, ReadOnly: v.ReadOnly}
		switch v.Type {
		case types.VolumeTypeBind:
			if b := v.Bind; b != nil {
				m.CreateHostPath = bool(b.CreateHostPath)
				m.Propagation, m.SELinux = b.Propagation, b.SELinux
			}
		case types.VolumeTypeVolume:
			if vv := v.Volume; vv != nil {
				m.NoCopy, m.Subpath = vv.NoCopy, vv.Subpath
			}
		case types.VolumeTypeTmpfs:
			if t := v.Tmpfs; t != nil {
				m.TmpfsSize, m.TmpfsMode = int64(t.Size), t.Mode
			}
		default:
			z.unsupportedService(s.Name, []string{"volumes", strconv.Itoa(i)},
				fmt.Sprintf("volume type %q is not supported by Berth", v.Type))
			continue
		}
		out.Mounts = append(out.Mounts, m)
	}
	sort.SliceStable(out.Mounts, func(i, j int) bool { return out.Mounts[i].Target < out.Mounts[j].Target })

	for _, key := range slices.Sorted(maps.Keys(s.Networks)) {
		sn := ServiceNetwork{Network: key}
		if cfg := s.Networks[key]; cfg != nil {
			if len(cfg.Aliases) > 0 {
				sn.Aliases = sortedCopy(cfg.Aliases)
			}
			sn.IPv4Address = cfg.Ipv4Address
		}
		out.Networks = append(out.Networks, sn)
	}

	if hc := s.HealthCheck; hc != nil {
		h := &Healthcheck{
			Interval:      durationPtr(hc.Interval),
			Timeout:       durationPtr(hc.Timeout),
			StartPeriod:   durationPtr(hc.StartPeriod),
			StartInterval: durationPtr(hc.StartInterval),
			Disable:       hc.Disable,
		}
		if hc.Test != nil {
			h.Test = append([]string{}, hc.Test...)
		}
		if hc.Retries != nil {
			r := *hc.Retries
			h.Retries = &r
		}
		out.Healthcheck = h
	}

	if len(s.Tmpfs) > 0 {
		out.Tmpfs = sortedCopy(s.Tmpfs)
	}
	for host, ips := range s.ExtraHosts {
		for _, ip := range ips {
			out.ExtraHosts = append(out.ExtraHosts, host+":"+ip)
		}
	}
	sort.Strings(out.ExtraHosts)
	if len(s.CapAdd) > 0 {
		out.CapAdd = sortedCopy(s.CapAdd)
	}
	if len(s.CapDrop) > 0 {
		out.CapDrop = sortedCopy(s.CapDrop)
	}
	out.StopGracePeriod = durationPtr(s.StopGracePeriod)

	z.runtime(cp, s, &out)
	if s.Restart != "" && !validRestart(s.Restart) {
		z.errService(s.Name, []string{"restart"},
			fmt.Sprintf("unknown restart policy %q (no, always, on-failure[:N] or unless-stopped)", s.Restart))
	}
	return out
}

// pullPolicy keeps the policies Berth acts on and warns about the others.
func (z *normalizer) pullPolicy(s types.ServiceConfig) string {
	switch s.PullPolicy {
	case "", types.PullPolicyMissing, types.PullPolicyAlways, types.PullPolicyNever, types.PullPolicyBuild:
		return s.PullPolicy
	case types.PullPolicyIfNotPresent:
		return types.PullPolicyMissing
	}
	z.unsupportedService(s.Name, []string{"pull_policy"},
		fmt.Sprintf("pull_policy %q is not supported by Berth (missing, always, never or build; missing is used)", s.PullPolicy))
	return types.PullPolicyMissing
}

func validRestart(r string) bool {
	switch r {
	case types.RestartPolicyNo, types.RestartPolicyAlways, types.RestartPolicyUnlessStopped, types.RestartPolicyOnFailure:
		return true
	}
	if n, ok := strings.CutPrefix(r, types.RestartPolicyOnFailure+":"); ok {
		_, err := strconv.ParseUint(n, 10, 32)
		return err == nil
	}
	return false
}

func (z *normalizer) warnService(service string, path []string, msg string) {
	full := append([]string{"services", service}, path...)
	f, loc := z.src.locate(full...)
	field := loc.field
	if !loc.found {
		field = renderField(full)
	}
	z.warnings = append(z.warnings, Warning{File: f.display(), Line: loc.line, Field: field, Message: msg})
}

// unsupportedService reports what Berth does not act on: an error unless
// the definition asked for warnings (compose: {unsupported: warn}).
func (z *normalizer) unsupportedService(service string, path []string, msg string) {
	if z.warnUnsupported {
		z.warnService(service, path, msg+"; ignored")
		return
	}
	z.errService(service, path, msg+" (or set compose: {unsupported: warn} in "+ManifestFile+" to read past it)")
}

func (z *normalizer) errService(service string, path []string, msg string) {
	full := append([]string{"services", service}, path...)
	z.errs = append(z.errs, z.src.errorAt(full, msg, nil))
}

func stringMap[M ~map[string]string](m M) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// stringPtrMap drops entries without a value (variables left unset).
func stringPtrMap[M ~map[string]*string](m M) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if v != nil {
			out[k] = *v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func durationPtr(d *types.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	v := time.Duration(*d)
	return &v
}

func sortedCopy(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}
