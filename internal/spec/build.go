package spec

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// EnvBuildSecret is a build secret whose value comes from the variable
// name, holding value (for callers that make a Build themselves; a load
// fills it from its variables).
func EnvBuildSecret(id, name, value string) BuildSecret {
	return BuildSecret{ID: id, Env: name, value: &secretValue{v: value, set: true}}
}

// Value is the secret's content: the file read now, or the variable's
// value as the load found it.
func (s BuildSecret) Value() ([]byte, error) {
	switch {
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return nil, fmt.Errorf("build secret %s: %w", s.ID, err)
		}
		return b, nil
	case s.Env != "":
		if s.value == nil || !s.value.set {
			return nil, fmt.Errorf("build secret %s: the variable $%s is not set", s.ID, s.Env)
		}
		return []byte(s.value.v), nil
	}
	return nil, fmt.Errorf("build secret %s has neither a file nor a variable", s.ID)
}

// Build networks Berth honours: BuildKit runs RUN steps in the default
// network, in none, or in the host's.
func validBuildNetwork(n string) bool {
	switch n {
	case "", "default", "none", "host":
		return true
	}
	return false
}

// buildExtras fills what a build section says beyond context, Dockerfile,
// args, target and labels: the inline Dockerfile, network, cache, pull,
// named contexts, secrets and ssh. Problems are errors at their field.
func (z *normalizer) buildExtras(cp *types.Project, s types.ServiceConfig, b *Build) {
	sb := s.Build
	b.DockerfileInline = sb.DockerfileInline
	b.NoCache, b.Pull = sb.NoCache, sb.Pull
	switch {
	case !validBuildNetwork(sb.Network):
		z.errService(s.Name, []string{"build", "network"},
			fmt.Sprintf("build network %q is not supported: BuildKit runs build steps in the default network, in none or in host", sb.Network))
	case sb.Network != "default":
		b.Network = sb.Network
	}
	for i, e := range sb.CacheFrom {
		c, err := parseBuildCache(e, "src", cp.WorkingDir)
		if err != nil {
			z.errService(s.Name, []string{"build", "cache_from", fmt.Sprint(i)}, err.Error())
			continue
		}
		b.CacheFrom = append(b.CacheFrom, c)
	}
	for i, e := range sb.CacheTo {
		c, err := parseBuildCache(e, "dest", cp.WorkingDir)
		if err != nil {
			z.errService(s.Name, []string{"build", "cache_to", fmt.Sprint(i)}, err.Error())
			continue
		}
		b.CacheTo = append(b.CacheTo, c)
	}
	for _, name := range slices.Sorted(maps.Keys(sb.AdditionalContexts)) {
		v := sb.AdditionalContexts[name]
		switch {
		case filepath.IsAbs(v), strings.HasPrefix(v, "docker-image://") && len(v) > len("docker-image://"):
		case strings.HasPrefix(v, "service:"):
			z.errService(s.Name, []string{"build", "additional_contexts", name},
				fmt.Sprintf("additional context %s: %s is not supported by Berth yet (builds are not ordered after each other); use the other service's image as docker-image://IMAGE", name, v))
			continue
		default:
			z.errService(s.Name, []string{"build", "additional_contexts", name},
				fmt.Sprintf("additional context %s: %q is not supported by Berth yet (a folder or docker-image://REF is)", name, v))
			continue
		}
		if b.AdditionalContexts == nil {
			b.AdditionalContexts = map[string]string{}
		}
		b.AdditionalContexts[name] = v
	}
	seen := map[string]bool{}
	for i, ref := range sb.Secrets {
		at := []string{"build", "secrets", fmt.Sprint(i)}
		id := ref.Source
		if ref.Target != "" {
			id = ref.Target
		}
		def, ok := cp.Secrets[ref.Source]
		switch {
		case !ok:
			z.errService(s.Name, at, fmt.Sprintf("build secret %q is not defined under the top-level secrets", ref.Source))
			continue
		case seen[id]:
			z.errService(s.Name, at, fmt.Sprintf("build secret id %q is given twice", id))
			continue
		case def.File != "":
			b.Secrets = append(b.Secrets, BuildSecret{ID: id, File: def.File})
		case def.Environment != "":
			v, set := cp.Environment[def.Environment]
			b.Secrets = append(b.Secrets, BuildSecret{ID: id, Env: def.Environment, value: &secretValue{v: v, set: set}})
		default:
			z.errService(s.Name, at, fmt.Sprintf("build secret %q must come from a file or an environment variable (file: or environment: under the top-level secrets)", ref.Source))
			continue
		}
		seen[id] = true
	}
	slices.SortFunc(b.Secrets, func(x, y BuildSecret) int { return strings.Compare(x.ID, y.ID) })
	seen = map[string]bool{}
	for i, k := range sb.SSH {
		if seen[k.ID] {
			z.errService(s.Name, []string{"build", "ssh", fmt.Sprint(i)}, fmt.Sprintf("ssh id %q is given twice", k.ID))
			continue
		}
		seen[k.ID] = true
		p := k.Path
		if p != "" && !filepath.IsAbs(p) {
			p = filepath.Join(cp.WorkingDir, p)
		}
		b.SSH = append(b.SSH, BuildSSH{ID: k.ID, Path: p})
	}
	slices.SortFunc(b.SSH, func(x, y BuildSSH) int { return strings.Compare(x.ID, y.ID) })
}

// parseBuildCache reads a cache_from or cache_to entry as Compose writes
// it: "type=local,src=PATH" (comma-separated attributes), or an image
// reference alone, which is a registry cache. A local cache's path (its
// src or dest attribute, pathKey) is made absolute against dir.
func parseBuildCache(entry, pathKey, dir string) (BuildCache, error) {
	entry = strings.TrimSpace(entry)
	if entry == "" {
		return BuildCache{}, fmt.Errorf("empty cache entry")
	}
	if !strings.Contains(entry, "=") {
		return BuildCache{Type: "registry", Attrs: map[string]string{"ref": entry}}, nil
	}
	c := BuildCache{Attrs: map[string]string{}}
	for f := range strings.SplitSeq(entry, ",") {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return BuildCache{}, fmt.Errorf("cache entry %q: %q is not key=value", entry, f)
		}
		k = strings.TrimSpace(strings.ToLower(k))
		if k == "type" {
			c.Type = v
			continue
		}
		c.Attrs[k] = v
	}
	switch c.Type {
	case "":
		return BuildCache{}, fmt.Errorf("cache entry %q has no type (type=local, inline, registry...)", entry)
	case "local":
		p := c.Attrs[pathKey]
		if p == "" {
			return BuildCache{}, fmt.Errorf("cache entry %q: a local cache needs %s=FOLDER", entry, pathKey)
		}
		if !filepath.IsAbs(p) {
			c.Attrs[pathKey] = filepath.Join(dir, p)
		}
	}
	if len(c.Attrs) == 0 {
		c.Attrs = nil
	}
	return c, nil
}

// LocalPath is a local cache's folder (src or dest), or "".
func (c BuildCache) LocalPath() string {
	if c.Type != "local" {
		return ""
	}
	if p := c.Attrs["src"]; p != "" {
		return p
	}
	return c.Attrs["dest"]
}

// buildFileCaps adds what a build section can do beyond reading its
// context: run steps in the host's network, use the user's ssh agent,
// and read (or, for a cache, write) files outside the definition's
// folder. A secret's variable is an env-var capability (see
// LoadManifest).
func (cc *capCollector) buildFileCaps(f *fence, cp *types.Project, service string, b *types.BuildConfig, field []string) {
	at := func(rest ...string) []string { return append(slices.Clone(field), rest...) }
	if b.Network == "host" {
		cc.add(Capability{Kind: CapHostNamespace, Subject: service + ": build.network=host",
			Text: fmt.Sprintf("runs the build steps of %s in the host's network namespace", service)}, service, at("network")...)
	}
	// outside adds a file the build reads or writes outside the folder;
	// text has the path as {path} and the services as %[1]s.
	outside := func(p, subject, text string, rest ...string) {
		if in, _ := f.inside(p); in {
			return
		}
		cc.add(Capability{Kind: CapBuild, Subject: p + " (" + subject + ")", Outside: true,
			format: strings.ReplaceAll(text, "{path}", pct(p)) + ", outside the definition's folder"}, service, at(rest...)...)
	}
	for _, name := range slices.Sorted(maps.Keys(b.AdditionalContexts)) {
		if p := b.AdditionalContexts[name]; filepath.IsAbs(p) {
			outside(p, "context "+name, "builds the image of %[1]s with the folder {path} as its context "+pct(name), "additional_contexts", name)
		}
	}
	for _, ref := range b.Secrets {
		if p := cp.Secrets[ref.Source].File; p != "" {
			outside(p, "secret "+ref.Source, "gives the build of %[1]s the file {path} as a secret", "secrets")
		}
	}
	for _, k := range b.SSH {
		if k.Path == "" {
			cc.add(Capability{Kind: CapBuild, Subject: "ssh agent (SSH_AUTH_SOCK)",
				format: "lends your ssh agent ($SSH_AUTH_SOCK) to the build of %[1]s: its steps can sign in wherever your keys can"}, service, at("ssh")...)
			continue
		}
		outside(k.Path, "ssh "+k.ID, "lends the ssh key or agent {path} to the build of %[1]s", "ssh")
	}
	for _, e := range b.CacheFrom {
		if c, err := parseBuildCache(e, "src", cp.WorkingDir); err == nil && c.LocalPath() != "" {
			outside(c.LocalPath(), "build cache", "reads a build cache for %[1]s from {path}", "cache_from")
		}
	}
	for _, e := range b.CacheTo {
		if c, err := parseBuildCache(e, "dest", cp.WorkingDir); err == nil && c.LocalPath() != "" {
			outside(c.LocalPath(), "build cache, written", "writes the build cache of %[1]s to {path}", "cache_to")
		}
	}
}
