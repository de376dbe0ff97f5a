package drift

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// Kinds of runtime drift.
const (
	KindChanged  = "changed"  // a field has another value
	KindAdded    = "added"    // live has what the definition does not declare
	KindRemoved  = "removed"  // live lacks what the definition declares
	KindMissing  = "missing"  // a container or network does not exist
	KindStopped  = "stopped"  // a container exists but does not run
	KindReplaced = "replaced" // a container under the name was not created by Berth
	KindOutdated = "outdated" // a Berth container from another configuration
	KindImage    = "image"    // the image tag now points to another image
	KindForeign  = "foreign"  // a container Berth did not create is attached to the environment
	KindExtra    = "extra"    // a Berth container the definition no longer wants
)

// Item is one difference between the desired and the live state. Path is a
// JSON pointer into the service in Compose terms (/environment/API_URL,
// /image, /deploy/resources/limits/memory, /networks/backend, /ports/0);
// for the environment's own objects Service is empty. Desired and Live are
// the values rendered as text, nil when absent.
type Item struct {
	Service     string  `json:"service,omitempty"`
	Container   string  `json:"container,omitempty"`
	ContainerID string  `json:"containerID,omitempty"`
	Path        string  `json:"path"`
	Desired     *string `json:"desired"`
	Live        *string `json:"live"`
	Kind        string  `json:"kind"`
	// Policy is the drift policy that applies (warn or heal).
	Policy string `json:"policy,omitempty"`
}

// String renders the item on one line, the way the CLI shows it.
func (it Item) String() string {
	where := it.Service
	if where == "" {
		where = "(environment)"
	}
	return fmt.Sprintf("%s %s %s: %s -> %s", where, it.Path, it.Kind, show(it.Desired), show(it.Live))
}

func show(s *string) string {
	if s == nil {
		return "(none)"
	}
	return strconv.Quote(*s)
}

// Result is the runtime drift of one environment after the manifest's
// policies and ignore rules.
type Result struct {
	Items []Item `json:"items"`
	// Ignored counts the differences left out by an ignore policy or rule.
	Ignored int `json:"ignored,omitempty"`
}

// Runtime compares desired with live and applies the manifest's drift
// settings (desired.Drift): items of services whose policy is ignore, and
// items an ignore rule matches, are counted in Ignored and left out.
func Runtime(desired *spec.Project, live Live) Result {
	items := Diff(desired, live)
	res := Result{Items: []Item{}}
	for _, it := range items {
		pol := desired.Drift.PolicyFor(it.Service)
		if pol == spec.DriftIgnore || ignored(desired.Drift, it) {
			res.Ignored++
			continue
		}
		it.Policy = pol
		res.Items = append(res.Items, it)
	}
	return res
}

// ignored reports whether an ignore rule covers it: same service (or a
// rule for every service) and a path equal to the rule's or below it.
func ignored(d *spec.DriftSettings, it Item) bool {
	if d == nil {
		return false
	}
	for _, r := range d.Ignore {
		if r.Service != "" && r.Service != it.Service {
			continue
		}
		if it.Path == r.Path || strings.HasPrefix(it.Path, strings.TrimSuffix(r.Path, "/")+"/") {
			return true
		}
	}
	return false
}

// Diff lists every difference between desired and live, sorted by service,
// container and path, before policies and ignore rules.
func Diff(desired *spec.Project, live Live) []Item {
	d := &differ{p: desired, live: live}
	byName := map[string]*Container{}
	for i := range live.Containers {
		byName[live.Containers[i].Name] = &live.Containers[i]
	}
	wanted := map[string]bool{}
	for i := range desired.Services {
		s := &desired.Services[i]
		for n := 1; n <= s.Replicas; n++ {
			name := reconcile.ContainerName(desired.Name, s.Name, n)
			wanted[name] = true
			c := byName[name]
			if c == nil {
				d.add(Item{Service: s.Name, Container: name, Path: "", Kind: KindMissing, Desired: str("running"), Live: nil})
				continue
			}
			d.container(s, c)
		}
	}
	// Containers of the project nobody wants.
	for i := range live.Containers {
		c := &live.Containers[i]
		if wanted[c.Name] || c.OneOff || c.Project != desired.Name {
			continue
		}
		if c.Managed {
			d.add(Item{Service: c.Service, Container: c.Name, ContainerID: c.ID, Kind: KindExtra, Path: "", Desired: nil, Live: str(c.State)})
		} else {
			d.add(Item{Service: "", Container: c.Name, ContainerID: c.ID, Kind: KindForeign, Path: "", Desired: nil,
				Live: str("container " + c.Name + " carries the project's label but was not created by Berth")})
		}
	}
	d.networks(byName)
	sort.SliceStable(d.items, func(i, j int) bool {
		a, b := d.items[i], d.items[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		if a.Container != b.Container {
			return a.Container < b.Container
		}
		return a.Path < b.Path
	})
	if d.items == nil {
		return []Item{}
	}
	return d.items
}

type differ struct {
	p     *spec.Project
	live  Live
	items []Item
}

func (d *differ) add(it Item) { d.items = append(d.items, it) }

func str(s string) *string { return &s }

// container compares one container with the service it should run.
func (d *differ) container(s *spec.Service, c *Container) {
	base := Item{Service: s.Name, Container: c.Name, ContainerID: c.ID}
	item := func(path, kind string, desired, live *string) {
		it := base
		it.Path, it.Kind, it.Desired, it.Live = path, kind, desired, live
		d.add(it)
	}
	compare := func(path string, desired, live *string) {
		switch {
		case desired == nil && live == nil:
		case desired == nil:
			item(path, KindAdded, nil, live)
		case live == nil:
			item(path, KindRemoved, desired, nil)
		case *desired != *live:
			item(path, KindChanged, desired, live)
		}
	}

	ours := c.Managed && c.Project == d.p.Name
	if !ours {
		who := "a container Berth did not create"
		if c.Project != "" && c.Project != d.p.Name {
			who += " (Compose project " + strconv.Quote(c.Project) + ")"
		}
		item("", KindReplaced, str("created by Berth"), str(who))
	} else if c.ConfigHash != s.Hash {
		item("", KindOutdated, str("configuration "+short(s.Hash)), str("configuration "+short(c.ConfigHash)))
	}

	// State.
	switch c.State {
	case reconcile.StateRunning, reconcile.StateRestarting:
	case reconcile.StateExited:
		if !(c.ExitCode == 0 && awaitedToComplete(d.p, s.Name)) {
			item("/state", KindStopped, str("running"), str(fmt.Sprintf("exited (code %d)", c.ExitCode)))
		}
	default:
		item("/state", KindStopped, str("running"), str(c.State))
	}

	// Image: the reference, then what the tag points to now.
	compare("/image", str(s.Image), str(c.Image))
	if want, ok := d.live.Images[s.Image]; ok && c.Image == s.Image && c.ImageID != "" && want != c.ImageID {
		item("/image", KindImage, str(s.Image+" ("+shortID(want)+")"), str(shortID(c.ImageID)))
	}

	ic := c.ImageConfig
	// Environment: the image's ENV is merged in by the engine.
	liveEnv := envMap(c.Env)
	imgEnv := envMap(ic.Env)
	for _, k := range slices.Sorted(maps.Keys(union(s.Environment, liveEnv))) {
		dv, dok := s.Environment[k]
		lv, lok := liveEnv[k]
		if !dok {
			if iv, iok := imgEnv[k]; iok && lok && iv == lv {
				continue // from the image
			}
		}
		compare("/environment/"+escape(k), opt(dv, dok), opt(lv, lok))
	}

	// Entrypoint and command, as the engine merges them with the image's.
	wantEP, wantCmd := mergeCommand(s.Entrypoint, s.Command, ic)
	compare("/entrypoint", list(wantEP), list(blank(c.Entrypoint)))
	compare("/command", list(wantCmd), list(blank(c.Cmd)))

	// Labels: the user's; Compose's and Berth's own, and the image's, are
	// not the definition's.
	liveLabels := map[string]string{}
	for k, v := range c.Labels {
		if strings.HasPrefix(k, "com.docker.compose.") || strings.HasPrefix(k, "dev.berth.") {
			continue
		}
		if iv, ok := ic.Labels[k]; ok && iv == v {
			if _, declared := s.Labels[k]; !declared {
				continue
			}
		}
		liveLabels[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(union(s.Labels, liveLabels))) {
		dv, dok := s.Labels[k]
		lv, lok := liveLabels[k]
		compare("/labels/"+escape(k), opt(dv, dok), opt(lv, lok))
	}

	compare("/user", nonEmpty(cmp.Or(s.User, ic.User)), nonEmpty(c.User))
	compare("/working_dir", nonEmpty(cmp.Or(s.WorkingDir, ic.WorkingDir)), nonEmpty(c.WorkingDir))
	compare("/stop_signal", nonEmpty(cmp.Or(s.StopSignal, ic.StopSignal)), nonEmpty(c.StopSignal))
	if s.Hostname != "" || (c.Hostname != "" && !generatedHostname(c) && !sharedNetwork(s)) {
		compare("/hostname", nonEmpty(s.Hostname), nonEmpty(c.Hostname))
	}
	var wantStop *string
	if s.StopGracePeriod != nil {
		wantStop = str(fmt.Sprintf("%ds", int(s.StopGracePeriod.Round(time.Second)/time.Second)))
	}
	var liveStop *string
	if c.StopTimeout != nil {
		liveStop = str(fmt.Sprintf("%ds", *c.StopTimeout))
	}
	compare("/stop_grace_period", wantStop, liveStop)
	compare("/healthcheck", renderHealth(mergeHealth(s.Healthcheck, ic.Healthcheck)), renderHealth(c.Healthcheck))
	compare("/restart", str(cmp.Or(s.Restart, "no")), str(cmp.Or(c.Restart, "no")))
	compare("/init", boolText(s.Init != nil && *s.Init), boolText(c.Init != nil && *c.Init))
	compare("/privileged", boolText(s.Privileged), boolText(c.Privileged))
	compare("/read_only", boolText(s.ReadOnly), boolText(c.ReadOnly))
	compare("/tty", boolText(s.Tty), boolText(c.Tty))
	compare("/stdin_open", boolText(s.StdinOpen), boolText(c.OpenStdin))
	compare("/cap_add", list(caps(s.CapAdd)), list(caps(c.CapAdd)))
	compare("/cap_drop", list(caps(s.CapDrop)), list(caps(c.CapDrop)))
	compare("/extra_hosts", list(sorted(s.ExtraHosts)), list(sorted(c.ExtraHosts)))
	compare("/tmpfs", list(tmpfsList(s.Tmpfs)), list(tmpfsMap(c.Tmpfs)))

	d.resources(s, c, compare)
	d.runtime(s, c, compare)

	// Ports, as sets of bindings.
	livePorts := map[string]bool{}
	for _, p := range c.Ports {
		livePorts[portText(p.HostIP, p.HostPort, p.ContainerPort, p.Protocol)] = true
	}
	wantPorts := map[string]bool{}
	for i, p := range s.Ports {
		t := portText(p.HostIP, p.HostPort, p.ContainerPort, p.Protocol)
		wantPorts[t] = true
		if !livePorts[t] {
			compare("/ports/"+strconv.Itoa(i), str(t), nil)
		}
	}
	for _, t := range slices.Sorted(maps.Keys(livePorts)) {
		if !wantPorts[t] {
			compare("/ports/-", nil, str(t))
		}
	}

	// Mounts, by target.
	liveMounts := map[string]Mount{}
	for _, m := range c.Mounts {
		liveMounts[m.Target] = m
	}
	wantTargets := map[string]bool{}
	for i, m := range s.Mounts {
		wantTargets[m.Target] = true
		src := m.Source
		if m.Type == spec.MountVolume && src != "" {
			if v := d.p.Volume(src); v != nil {
				src = v.Name
			}
		}
		want := Mount{Type: m.Type, Source: src, Target: m.Target, ReadOnly: m.ReadOnly,
			Options: MountOptions(m.NoCopy, m.Subpath, m.TmpfsSize, m.TmpfsMode, m.Propagation, m.SELinux)}
		path := "/volumes/" + strconv.Itoa(i)
		lm, ok := liveMounts[m.Target]
		switch {
		case !ok:
			compare(path, str(mountText(want)), nil)
		default:
			if want.Type == spec.MountVolume && want.Source == "" {
				lm.Source = "" // an anonymous volume's generated name
			}
			compare(path, str(mountText(want)), str(mountText(lm)))
		}
	}
	for _, t := range slices.Sorted(maps.Keys(liveMounts)) {
		if !wantTargets[t] && !(liveMounts[t].Type == spec.MountVolume && slices.Contains(ic.Volumes, t)) {
			compare("/volumes/-", nil, str(mountText(liveMounts[t])))
		}
	}

	// Networks, by engine name; a service in another's network (or the
	// host's, or none) has its network_mode compared instead.
	if s.NetworkMode != "" {
		return
	}
	wantNets := map[string]bool{}
	for _, sn := range s.Networks {
		n := d.p.Network(sn.Network)
		if n == nil {
			continue
		}
		wantNets[n.Name] = true
		path := "/networks/" + escape(sn.Network)
		ep, ok := c.Networks[n.Name]
		if !ok {
			compare(path, str(n.Name), nil)
			continue
		}
		var aliases []string
		for _, a := range ep.Aliases {
			if a == s.Name || a == shortID(c.ID) || a == c.Name || (s.ContainerName != "" && a == s.ContainerName) ||
				(s.Hostname != "" && a == s.Hostname) {
				continue // Berth's own alias, the engine's generated ones
			}
			aliases = append(aliases, a)
		}
		compare(path+"/aliases", list(sorted(sn.Aliases)), list(sorted(aliases)))
		if sn.IPv4Address != "" || ep.IPv4Address != "" {
			compare(path+"/ipv4_address", nonEmpty(sn.IPv4Address), nonEmpty(ep.IPv4Address))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Networks)) {
		if wantNets[name] {
			continue
		}
		key := name
		for _, n := range d.live.Networks {
			if n.Name == name && n.Key != "" {
				key = n.Key
			}
		}
		compare("/networks/"+escape(key), nil, str(name))
	}
}

// networks reports the environment's networks: missing ones, and
// containers attached to them that are not the environment's.
func (d *differ) networks(byName map[string]*Container) {
	liveByName := map[string]Network{}
	for _, n := range d.live.Networks {
		liveByName[n.Name] = n
	}
	ids := map[string]bool{}
	for _, c := range d.live.Containers {
		ids[c.ID] = true
	}
	for _, n := range d.p.Networks {
		ln, ok := liveByName[n.Name]
		path := "/networks/" + escape(n.Key)
		if !ok {
			if !n.External {
				d.add(Item{Path: path, Kind: KindMissing, Desired: str(n.Name), Live: nil})
			}
			continue
		}
		if n.External {
			continue // shared with others by design
		}
		for _, a := range ln.Attached {
			if ids[a.ID] {
				continue
			}
			d.add(Item{Path: path, Container: a.Name, ContainerID: a.ID, Kind: KindForeign, Desired: nil,
				Live: str("container " + a.Name + " attached to " + n.Name)})
		}
	}
}

// mergeCommand is the entrypoint and command a container gets from the
// definition's and the image's, the way the engine merges them: an
// entrypoint given drops the image's command; a command given keeps the
// image's entrypoint.
func mergeCommand(ep, cmd []string, ic ImageConfig) ([]string, []string) {
	sentEP := ep
	if ep != nil && len(ep) == 0 {
		sentEP = []string{""} // "none", as Berth sends it
	}
	sentCmd := cmd
	if cmd != nil && len(cmd) == 0 {
		sentCmd = []string{""}
	}
	outEP, outCmd := sentEP, sentCmd
	if len(sentEP) == 0 {
		if len(sentCmd) == 0 {
			outCmd = ic.Cmd
		}
		if sentEP == nil {
			outEP = ic.Entrypoint
		}
	}
	return blank(outEP), blank(outCmd)
}

// blank turns the engine's "none" ([""]) into nil.
func blank(s []string) []string {
	if len(s) == 0 || (len(s) == 1 && s[0] == "") {
		return nil
	}
	return s
}

// mergeHealth is the health check a container gets: the definition's
// fields over the image's.
func mergeHealth(h *spec.Healthcheck, img *Health) *Health {
	if h == nil {
		return img
	}
	if h.Disable {
		return &Health{Test: []string{"NONE"}}
	}
	out := Health{Test: h.Test}
	d := func(p *time.Duration) int64 {
		if p == nil {
			return 0
		}
		return int64(*p)
	}
	out.Interval, out.Timeout, out.StartPeriod, out.StartInterval = d(h.Interval), d(h.Timeout), d(h.StartPeriod), d(h.StartInterval)
	if h.Retries != nil {
		out.Retries = int(*h.Retries)
	}
	if img != nil {
		if len(out.Test) == 0 {
			out.Test = img.Test
		}
		if out.Interval == 0 {
			out.Interval = img.Interval
		}
		if out.Timeout == 0 {
			out.Timeout = img.Timeout
		}
		if out.StartPeriod == 0 {
			out.StartPeriod = img.StartPeriod
		}
		if out.StartInterval == 0 {
			out.StartInterval = img.StartInterval
		}
		if out.Retries == 0 {
			out.Retries = img.Retries
		}
	}
	return &out
}

func renderHealth(h *Health) *string {
	if h == nil || (len(h.Test) == 0 && h.Interval == 0 && h.Timeout == 0 && h.StartPeriod == 0 && h.Retries == 0) {
		return nil
	}
	if len(h.Test) > 0 && h.Test[0] == "NONE" {
		return str("disabled")
	}
	test, _ := json.Marshal(h.Test)
	s := "test=" + string(test)
	for _, f := range []struct {
		name string
		v    int64
	}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"start_period", h.StartPeriod}, {"start_interval", h.StartInterval}} {
		if f.v != 0 {
			s += " " + f.name + "=" + time.Duration(f.v).String()
		}
	}
	if h.Retries != 0 {
		s += " retries=" + strconv.Itoa(h.Retries)
	}
	return &s
}

func awaitedToComplete(p *spec.Project, service string) bool {
	for _, s := range p.Services {
		for _, dep := range s.DependsOn {
			if dep.Service == service && dep.Condition == spec.ConditionCompleted {
				return true
			}
		}
	}
	return false
}

// sharedNetwork reports whether s runs in a network namespace it does not
// own (the host's, or another container's): its hostname is that one's.
func sharedNetwork(s *spec.Service) bool {
	return s.NetworkMode == "host" || strings.HasPrefix(s.NetworkMode, "service:") || strings.HasPrefix(s.NetworkMode, "container:")
}

// caps is a capability list in one form: upper case without the CAP_
// prefix the engine may add, sorted.
func caps(list []string) []string {
	var out []string
	for _, c := range list {
		out = append(out, strings.TrimPrefix(strings.ToUpper(c), "CAP_"))
	}
	return sorted(out)
}

// generatedHostname reports whether the container's hostname is the one
// the engine makes up (its short ID).
func generatedHostname(c *Container) bool {
	return c.Hostname == shortID(c.ID)
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "(none)"
	}
	return h
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func union(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func opt(v string, ok bool) *string {
	if !ok {
		return nil
	}
	return &v
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func boolText(b bool) *string {
	if !b {
		return nil
	}
	return str("true")
}

func list(s []string) *string {
	if len(s) == 0 {
		return nil
	}
	b, _ := json.Marshal(s)
	return str(string(b))
}

func sorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func tmpfsList(s []string) []string {
	var out []string
	for _, t := range s {
		path, opts, _ := strings.Cut(t, ":")
		out = append(out, strings.TrimSuffix(path+":"+opts, ":"))
	}
	return sorted(out)
}

func tmpfsMap(m map[string]string) []string {
	var out []string
	for path, opts := range m {
		out = append(out, strings.TrimSuffix(path+":"+opts, ":"))
	}
	return sorted(out)
}

// bytesOrNil renders a byte count the way Compose writes one (256m, 1g).
func bytesOrNil(n int64) *string {
	if n <= 0 {
		return nil
	}
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
		if n%u.size == 0 {
			return str(strconv.FormatInt(n/u.size, 10) + u.suffix)
		}
	}
	return str(strconv.FormatInt(n, 10))
}

func portText(hostIP, hostPort string, port uint32, proto string) string {
	if proto == "" {
		proto = "tcp"
	}
	s := fmt.Sprintf("%d/%s", port, proto)
	if hostPort != "" || hostIP != "" {
		s = hostPort + ":" + s
	}
	if hostIP != "" {
		s = hostIP + ":" + s
	}
	return s
}

func mountText(m Mount) string {
	s := m.Type + " " + m.Source + ":" + m.Target
	if m.Source == "" {
		s = m.Type + " " + m.Target
	}
	if m.ReadOnly {
		s += ":ro"
	}
	if m.Options != "" {
		s += " (" + m.Options + ")"
	}
	return s
}

// escape makes one JSON pointer reference token (RFC 6901).
func escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}
