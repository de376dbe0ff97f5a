package drift

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/berthdev/berth/internal/spec"
)

// defaultShmSize is the engine's /dev/shm size when none is asked for.
const defaultShmSize = 64 << 20

// MountOptions renders a mount's options in one canonical form, so that
// what the definition declares and what the engine reports compare equal.
func MountOptions(noCopy bool, subpath string, size int64, mode uint32, propagation, selinux string) string {
	var o []string
	if noCopy {
		o = append(o, "nocopy")
	}
	if subpath != "" {
		o = append(o, "subpath="+subpath)
	}
	if size != 0 {
		o = append(o, "size="+strconv.FormatInt(size, 10))
	}
	if mode != 0 {
		o = append(o, fmt.Sprintf("mode=%o", mode))
	}
	if propagation != "" {
		o = append(o, "propagation="+propagation)
	}
	if selinux != "" {
		o = append(o, "selinux="+selinux)
	}
	return strings.Join(o, ",")
}

// runtime compares the settings beyond the basics. What the definition
// leaves unset is compared only where the engine has no default of its own
// to fill in (a log driver, a runtime, an IPC mode are the engine's
// choice), so that a fresh environment shows no drift and a change made
// by hand (docker update) does.
func (d *differ) runtime(s *spec.Service, c *Container, compare func(path string, desired, live *string)) {
	st := c.Settings
	ns := func(path, want, live string, engineDefault ...string) {
		live = d.sharedName(live)
		if want == "" && (live == "" || slices.Contains(engineDefault, live)) {
			return
		}
		if want == "default" && live == "bridge" {
			return
		}
		compare(path, nonEmpty(want), nonEmpty(live))
	}
	if s.NetworkMode != "" {
		ns("/network_mode", s.NetworkMode, st.NetworkMode)
	}
	ns("/pid", s.Pid, st.PidMode)
	ns("/ipc", s.Ipc, st.IpcMode, "private", "shareable")
	ns("/uts", s.Uts, st.UTSMode)
	ns("/userns_mode", s.UsernsMode, st.UsernsMode)
	ns("/cgroup", s.Cgroup, st.CgroupnsMode, "private", "host")

	if s.ShmSize != 0 || (st.ShmSize != 0 && st.ShmSize != defaultShmSize) {
		compare("/shm_size", bytesOrNil(s.ShmSize), bytesOrNil(st.ShmSize))
	}
	var devs []string
	for _, dv := range s.Devices {
		devs = append(devs, dv.Source+":"+dv.Target+":"+dv.Permissions)
	}
	compare("/devices", list(sorted(devs)), list(sorted(st.Devices)))
	var ul []string
	for _, name := range slices.Sorted(maps.Keys(s.Ulimits)) {
		u := s.Ulimits[name]
		ul = append(ul, fmt.Sprintf("%s=%d:%d", name, u.Soft, u.Hard))
	}
	compare("/ulimits", list(ul), list(sorted(st.Ulimits)))
	for _, k := range slices.Sorted(maps.Keys(union(s.Sysctls, st.Sysctls))) {
		dv, dok := s.Sysctls[k]
		lv, lok := st.Sysctls[k]
		compare("/sysctls/"+escape(k), opt(dv, dok), opt(lv, lok))
	}
	compare("/dns", list(s.DNS), list(st.DNS))
	compare("/dns_search", list(s.DNSSearch), list(st.DNSSearch))
	compare("/dns_opt", list(s.DNSOptions), list(st.DNSOptions))
	if s.Logging != nil {
		if s.Logging.Driver != "" {
			compare("/logging/driver", nonEmpty(s.Logging.Driver), nonEmpty(st.LogDriver))
		}
		for _, k := range slices.Sorted(maps.Keys(union(s.Logging.Options, st.LogOptions))) {
			dv, dok := s.Logging.Options[k]
			lv, lok := st.LogOptions[k]
			compare("/logging/options/"+escape(k), opt(dv, dok), opt(lv, lok))
		}
	}
	if s.Runtime != "" {
		compare("/runtime", nonEmpty(s.Runtime), nonEmpty(st.Runtime))
	}
	compare("/security_opt", list(sorted(s.SecurityOpt)), list(sorted(withoutLabelDisable(st.SecurityOpt, s))))
	compare("/group_add", list(sorted(s.GroupAdd)), list(sorted(st.GroupAdd)))
	compare("/domainname", nonEmpty(s.DomainName), nonEmpty(st.Domainname))
	var liveFrom []string
	for _, v := range st.VolumesFrom {
		ref, mode, _ := strings.Cut(v, ":")
		name := d.sharedName("container:" + ref)
		if mode != "" {
			name += ":" + mode
		}
		liveFrom = append(liveFrom, name)
	}
	compare("/volumes_from", list(sorted(s.VolumesFrom)), list(sorted(liveFrom)))

	// Exposed ports beyond the image's and the published ones.
	img := map[string]bool{}
	for _, p := range c.ImageConfig.ExposedPorts {
		img[p] = true
	}
	published := map[string]bool{}
	for _, p := range s.Ports {
		published[fmt.Sprintf("%d/%s", p.ContainerPort, cmp.Or(p.Protocol, "tcp"))] = true
	}
	var want, live []string
	for _, e := range s.Expose {
		if !img[e] && !published[e] {
			want = append(want, e)
		}
	}
	for _, e := range st.ExposedPorts {
		if !img[e] && !published[e] {
			live = append(live, e)
		}
	}
	compare("/expose", list(sorted(want)), list(sorted(live)))
}

// resources compares limits and reservations with the definition's.
func (d *differ) resources(s *spec.Service, c *Container, compare func(path string, desired, live *string)) {
	var want spec.Resources
	if s.Resources != nil {
		want = *s.Resources
	}
	r := c.Resources
	compare("/deploy/resources/limits/memory", bytesOrNil(want.MemoryLimit), bytesOrNil(r.Memory))
	compare("/deploy/resources/reservations/memory", bytesOrNil(want.MemoryReservation), bytesOrNil(r.MemoryReservation))
	cpus := func(n int64) *string {
		if n <= 0 {
			return nil
		}
		return str(strconv.FormatFloat(float64(n)/1e9, 'f', -1, 64))
	}
	compare("/deploy/resources/limits/cpus", cpus(want.NanoCPUs), cpus(r.NanoCPUs))
	num := func(n int64) *string {
		if n == 0 {
			return nil
		}
		return str(strconv.FormatInt(n, 10))
	}
	compare("/cpu_shares", num(want.CPUShares), num(r.CPUShares))
	compare("/cpu_quota", num(want.CPUQuota), num(r.CPUQuota))
	compare("/cpu_period", num(want.CPUPeriod), num(r.CPUPeriod))
	compare("/cpuset", nonEmpty(want.CpusetCpus), nonEmpty(r.CpusetCpus))
	compare("/deploy/resources/limits/pids", num(want.PidsLimit), num(r.PidsLimit))
	compare("/oom_score_adj", num(int64(want.OomScoreAdj)), num(int64(r.OomScoreAdj)))
	compare("/oom_kill_disable", boolText(want.OomKillDisable), boolText(r.OomKillDisable))
	// The engine doubles a memory limit into swap when swap is not given.
	if want.MemorySwap != 0 || (r.MemorySwap != 0 && r.MemorySwap != 2*r.Memory && r.MemorySwap != -1) {
		compare("/memswap_limit", bytesOrNil(want.MemorySwap), bytesOrNil(r.MemorySwap))
	}
	if want.MemorySwappiness != nil {
		var lv *string
		if r.MemorySwappiness != nil {
			lv = num(*r.MemorySwappiness)
		}
		compare("/mem_swappiness", num(*want.MemorySwappiness), lv)
	}
}

// sharedName turns container:<ID> into service:<name> for a container of
// this environment, and container:<name> for another, so that a recreated
// dependency is not drift.
func (d *differ) sharedName(mode string) string {
	id, ok := strings.CutPrefix(mode, "container:")
	if !ok {
		return mode
	}
	for _, c := range d.live.Containers {
		if c.ID == id || (len(id) >= 12 && strings.HasPrefix(c.ID, id)) {
			if c.Project == d.p.Name && c.Service != "" {
				return "service:" + c.Service
			}
			return "container:" + c.Name
		}
	}
	return mode
}

// withoutLabelDisable drops the label=disable the engine adds to a
// privileged container, or to one sharing another's namespaces.
func withoutLabelDisable(opts []string, s *spec.Service) []string {
	var out []string
	for _, o := range opts {
		if (o == "label=disable" || o == "label:disable") && !slices.Contains(s.SecurityOpt, o) {
			continue
		}
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}
