package spec

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// runtime fills the container settings beyond the basics: namespaces,
// devices, limits, DNS, logging, resources, secrets and configs.
func (z *normalizer) runtime(cp *types.Project, s types.ServiceConfig, out *Service) {
	out.NetworkMode = s.NetworkMode
	out.Pid, out.Ipc, out.Uts, out.UsernsMode, out.Cgroup = s.Pid, s.Ipc, s.Uts, s.UserNSMode, s.Cgroup
	for _, ns := range []struct{ key, val string }{
		{"network_mode", out.NetworkMode}, {"pid", out.Pid}, {"ipc", out.Ipc}, {"uts", out.Uts}, {"cgroup", out.Cgroup},
	} {
		if dep, ok := strings.CutPrefix(ns.val, types.ServicePrefix); ok {
			if _, enabled := cp.Services[dep]; !enabled {
				z.errService(s.Name, []string{ns.key},
					fmt.Sprintf("%s %q names service %q, which is not enabled (check its profiles)", ns.key, ns.val, dep))
			}
		}
	}
	if out.NetworkMode != "" && !strings.Contains(out.NetworkMode, ":") {
		switch out.NetworkMode {
		case "host", "none", "bridge", "default":
		default:
			z.errService(s.Name, []string{"network_mode"},
				fmt.Sprintf("network_mode %q is not one of host, none, bridge, service:NAME or container:NAME", out.NetworkMode))
		}
	}
	if out.NetworkMode != "" && out.NetworkMode != "bridge" && out.NetworkMode != "default" && len(s.Ports) > 0 &&
		(strings.HasPrefix(out.NetworkMode, types.ServicePrefix) || strings.HasPrefix(out.NetworkMode, types.ContainerPrefix) || out.NetworkMode == "none") {
		z.errService(s.Name, []string{"ports"},
			fmt.Sprintf("a service with network_mode %q cannot publish ports: publish them on the service whose network it shares", out.NetworkMode))
	}
	for _, l := range s.Links {
		svc, alias, _ := strings.Cut(l, ":")
		if _, ok := cp.Services[svc]; !ok {
			z.errService(s.Name, []string{"links"}, fmt.Sprintf("link %q names service %q, which is not enabled", l, svc))
			continue
		}
		out.Links = append(out.Links, svc+":"+cmp.Or(alias, svc))
	}
	sort.Strings(out.Links)
	for _, v := range s.VolumesFrom {
		ref := v
		if !strings.HasPrefix(v, types.ContainerPrefix) {
			name, _, _ := strings.Cut(v, ":")
			if _, ok := cp.Services[name]; !ok {
				z.errService(s.Name, []string{"volumes_from"}, fmt.Sprintf("volumes_from %q names service %q, which is not enabled", v, name))
				continue
			}
			ref = types.ServicePrefix + v
		}
		parts := strings.Split(ref, ":")
		if len(parts) > 3 || (len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw") {
			z.errService(s.Name, []string{"volumes_from"}, fmt.Sprintf("volumes_from %q: use SERVICE[:ro|:rw] or container:NAME[:ro|:rw]", v))
			continue
		}
		out.VolumesFrom = append(out.VolumesFrom, ref)
	}
	out.ContainerName = s.ContainerName
	out.DomainName = s.DomainName

	out.ShmSize = int64(s.ShmSize)
	for _, d := range s.Devices {
		dev := Device{Source: d.Source, Target: cmp.Or(d.Target, d.Source), Permissions: d.Permissions}
		if dev.Permissions == "" {
			dev.Permissions = "rwm"
		}
		out.Devices = append(out.Devices, dev)
	}
	for name, u := range s.Ulimits {
		if u == nil {
			continue
		}
		if out.Ulimits == nil {
			out.Ulimits = map[string]Ulimit{}
		}
		if u.Single != 0 {
			out.Ulimits[name] = Ulimit{Soft: int64(u.Single), Hard: int64(u.Single)}
		} else {
			out.Ulimits[name] = Ulimit{Soft: int64(u.Soft), Hard: int64(u.Hard)}
		}
	}
	out.Sysctls = stringMap(s.Sysctls)
	out.DNS = slices.Clone([]string(s.DNS))
	out.DNSSearch = slices.Clone([]string(s.DNSSearch))
	out.DNSOptions = slices.Clone(s.DNSOpts)
	if s.Logging != nil && (s.Logging.Driver != "" || len(s.Logging.Options) > 0) {
		out.Logging = &Logging{Driver: s.Logging.Driver, Options: stringMap(s.Logging.Options)}
	} else if s.LogDriver != "" || len(s.LogOpt) > 0 {
		out.Logging = &Logging{Driver: s.LogDriver, Options: stringMap(s.LogOpt)}
	}
	out.Platform = s.Platform
	out.Runtime = s.Runtime
	out.SecurityOpt = slices.Clone(s.SecurityOpt)
	if len(s.GroupAdd) > 0 {
		out.GroupAdd = slices.Clone(s.GroupAdd)
	}
	for _, e := range s.Expose {
		port, proto, _ := strings.Cut(e, "/")
		out.Expose = append(out.Expose, port+"/"+strings.ToLower(cmp.Or(proto, "tcp")))
	}
	sort.Strings(out.Expose)
	out.Expose = slices.Compact(out.Expose)
	out.Resources = z.resources(s)
	if s.Deploy != nil && s.Deploy.RestartPolicy != nil {
		out.Restart = restartFromPolicy(s.Deploy.RestartPolicy)
	}
	out.Secrets = z.fileMounts(cp, s, "secrets")
	out.Configs = z.fileMounts(cp, s, "configs")
}

// resources merges the service-level limits with deploy.resources, whose
// values win, as Compose does.
func (z *normalizer) resources(s types.ServiceConfig) *Resources {
	r := Resources{
		MemoryLimit:       int64(s.MemLimit),
		MemoryReservation: int64(s.MemReservation),
		MemorySwap:        int64(s.MemSwapLimit),
		NanoCPUs:          int64(float64(s.CPUS) * 1e9),
		CPUShares:         s.CPUShares,
		CPUPeriod:         s.CPUPeriod,
		CPUQuota:          s.CPUQuota,
		CpusetCpus:        s.CPUSet,
		PidsLimit:         s.PidsLimit,
		OomKillDisable:    s.OomKillDisable,
		OomScoreAdj:       int(s.OomScoreAdj),
	}
	if s.MemSwappiness != 0 {
		v := int64(s.MemSwappiness)
		r.MemorySwappiness = &v
	}
	for _, g := range s.Gpus {
		r.GPUs = append(r.GPUs, deviceRequest(g))
	}
	if s.Deploy != nil {
		if l := s.Deploy.Resources.Limits; l != nil {
			if l.MemoryBytes != 0 {
				r.MemoryLimit = int64(l.MemoryBytes)
			}
			if l.NanoCPUs != 0 {
				r.NanoCPUs = int64(float64(l.NanoCPUs) * 1e9)
			}
			if l.Pids > 0 {
				r.PidsLimit = l.Pids
			}
		}
		if res := s.Deploy.Resources.Reservations; res != nil {
			if res.MemoryBytes != 0 {
				r.MemoryReservation = int64(res.MemoryBytes)
			}
			for _, d := range res.Devices {
				r.GPUs = append(r.GPUs, deviceRequest(d))
			}
		}
	}
	if r.NanoCPUs != 0 && (r.CPUQuota != 0 || r.CPUPeriod != 0) {
		z.errService(s.Name, []string{"cpus"},
			"cpus (or deploy.resources.limits.cpus) and cpu_quota/cpu_period cannot be used together: the engine refuses both (use one)")
	}
	if r.MemorySwap > 0 && r.MemoryLimit > 0 && r.MemorySwap < r.MemoryLimit {
		z.errService(s.Name, []string{"memswap_limit"}, "memswap_limit must not be lower than the memory limit")
	}
	if r.isZero() {
		return nil
	}
	return &r
}

func (r Resources) isZero() bool {
	return r.MemoryLimit == 0 && r.MemoryReservation == 0 && r.MemorySwap == 0 && r.MemorySwappiness == nil &&
		r.NanoCPUs == 0 && r.CPUShares == 0 && r.CPUPeriod == 0 && r.CPUQuota == 0 && r.CpusetCpus == "" &&
		r.PidsLimit == 0 && !r.OomKillDisable && r.OomScoreAdj == 0 && len(r.GPUs) == 0
}

func deviceRequest(d types.DeviceRequest) DeviceRequest {
	out := DeviceRequest{Driver: d.Driver, Count: int(d.Count), Options: stringMap(d.Options)}
	if len(d.IDs) > 0 {
		out.DeviceIDs = slices.Clone(d.IDs)
	}
	if len(d.Capabilities) > 0 {
		out.Capabilities = slices.Clone(d.Capabilities)
	}
	return out
}

// restartFromPolicy is deploy.restart_policy in the restart key's terms.
func restartFromPolicy(p *types.RestartPolicy) string {
	switch p.Condition {
	case "none", "no":
		return "no"
	case "on-failure":
		if p.MaxAttempts != nil && *p.MaxAttempts > 0 {
			return "on-failure:" + strconv.FormatUint(*p.MaxAttempts, 10)
		}
		return "on-failure"
	case "unless-stopped":
		return "unless-stopped"
	}
	return "always" // any, or no condition: Compose's default
}

// fileMounts lists a service's secrets or configs with their targets,
// Compose's defaults filled in: /run/secrets/<name> for a secret,
// /<name> for a config; mode 0444.
func (z *normalizer) fileMounts(cp *types.Project, s types.ServiceConfig, kind string) []FileMount {
	var refs []types.FileReferenceConfig
	var declared func(string) (types.FileObjectConfig, bool)
	if kind == "secrets" {
		for _, r := range s.Secrets {
			refs = append(refs, types.FileReferenceConfig(r))
		}
		declared = func(k string) (types.FileObjectConfig, bool) {
			o, ok := cp.Secrets[k]
			return types.FileObjectConfig(o), ok
		}
	} else {
		for _, r := range s.Configs {
			refs = append(refs, types.FileReferenceConfig(r))
		}
		declared = func(k string) (types.FileObjectConfig, bool) {
			o, ok := cp.Configs[k]
			return types.FileObjectConfig(o), ok
		}
	}
	var out []FileMount
	seen := map[string]bool{}
	for i, r := range refs {
		at := []string{kind, strconv.Itoa(i)}
		obj, ok := declared(r.Source)
		if !ok {
			z.errService(s.Name, at, fmt.Sprintf("%s %q is not declared in the top-level %s", strings.TrimSuffix(kind, "s"), r.Source, kind))
			continue
		}
		if bool(obj.External) {
			z.errService(s.Name, at, fmt.Sprintf("%s %q is external: external secrets and configs live in a Swarm, and this target is a single engine (give it a file, environment or content source)",
				strings.TrimSuffix(kind, "s"), r.Source))
			continue
		}
		target := r.Target
		switch {
		case target == "" && kind == "secrets":
			target = "/run/secrets/" + r.Source
		case target == "":
			target = "/" + r.Source
		case kind == "secrets" && !path.IsAbs(target):
			target = "/run/secrets/" + target
		case !path.IsAbs(target):
			z.errService(s.Name, at, fmt.Sprintf("config target %q must be an absolute path", target))
			continue
		}
		target = path.Clean(target)
		if seen[target] {
			z.errService(s.Name, at, fmt.Sprintf("two %s are put at %s", kind, target))
			continue
		}
		seen[target] = true
		m := FileMount{Source: r.Source, Target: target, UID: r.UID, GID: r.GID, Mode: 0o444}
		for _, id := range []struct{ name, v string }{{"uid", r.UID}, {"gid", r.GID}} {
			if _, err := strconv.ParseUint(id.v, 10, 32); id.v != "" && err != nil {
				z.errService(s.Name, append(at, id.name), fmt.Sprintf("%s %q must be a number", id.name, id.v))
			}
		}
		if r.Mode != nil {
			if *r.Mode < 0 || *r.Mode > 0o7777 {
				z.errService(s.Name, append(at, "mode"), fmt.Sprintf("mode %o is not a file mode", *r.Mode))
			}
			m.Mode = uint32(*r.Mode) & 0o7777
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	if len(out) > 0 && s.ReadOnly {
		z.errService(s.Name, []string{kind},
			fmt.Sprintf("%s cannot be put into a read_only service: Berth copies them into the container (no host file is mounted, so they work on remote engines too), and the engine does not write into a read-only root file system", kind))
	}
	return out
}

// fileObjects lists the project's secrets or configs that enabled
// services use; their content is read later, once the fence allows.
func fileObjects[M ~map[string]O, O any](m M, used map[string]bool, conv func(O) types.FileObjectConfig) []FileObject {
	var out []FileObject
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !used[k] {
			continue
		}
		o := conv(m[k])
		fo := FileObject{Key: k, File: o.File, Env: o.Environment}
		if o.File == "" && o.Environment == "" {
			fo.Inline = true
			fo.Content = []byte(o.Content)
		}
		out = append(out, fo)
	}
	return out
}
