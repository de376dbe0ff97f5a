package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-units"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthdev/berth/internal/spec"
)

// runtimeConfig sets what a service declares beyond the basics: its
// namespaces, devices, limits, DNS, logging, runtime and resources.
func runtimeConfig(s *spec.Service, hc *container.HostConfig, apiVersion string, shared map[string]string) error {
	mode := func(key, v string) (string, error) {
		svc, ok := strings.CutPrefix(v, "service:")
		if !ok {
			return v, nil
		}
		id := shared[svc]
		if id == "" {
			return "", fmt.Errorf("%s %s: service %s has no container to share with (bring it up first)", key, v, svc)
		}
		return "container:" + id, nil
	}
	nm, err := mode("network_mode", s.NetworkMode)
	if err != nil {
		return err
	}
	if nm == "default" {
		nm = "bridge"
	}
	hc.NetworkMode = container.NetworkMode(nm)
	pid, err := mode("pid", s.Pid)
	if err != nil {
		return err
	}
	hc.PidMode = container.PidMode(pid)
	ipc, err := mode("ipc", s.Ipc)
	if err != nil {
		return err
	}
	hc.IpcMode = container.IpcMode(ipc)
	for _, v := range s.VolumesFrom {
		rest, ok := strings.CutPrefix(v, "service:")
		if !ok {
			hc.VolumesFrom = append(hc.VolumesFrom, strings.TrimPrefix(v, "container:"))
			continue
		}
		svc, mode, _ := strings.Cut(rest, ":")
		id := shared[svc]
		if id == "" {
			return fmt.Errorf("volumes_from %s: service %s has no container to take volumes from (bring it up first)", svc, svc)
		}
		if mode != "" {
			id += ":" + mode
		}
		hc.VolumesFrom = append(hc.VolumesFrom, id)
	}
	hc.UTSMode = container.UTSMode(s.Uts)
	hc.UsernsMode = container.UsernsMode(s.UsernsMode)
	hc.CgroupnsMode = container.CgroupnsMode(s.Cgroup)

	hc.ShmSize = s.ShmSize
	hc.Sysctls = maps.Clone(s.Sysctls)
	hc.DNS = slices.Clone(s.DNS)
	hc.DNSSearch = slices.Clone(s.DNSSearch)
	hc.DNSOptions = slices.Clone(s.DNSOptions)
	if s.Logging != nil {
		hc.LogConfig = container.LogConfig{Type: s.Logging.Driver, Config: maps.Clone(s.Logging.Options)}
	}
	hc.Runtime = s.Runtime
	hc.SecurityOpt = slices.Clone(s.SecurityOpt)
	hc.GroupAdd = slices.Clone(s.GroupAdd)
	for _, d := range s.Devices {
		hc.Devices = append(hc.Devices, container.DeviceMapping{PathOnHost: d.Source, PathInContainer: d.Target, CgroupPermissions: d.Permissions})
	}
	for _, name := range slices.Sorted(maps.Keys(s.Ulimits)) {
		u := s.Ulimits[name]
		hc.Ulimits = append(hc.Ulimits, &units.Ulimit{Name: name, Soft: u.Soft, Hard: u.Hard})
	}
	if r := s.Resources; r != nil {
		hc.Memory = r.MemoryLimit
		hc.MemoryReservation = r.MemoryReservation
		hc.MemorySwap = r.MemorySwap
		hc.MemorySwappiness = r.MemorySwappiness
		hc.NanoCPUs = r.NanoCPUs
		hc.CPUShares = r.CPUShares
		hc.CPUPeriod = r.CPUPeriod
		hc.CPUQuota = r.CPUQuota
		hc.CpusetCpus = r.CpusetCpus
		if r.PidsLimit != 0 {
			pl := r.PidsLimit
			hc.PidsLimit = &pl
		}
		if r.OomKillDisable {
			t := true
			hc.OomKillDisable = &t
		}
		hc.OomScoreAdj = r.OomScoreAdj
		for _, g := range r.GPUs {
			dr := container.DeviceRequest{Driver: g.Driver, Count: g.Count, DeviceIDs: slices.Clone(g.DeviceIDs), Options: maps.Clone(g.Options)}
			if len(g.Capabilities) > 0 {
				dr.Capabilities = [][]string{slices.Clone(g.Capabilities)}
			}
			hc.DeviceRequests = append(hc.DeviceRequests, dr)
		}
	}
	return nil
}

// parsePlatform reads os[/arch[/variant]].
func parsePlatform(s string) (*ocispec.Platform, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(strings.ToLower(s), "/")
	if len(parts) > 3 || parts[0] == "" {
		return nil, fmt.Errorf("platform %q is not os[/arch[/variant]] (for example linux/amd64)", s)
	}
	p := &ocispec.Platform{OS: parts[0]}
	if len(parts) > 1 {
		p.Architecture = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return p, nil
}

func nonEmpty(xs ...string) []string {
	var out []string
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}
