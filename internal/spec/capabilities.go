package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Capability kinds: what a definition can do on the user's machine beyond
// running its own containers. The names are stable (settings refuse them
// by name, trust records keep them).
const (
	CapPrivileged      = "privileged"       // a service runs privileged
	CapKernel          = "capabilities"     // a service adds kernel capabilities
	CapDevice          = "devices"          // a service is given a host device
	CapHostPath        = "host-path"        // a host path outside the definition is mounted
	CapDockerSocket    = "docker-socket"    // the engine's socket is mounted: root on the engine's host
	CapHostNamespace   = "host-namespace"   // the host's (or another container's) network, pid, ipc, uts, user or cgroup namespace
	CapUnconfined      = "unconfined"       // seccomp, AppArmor or SELinux confinement turned off
	CapAllInterfaces   = "all-interfaces"   // a port published on every network interface
	CapExternalVolume  = "external-volume"  // a volume (or another container's volumes) this environment did not create
	CapExternalNetwork = "external-network" // a network this environment did not create
	CapEnvVar          = "env-var"          // a variable read from the user's environment
	CapEnvFile         = "env-file"         // an env file (or label file) read into a container's settings
	CapBuild           = "build"            // an image built from a context and Dockerfile
	CapInclude         = "include"          // another Compose file read through include or extends
	CapDatabaseSource  = "database-source"  // where a database clone's data comes from
)

// CapabilityKinds lists every kind, for settings and help texts.
var CapabilityKinds = []string{CapPrivileged, CapKernel, CapDevice, CapHostPath, CapDockerSocket, CapHostNamespace, CapUnconfined,
	CapAllInterfaces, CapExternalVolume, CapExternalNetwork, CapEnvVar, CapEnvFile, CapBuild, CapInclude, CapDatabaseSource}

// CapOutside is what settings name to refuse every capability that reads
// a file outside the definition's folder, whatever its kind.
const CapOutside = "outside"

// Capability is one thing a definition can do on the user's machine. The
// trust record is a digest of Kind and Subject of every capability:
// Services, the host port and the position are shown, not digested, so
// that moving a port or adding a service that does what another already
// does asks nothing.
type Capability struct {
	Kind string `json:"kind"`
	// Subject is what it is about, as digested: a service and a setting
	// ("api: NET_ADMIN"), a path, a variable name, a volume name.
	Subject string `json:"subject"`
	// Text says it in plain words.
	Text     string   `json:"text"`
	Services []string `json:"services,omitempty"`
	// Outside marks a file outside the definition's folder.
	Outside bool `json:"outside,omitempty"`
	// File and Line say where it is written, when known.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Field is the Compose or manifest field.
	Field string `json:"field,omitempty"`

	// format makes Text once every service is known: %[1]s stands for
	// them ("api and worker").
	format string
}

// Key is what the digest covers.
func (c Capability) Key() string { return c.Kind + "\x00" + c.Subject }

// String is the capability in plain words with where it is written.
func (c Capability) String() string {
	if c.File == "" {
		return c.Text
	}
	return c.Text + " (" + formatPos(c.File, c.Line, c.Field) + ")"
}

// Matches says whether a settings entry refusing name covers c.
func (c Capability) Matches(name string) bool {
	return name == c.Kind || (name == CapOutside && c.Outside)
}

// CapabilityDigest is the digest of a capability list: sha256 over the
// sorted, distinct keys, hex. An empty list has the digest of nothing.
func CapabilityDigest(caps []Capability) string {
	keys := make([]string, 0, len(caps))
	for _, c := range caps {
		keys = append(keys, c.Key())
	}
	sort.Strings(keys)
	h := sha256.New()
	prev := ""
	for i, k := range keys {
		if i > 0 && k == prev {
			continue
		}
		prev = k
		h.Write([]byte(k))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// EnvVars are the names of the variables caps read from the user's
// environment (a database URL variable too).
func EnvVars(caps []Capability) []string {
	var out []string
	for _, c := range caps {
		switch {
		case c.Kind == CapEnvVar:
			out = append(out, c.Subject)
		case c.Kind == CapDatabaseSource:
			if _, v, ok := strings.Cut(c.Subject, ": url $"); ok {
				out = append(out, v)
			}
		}
	}
	sort.Strings(out)
	return slicesCompact(out)
}

// Paths are the files and folders outside the definition's folder that
// caps read or mount (absolute).
func Paths(caps []Capability) []string {
	var out []string
	for _, c := range caps {
		switch c.Kind {
		case CapHostPath, CapDockerSocket:
			out = append(out, strings.TrimSuffix(strings.TrimSuffix(c.Subject, " (read-only)"), " (read-write)"))
		case CapEnvFile, CapInclude:
			if c.Outside {
				out = append(out, c.Subject)
			}
		case CapBuild:
			// "context (Dockerfile)": either may be outside (absolute).
			ctx, df, _ := strings.Cut(c.Subject, " (")
			df = strings.TrimSuffix(df, ")")
			for _, p := range []string{ctx, df} {
				if filepath.IsAbs(p) {
					out = append(out, p)
				}
			}
		}
	}
	sort.Strings(out)
	return slicesCompact(out)
}

func slicesCompact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// capCollector gathers a definition's capabilities, merging the services
// of equal ones.
type capCollector struct {
	src  *sources
	caps map[string]*Capability
}

func newCapCollector(src *sources) *capCollector {
	return &capCollector{src: src, caps: map[string]*Capability{}}
}

// add records a capability of service (empty for none) written at field.
func (cc *capCollector) add(c Capability, service string, field ...string) {
	if c.File == "" && len(field) > 0 && cc.src != nil && len(cc.src.files) > 0 {
		f, loc := cc.src.locate(field...)
		if f != nil && loc.depth > 0 {
			c.File, c.Line = f.display(), loc.line
			c.Field = loc.field
			if !loc.found {
				c.Field = renderField(field)
			}
		}
	}
	if c.Field == "" && len(field) > 0 {
		c.Field = renderField(field)
	}
	if old, ok := cc.caps[c.Key()]; ok {
		if service != "" && !containsString(old.Services, service) {
			old.Services = append(old.Services, service)
			sort.Strings(old.Services)
		}
		return
	}
	if service != "" {
		c.Services = []string{service}
	}
	cc.caps[c.Key()] = &c
}

// list returns the capabilities sorted by kind (in CapabilityKinds
// order), then subject.
func (cc *capCollector) list() []Capability {
	order := map[string]int{}
	for i, k := range CapabilityKinds {
		order[k] = i
	}
	out := make([]Capability, 0, len(cc.caps))
	for _, c := range cc.caps {
		if c.format != "" {
			c.Text = fmt.Sprintf(c.format, joinServices(c.Services))
			c.format = ""
		}
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if order[out[i].Kind] != order[out[j].Kind] {
			return order[out[i].Kind] < order[out[j].Kind]
		}
		return out[i].Subject < out[j].Subject
	})
	return out
}

// joinServices names services in a sentence: "api", "api and worker",
// "api, web and worker".
func joinServices(s []string) string {
	switch len(s) {
	case 0:
		return "a service"
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// pct escapes a value for a format string.
func pct(s string) string { return strings.ReplaceAll(s, "%", "%%") }

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

const (
	notSocket = iota
	socketItself
	socketHolder
)

// socketPath says whether a host path is the Docker engine's socket, or a
// folder holding it (mounting / or /run hands it over just the same).
func socketPath(p string) int {
	p = filepath.Clean(p)
	switch {
	case p == "/var/run/docker.sock", p == "/run/docker.sock", strings.HasSuffix(p, "/docker.sock"):
		return socketItself
	case p == "/", p == "/var", p == "/var/run", p == "/run", p == "/run/docker", p == "/var/run/docker":
		return socketHolder
	}
	return notSocket
}

// unconfinedOpt says whether a security_opt turns confinement off.
func unconfinedOpt(opt string) bool {
	o := strings.ToLower(strings.ReplaceAll(opt, ":", "="))
	switch o {
	case "seccomp=unconfined", "apparmor=unconfined", "label=disable", "systempaths=unconfined", "no-new-privileges=false":
		return true
	}
	return false
}

// serviceCapabilities adds what the services of cp can do on the host.
func (cc *capCollector) serviceCapabilities(cp *types.Project, f *fence) {
	for _, name := range slices.Sorted(maps.Keys(cp.Services)) {
		s := cp.Services[name]
		at := func(rest ...string) []string { return append([]string{"services", name}, rest...) }
		if s.Privileged {
			cc.add(Capability{Kind: CapPrivileged, Subject: name,
				Text: fmt.Sprintf("runs %s privileged: every device and kernel capability of the engine's host", name)}, name, at("privileged")...)
		}
		for _, c := range s.CapAdd {
			c = strings.ToUpper(strings.TrimPrefix(strings.ToUpper(c), "CAP_"))
			cc.add(Capability{Kind: CapKernel, Subject: name + ": " + c,
				Text: fmt.Sprintf("gives %s the kernel capability %s", name, c)}, name, at("cap_add")...)
		}
		for _, d := range s.Devices {
			cc.add(Capability{Kind: CapDevice, Subject: name + ": " + d.Source,
				Text: fmt.Sprintf("gives %s the host device %s", name, d.Source)}, name, at("devices")...)
		}
		for _, ns := range []struct{ what, v, field string }{
			{"network", s.NetworkMode, "network_mode"}, {"process (pid)", s.Pid, "pid"}, {"IPC", s.Ipc, "ipc"},
			{"hostname (uts)", s.Uts, "uts"}, {"user", s.UserNSMode, "userns_mode"}, {"cgroup", s.Cgroup, "cgroup"},
		} {
			switch {
			case ns.v == "host":
				cc.add(Capability{Kind: CapHostNamespace, Subject: name + ": " + ns.field + "=host",
					Text: fmt.Sprintf("runs %s in the host's %s namespace", name, ns.what)}, name, at(ns.field)...)
			case strings.HasPrefix(ns.v, "container:"):
				cc.add(Capability{Kind: CapHostNamespace, Subject: name + ": " + ns.field + "=" + ns.v,
					Text: fmt.Sprintf("runs %s in the %s namespace of the container %s", name, ns.what, strings.TrimPrefix(ns.v, "container:"))}, name, at(ns.field)...)
			}
		}
		for _, o := range s.SecurityOpt {
			if unconfinedOpt(o) {
				cc.add(Capability{Kind: CapUnconfined, Subject: name + ": " + o,
					Text: fmt.Sprintf("turns off confinement for %s (%s)", name, o)}, name, at("security_opt")...)
			}
		}
		for _, p := range s.Ports {
			// Every ports entry is published (expose is the unpublished
			// form): with no host port the engine picks one.
			switch p.HostIP {
			case "", "0.0.0.0", "::", "[::]":
			default:
				continue
			}
			proto := p.Protocol
			if proto == "" {
				proto = "tcp"
			}
			as := "as " + p.Published
			if p.Published == "" || p.Published == "0" {
				as = "on a port the engine picks"
			}
			cc.add(Capability{Kind: CapAllInterfaces, Subject: fmt.Sprintf("%s: %d/%s", name, p.Target, proto),
				Text: fmt.Sprintf("publishes port %d/%s of %s %s on every network interface: other machines can reach it", p.Target, proto, name, as)}, name, at("ports")...)
		}
		for _, v := range s.VolumesFrom {
			cc.add(Capability{Kind: CapExternalVolume, Subject: name + ": volumes_from " + v,
				Text: fmt.Sprintf("mounts the volumes of %s into %s", v, name)}, name, at("volumes_from")...)
		}
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind || v.Source == "" {
				continue
			}
			if ok, _ := f.inside(v.Source); ok {
				continue
			}
			mode := "read-write"
			if v.ReadOnly {
				mode = "read-only"
			}
			switch socketPath(v.Source) {
			case socketItself:
				cc.add(Capability{Kind: CapDockerSocket, Subject: v.Source + " (" + mode + ")", Outside: true,
					format: "mounts the Docker engine's socket (" + pct(v.Source) + ") into %[1]s: full control of the engine, which is root on its host"}, name, at("volumes")...)
				continue
			case socketHolder:
				cc.add(Capability{Kind: CapDockerSocket, Subject: v.Source + " (" + mode + ")", Outside: true,
					format: "mounts the host path " + pct(v.Source) + " into %[1]s (" + mode + "), which holds the Docker engine's socket: full control of the engine, which is root on its host"}, name, at("volumes")...)
				continue
			}
			cc.add(Capability{Kind: CapHostPath, Subject: v.Source + " (" + mode + ")", Outside: true,
				format: "mounts the host path " + pct(v.Source) + " into %[1]s (" + mode + ")"}, name, at("volumes")...)
		}
		for _, ef := range s.EnvFiles {
			cc.fileCap(f, CapEnvFile, ef.Path, "reads the env file %s into the settings of %%[1]s", name, at("env_file"))
		}
		for _, lf := range s.LabelFiles {
			cc.fileCap(f, CapEnvFile, lf, "reads the label file %s into the labels of %%[1]s", name, at("label_file"))
		}
		if b := s.Build; b != nil {
			cc.buildCap(f, name, b, at("build"))
			cc.buildFileCaps(f, cp, name, b, at("build"))
		}
	}
}

// fileCap adds a file a service reads (an env file), inside or outside.
func (cc *capCollector) fileCap(f *fence, kind, p, format, service string, field []string) {
	in, _ := f.inside(p)
	subj := f.rel(p)
	text := fmt.Sprintf(format, pct(subj))
	if !in {
		text += ", outside the definition's folder"
	}
	cc.add(Capability{Kind: kind, Subject: subj, Outside: !in, format: text}, service, field...)
}

// buildCap adds an image build.
func (cc *capCollector) buildCap(f *fence, service string, b *types.BuildConfig, field []string) {
	if !filepath.IsAbs(b.Context) {
		cc.add(Capability{Kind: CapBuild, Subject: b.Context,
			format: "builds the image of %[1]s from the remote source " + pct(b.Context) + " (the engine fetches it and runs its steps)"}, service, field...)
		return
	}
	df := b.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	if b.DockerfileInline != "" {
		df = "an inline Dockerfile"
	} else if !filepath.IsAbs(df) {
		df = filepath.Join(b.Context, df)
	}
	ctxIn, _ := f.inside(b.Context)
	dfIn := b.DockerfileInline != ""
	if !dfIn {
		dfIn, _ = f.inside(df)
		df = f.rel(df)
	}
	ctx := f.rel(b.Context)
	if ctx == "." {
		ctx = "the definition's folder"
	} else if ctxIn {
		ctx += "/"
	}
	text := "builds the image of %[1]s from " + pct(ctx) + " with " + pct(df) + " (its steps run on the engine)"
	if !ctxIn || !dfIn {
		text += ", outside the definition's folder"
	}
	cc.add(Capability{Kind: CapBuild, Subject: f.rel(b.Context) + " (" + df + ")", Outside: !ctxIn || !dfIn, format: text}, service, field...)
}

// resourceCapabilities adds the external volumes and networks of cp, and
// volumes of the local driver that bind a host path.
func (cc *capCollector) resourceCapabilities(cp *types.Project, f *fence) {
	for _, key := range slices.Sorted(maps.Keys(cp.Volumes)) {
		v := cp.Volumes[key]
		name := v.Name
		if name == "" {
			name = key
		}
		if bool(v.External) {
			cc.add(Capability{Kind: CapExternalVolume, Subject: name,
				Text: fmt.Sprintf("uses the volume %s, which this environment did not create (another environment's data, perhaps)", name)}, "", "volumes", key, "external")
		}
		if dev := v.DriverOpts["device"]; dev != "" && strings.Contains(","+v.DriverOpts["o"]+",", ",bind,") {
			if !filepath.IsAbs(dev) {
				dev = filepath.Join(cp.WorkingDir, dev)
			}
			if ok, _ := f.inside(dev); !ok {
				cc.add(Capability{Kind: CapHostPath, Subject: path.Clean(dev) + " (read-write)", Outside: true,
					Text: fmt.Sprintf("binds the host path %s as the volume %s", dev, key)}, "", "volumes", key, "driver_opts")
			}
		}
	}
	files := func(kind, key, file string) {
		if file == "" {
			return
		}
		if ok, _ := f.inside(file); !ok {
			cc.add(Capability{Kind: CapHostPath, Subject: path.Clean(file) + " (read)", Outside: true,
				Text: fmt.Sprintf("reads the host file %s as the %s %s", file, strings.TrimSuffix(kind, "s"), key)}, "", kind, key, "file")
		}
	}
	// The secrets and configs services use (a build's are its own
	// capability, see buildFileCaps).
	usedSecrets, usedConfigs := map[string]bool{}, map[string]bool{}
	for _, svc := range cp.Services {
		for _, r := range svc.Secrets {
			usedSecrets[r.Source] = true
		}
		for _, r := range svc.Configs {
			usedConfigs[r.Source] = true
		}
	}
	for _, key := range slices.Sorted(maps.Keys(cp.Secrets)) {
		if usedSecrets[key] {
			files("secrets", key, cp.Secrets[key].File)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(cp.Configs)) {
		if usedConfigs[key] {
			files("configs", key, cp.Configs[key].File)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(cp.Networks)) {
		n := cp.Networks[key]
		if !bool(n.External) {
			continue
		}
		name := n.Name
		if name == "" {
			name = key
		}
		cc.add(Capability{Kind: CapExternalNetwork, Subject: name,
			Text: fmt.Sprintf("joins the network %s, which this environment did not create", name)}, "", "networks", key, "external")
	}
}

// databaseCapabilities adds where the manifest's databases come from.
func (cc *capCollector) databaseCapabilities(m *Manifest) {
	for i, db := range m.Databases {
		s := db.Source
		if s == nil {
			continue
		}
		c := Capability{Kind: CapDatabaseSource, File: displayPath(m.Path), Line: m.Line(fmt.Sprintf("databases[%d].source", i)), Field: fmt.Sprintf("databases[%d].source", i)}
		switch s.Kind() {
		case "seed":
			c.Subject = db.Service + ": seed " + s.Seed
			c.Text = fmt.Sprintf("loads the database of %s from the seed %s", db.Service, s.Seed)
		case "url":
			c.Subject = db.Service + ": url $" + s.URL
			c.Text = fmt.Sprintf("copies the database of %s from the live server whose URL is in $%s (read from your environment)", db.Service, s.URL)
		case "env":
			c.Subject = db.Service + ": env " + s.Env
			c.Text = fmt.Sprintf("copies the database of %s from the environment %s", db.Service, s.Env)
		case "snapshot":
			c.Subject = db.Service + ": snapshot " + s.Snapshot
			c.Text = fmt.Sprintf("starts the database of %s from the snapshot %s", db.Service, s.Snapshot)
		default:
			continue
		}
		cc.add(c, db.Service)
	}
}

// envCapabilities adds the variables read from the user's environment.
func (cc *capCollector) envCapabilities(names []string) {
	for _, n := range names {
		text := fmt.Sprintf("reads $%s from your environment", n)
		if reservedVar(n) {
			text = fmt.Sprintf("asks for $%s, which Berth never gives a definition: it reads as unset", n)
		}
		cc.add(Capability{Kind: CapEnvVar, Subject: n, Text: text}, "")
	}
}
