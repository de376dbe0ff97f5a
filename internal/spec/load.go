package spec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"
)

// LoadOptions say which environment to load a definition as, and what of
// the user's machine it may read.
type LoadOptions struct {
	// Name is the environment name; empty means the manifest's name. Another
	// name makes another environment from the same definition (berth up --as).
	Name string
	// Profiles are Compose profiles to enable on top of the manifest's.
	Profiles []string
	// Environment holds interpolation variables set by the user for this
	// load (local settings); they win over HostEnv, which wins over the
	// definition's .env file.
	Environment map[string]string
	// HostEnv are the variables of the user's environment the definition
	// may read: the caller passes only those the user granted. The process
	// environment is never read. Berth's own variables (BERTH_*) and the
	// loader's (COMPOSE_*) are dropped whatever is passed.
	HostEnv map[string]string
	// Reserved names more variables a definition may never read (the one
	// holding the repo token); they are shown as asked for and unset.
	Reserved []string
	// Granted are files and folders outside the definition's folder that
	// it may read or mount (absolute paths the user granted). Anything
	// else outside is not read: the load says what it needed (Blocked).
	Granted []string
	// Forbid are folders no definition may read or mount, granted or not
	// (Berth's data folder).
	Forbid []string
	// Revision is the commit the definition was read from, if known.
	Revision string
	// DigestKey keys the digests of secrets' and configs' contents
	// (HMAC-SHA256): they go into the configuration hash each container
	// carries on a label anyone with access to the engine reads, where a
	// plain hash of a short password could be checked against guesses.
	// nil: plain SHA-256 (tests and benchmarks).
	DigestKey []byte
	// Variant names one of the manifest's variants ("": none).
	Variant string
	// LocalDir is the user's checkout of the definition folder, for a load
	// of a materialised revision: the manifest's local files (an .env kept
	// out of Git) that the revision lacks are read from there.
	LocalDir string
	// PortMap moves published host ports: PortKey → the host port to use
	// instead (an environment's ports that were taken; see PortMove).
	PortMap map[string]int
	// Secret looks up a secret the manifest declares (nil: none is set).
	// Its values win over every other source of a variable; a required
	// one that is not set refuses the load (*MissingSecretsError).
	Secret func(name string) (value string, ok bool, err error)
	// SecretsOptional lets a load go on while required secrets are not
	// set: a trust review needs the capabilities, not the values.
	SecretsOptional bool
}

// LoadDefinition reads the definition in dir (berth.yaml and its Compose
// files) and returns the environment's desired state. Problems in the files
// come back as *Error or Errors naming file, line and field.
func LoadDefinition(ctx context.Context, dir string, opts LoadOptions) (*Project, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	return LoadManifest(ctx, m, opts)
}

// interpolationEnv is what compose-go interpolates with: a variant's
// values, the granted host variables over them, then the explicit ones,
// then the stored secrets; reserved names never, and a declared secret's
// name never from the host (a secret comes from the secret store only).
func interpolationEnv(opts LoadOptions, variant *Variant, secrets map[string]string, declared map[string]bool) map[string]string {
	env := map[string]string{}
	if variant != nil {
		for k, v := range variant.Environment {
			env[k] = v
		}
	}
	for k, v := range opts.HostEnv {
		if !reservedVar(k) && !containsString(opts.Reserved, k) && !declared[k] {
			env[k] = v
		}
	}
	for k, v := range opts.Environment {
		env[k] = v
	}
	for k, v := range secrets {
		env[k] = v
	}
	return env
}

// withVariant is m with the variant's Compose files after its own and its
// database sources in place; m itself is not changed.
func (m *Manifest) withVariant(name string, v *Variant, f *fence) (*Manifest, error) {
	if v == nil {
		return m, nil
	}
	files, err := m.variantFiles(name, v, f)
	if err != nil {
		return nil, err
	}
	out := *m
	out.ComposeFiles = append(slices.Clone(m.ComposeFiles), files...)
	out.Databases = slices.Clone(m.Databases)
	for i, db := range out.Databases {
		if src, ok := v.Databases[db.Service]; ok {
			out.Databases[i].Source = src
		}
	}
	return &out, nil
}

// secretValues looks up the manifest's secrets: the values of those set,
// or a *MissingSecretsError naming the required ones that are not.
func secretValues(m *Manifest, env string, lookup func(string) (string, bool, error), optional bool) (map[string]string, error) {
	out := map[string]string{}
	var missing []ManifestSecret
	for _, s := range m.Secrets {
		var v string
		var ok bool
		if lookup != nil {
			var err error
			if v, ok, err = lookup(s.Name); err != nil {
				return nil, fmt.Errorf("secret %s: %w", s.Name, err)
			}
		}
		switch {
		case ok:
			out[s.Name] = v
		case optional:
			out[s.Name] = "" // a review load: the value does not matter
		case s.IsRequired():
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 && !optional {
		return nil, &MissingSecretsError{Definition: filepath.Base(m.Dir), Env: env, Missing: missing}
	}
	return out, nil
}

// LoadManifest is LoadDefinition for a manifest already read.
//
// A definition is untrusted input. Its Compose files are parsed first and
// checked against a budget (size, YAML aliases); the files they name
// through include and extends, its env files, bind sources and build
// contexts are checked against the definition's folder before anything
// reads them: a file outside it is read only when granted (LoadOptions.
// Granted), else the load stops short of it and the project comes back
// Blocked, with its capabilities, and must not run. The project's
// Capabilities say what it can do on this machine beyond running its own
// containers; the caller decides whether the user trusts that.
func LoadManifest(ctx context.Context, m *Manifest, opts LoadOptions) (*Project, error) {
	name := opts.Name
	if name == "" {
		name = m.Name
	}
	if err := ValidateName(name); err != nil {
		return nil, fmt.Errorf("environment name: %w", err)
	}
	variant, err := m.Variant(opts.Variant)
	if err != nil {
		return nil, err
	}
	local, localNames := m.localFiles(opts.LocalDir)
	granted := opts.Granted
	if len(local) > 0 {
		granted = slices.Clone(granted)
		for _, src := range local {
			granted = append(granted, src) // the checkout's own copy, by name
		}
	}
	f := newFence(m.Dir, granted, opts.Forbid)
	if m, err = m.withVariant(opts.Variant, variant, f); err != nil {
		return nil, err
	}
	dotEnv := filepath.Join(m.Dir, ".env")
	if src, ok := local[dotEnv]; ok {
		dotEnv = src
	}
	profiles := mergeProfiles(m.Profiles, opts.Profiles)
	if variant != nil {
		profiles = mergeProfiles(profiles, variant.Profiles)
	}
	secrets, err := secretValues(m, name, opts.Secret, opts.SecretsOptional)
	if err != nil {
		return nil, err
	}
	for _, cf := range m.ComposeFiles {
		if e := f.own(cf, "Compose file"); e != nil {
			return nil, e
		}
	}
	if e := f.own(filepath.Join(m.Dir, ".env"), ".env file"); e != nil {
		return nil, e
	}
	for _, db := range m.Databases {
		if db.Source != nil && db.Source.Seed != "" {
			if e := f.own(filepath.Join(m.Dir, filepath.FromSlash(db.Source.Seed)), "seed"); e != nil {
				return nil, e
			}
		}
	}

	// The Compose files are parsed for positions, the budget and the
	// files they name before compose-go reads anything; walking them for
	// keys Berth does not support runs beside compose-go's load.
	src := parseSources(m.Dir, m.ComposeFiles)
	for _, sf := range src.files {
		if sf.fatal != nil {
			return nil, sf.fatal
		}
	}
	// A declared secret comes from the secret store, set or not: the
	// definition does not read that variable from the user's environment
	// (so the capability list, and the trust given to it, do not change
	// when a secret is set). A variant's value does not count: what the
	// user grants wins over it, so its variables stay capabilities.
	provided := map[string]bool{}
	for _, s := range m.Secrets {
		provided[s.Name] = true
	}
	env := interpolationEnv(opts, variant, secrets, provided)
	scan := &refScan{f: f, env: withDotEnv(dotEnv, env), vars: map[string]bool{}, visited: map[string]bool{}}
	for _, sf := range src.files {
		scan.file(sf, m.Dir, 0, true)
	}
	if scan.err != nil {
		return nil, scan.err
	}
	envFileVars(dotEnv, scan.vars)
	caps := newCapCollector(src)
	caps.includeCapabilities(f, scan.refs)
	caps.databaseCapabilities(m)
	hostEnv := map[string]string{}
	for k, v := range opts.HostEnv {
		if !reservedVar(k) && !containsString(opts.Reserved, k) {
			hostEnv[k] = v
		}
	}
	base := &Project{HostEnv: hostEnv, Name: name, Definition: filepath.Base(m.Dir), Description: m.Description, Dir: m.Dir,
		ComposeFiles: append([]string{}, m.ComposeFiles...), Revision: opts.Revision, Profiles: profiles,
		Health: m.Health, Drift: m.Drift, Variant: opts.Variant, SecretNames: slices.Sorted(maps.Keys(secrets)), Services: []Service{}, Networks: []Network{}, Volumes: []Volume{}}
	if len(f.blocked) > 0 {
		// An include or extends leads outside and is not granted: compose-go
		// would read it, so nothing more is loaded.
		caps.envCapabilities(capVars(scan.vars, opts, provided))
		base.Capabilities = caps.list()
		base.Blocked = f.blocked
		return base, nil
	}

	type sideWork struct{ warnings []Warning }
	sidec := make(chan sideWork, 1)
	go func() {
		var w sideWork
		for _, f := range src.files {
			if f.err == nil {
				w.warnings = append(w.warnings, unsupportedKeys(f)...)
				w.warnings = append(w.warnings, projectNameWarning(f, name)...)
			}
		}
		for _, f := range scan.parsed {
			if f.err == nil && f.fatal == nil {
				w.warnings = append(w.warnings, scan.checkedKeys(f)...)
			}
		}
		sidec <- w
	}()

	cp, err := loadCompose(ctx, m.Dir, m.ComposeFiles, name, profiles, env, scan.vars, local[filepath.Join(m.Dir, ".env")])
	side := <-sidec
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, src.mapComposeError(err)
	}
	// Env and label files are read only once the fence lets them; values
	// a service takes from the environment by name are variables too.
	readable := true
	for _, sname := range slices.Sorted(maps.Keys(cp.Services)) {
		s := cp.Services[sname]
		for k, v := range s.Environment {
			if v == nil {
				scan.vars[k] = true
			}
		}
		if s.Build != nil {
			// a build secret's variable is read from the environment
			for _, ref := range s.Build.Secrets {
				if env := cp.Secrets[ref.Source].Environment; env != "" {
					scan.vars[env] = true
				}
			}
		}
		for i, ef := range s.EnvFiles {
			if src, ok := local[filepath.Clean(ef.Path)]; ok {
				ef.Path = src // kept out of Git: read from the checkout
				s.EnvFiles[i] = ef
			}
			ok, err := f.may(ef.Path)
			if err != nil {
				return nil, src.errorAt([]string{"services", sname, "env_file"}, err.Error(), err)
			}
			if ok {
				envFileVars(ef.Path, scan.vars)
			}
			readable = readable && ok
		}
		for _, lf := range s.LabelFiles {
			ok, err := f.may(lf)
			if err != nil {
				return nil, src.errorAt([]string{"services", sname, "label_file"}, err.Error(), err)
			}
			readable = readable && ok
		}
	}
	// A secret or config read from a variable reads the user's
	// environment like interpolation does.
	for _, o := range cp.Secrets {
		if o.Environment != "" {
			scan.vars[o.Environment] = true
		}
	}
	for _, o := range cp.Configs {
		if o.Environment != "" {
			scan.vars[o.Environment] = true
		}
	}
	caps.serviceCapabilities(cp, f)
	caps.resourceCapabilities(cp, f)
	caps.envCapabilities(capVars(scan.vars, opts, provided))
	if readable {
		if cp, err = cp.WithServicesEnvironmentResolved(false); err == nil {
			cp, err = cp.WithServicesLabelsResolved(false)
		}
		if err != nil {
			return nil, src.mapComposeError(err)
		}
	}

	z := &normalizer{src: src, warnUnsupported: m.WarnUnsupported()}
	p := z.project(cp)
	p.Name = base.Name
	p.HostEnv = base.HostEnv
	p.Definition = base.Definition
	p.Description = base.Description
	p.Dir = base.Dir
	p.ComposeFiles = base.ComposeFiles
	p.Revision = base.Revision
	p.Profiles = base.Profiles
	p.Health = base.Health
	p.Drift = base.Drift
	p.Variant = base.Variant
	p.SecretNames = base.SecretNames
	p.PinnedPorts = m.Ports
	p.LocalFiles = localNames
	p.PortMoves = applyPortMap(p, opts.PortMap)

	errs := z.errs
	errs = append(errs, checkManifestRefs(m, cp)...)
	errs = append(errs, watchRules(f, src, cp, p)...)
	var notes []Warning
	for _, w := range side.warnings {
		switch {
		case inDisabledService(w.Field, cp.DisabledServices):
		case !w.unsupported:
			notes = append(notes, w)
		case m.WarnUnsupported():
			w.Message += "; ignored"
			notes = append(notes, w)
		default:
			errs = append(errs, &Error{File: w.File, Line: w.Line, Field: w.Field,
				Message: w.Message + " (remove it, or set compose: {unsupported: warn} in " + ManifestFile + " to read past it)"})
		}
	}
	errs = append(errs, readFileObjects(f, src, p, withDotEnv(dotEnv, env), opts.DigestKey)...)
	for _, db := range m.Databases {
		if _, ok := cp.Services[db.Service]; ok {
			p.Databases = append(p.Databases, projectDatabase(m, p, db))
		}
	}

	hasher := &buildHasher{}
	mounts := &mountHasher{dir: p.Dir}
	for i := range p.Services {
		s := &p.Services[i]
		if s.Build != nil {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if ok, e := f.buildReadable(src, s); e != nil {
				errs = append(errs, e)
				continue
			} else if !ok {
				continue // blocked: not read, not hashed
			}
			if e := checkBuildContext(src, s); e != nil {
				errs = append(errs, e)
				continue
			}
			bh, err := hasher.hash(ctx, s.Build)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				errs = append(errs, src.errorAt([]string{"services", s.Name, "build"}, "hashing the build context: "+err.Error(), err))
				continue
			}
			s.BuildHash = bh
		}
		if ok, e := f.mountsReadable(src, *s); e != nil {
			errs = append(errs, e)
			continue
		} else if !ok {
			continue
		}
		view, err := mounts.hashView(ctx, *s)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, src.errorAt([]string{"services", s.Name, "volumes"}, "hashing a bind mount: "+err.Error(), err))
			continue
		}
		s.Hash = ServiceHash(view)
	}
	if len(errs) > 0 {
		return nil, errs.orNil()
	}

	warnings := append(z.warnings, notes...)
	for _, f := range src.files {
		if f.err != nil {
			// compose-go read it, yaml.v3 could not: say what was not checked
			warnings = append(warnings, Warning{File: f.display(), Message: "could not check for keys Berth does not support: " + f.err.Error()})
		}
	}
	p.Warnings = sortWarnings(warnings, src)
	for i := range p.Services {
		s := &p.Services[i]
		var files []string
		if cs, ok := cp.Services[s.Name]; ok {
			for _, ef := range cs.EnvFiles {
				if ok, _ := f.inside(ef.Path); ok || readable {
					files = append(files, ef.Path)
				}
			}
		}
		s.Interpolated = interpolatedKeys(src, *s, files, hostEnv)
	}
	p.Capabilities = caps.list()
	p.Blocked = f.blocked
	return p, nil
}

// withDotEnv is env over the definition's .env file, as compose-go
// interpolates (the file was checked to be the definition's own).
func withDotEnv(p string, env map[string]string) map[string]string {
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() || fi.Size() > maxDefinitionFile {
		return env
	}
	fromFile, err := dotenv.GetEnvFromFile(env, []string{p})
	if err != nil {
		return env
	}
	out := make(map[string]string, len(env)+len(fromFile))
	for k, v := range fromFile {
		out[k] = v
	}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// capVars are the variables a definition reads from the user's
// environment: those it interpolates or takes by name, less those the
// load's explicit values (local settings) provide.
func capVars(vars map[string]bool, opts LoadOptions, provided map[string]bool) []string {
	var out []string
	for _, v := range sortedVars(vars) {
		if _, set := opts.Environment[v]; set || provided[v] {
			continue
		}
		out = append(out, v)
	}
	return out
}

// buildReadable checks a service's build context and Dockerfile against
// the fence: they are read (hashed, sent to the engine) only when they
// may be. A remote context reads nothing here. So are the other files a
// build reads or writes: named context folders, secret files, ssh keys
// or sockets named by path, and local cache folders.
func (f *fence) buildReadable(src *sources, s *Service) (bool, *Error) {
	b := s.Build
	ok, e := f.buildFilesReadable(src, s)
	if e != nil || !filepath.IsAbs(b.Context) {
		return ok, e
	}
	cok, err := f.may(b.Context)
	if err != nil {
		return false, src.errorAt([]string{"services", s.Name, "build", "context"}, err.Error(), err)
	}
	ok = ok && cok
	if b.DockerfileInline != "" {
		return ok, nil
	}
	df := b.Dockerfile
	if !filepath.IsAbs(df) {
		df = filepath.Join(b.Context, df)
	}
	if within(evalExisting(b.Context), evalExisting(df)) {
		return ok, nil // read with its context, granted with it
	}
	dok, err := f.may(df)
	if err != nil {
		return false, src.errorAt([]string{"services", s.Name, "build", "dockerfile"}, err.Error(), err)
	}
	return ok && dok, nil
}

// buildFilesReadable checks the files of a build beyond its context and
// Dockerfile against the fence.
func (f *fence) buildFilesReadable(src *sources, s *Service) (bool, *Error) {
	b := s.Build
	all := true
	check := func(p string, field ...string) *Error {
		ok, err := f.may(p)
		if err != nil {
			return src.errorAt(append([]string{"services", s.Name, "build"}, field...), err.Error(), err)
		}
		all = all && ok
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(b.AdditionalContexts)) {
		if v := b.AdditionalContexts[name]; filepath.IsAbs(v) {
			if e := check(v, "additional_contexts", name); e != nil {
				return false, e
			}
		}
	}
	for _, sec := range b.Secrets {
		if sec.File != "" {
			if e := check(sec.File, "secrets"); e != nil {
				return false, e
			}
		}
	}
	for _, k := range b.SSH {
		if k.Path != "" {
			if e := check(k.Path, "ssh"); e != nil {
				return false, e
			}
		}
	}
	for _, caches := range []struct {
		key  string
		list []BuildCache
	}{{"cache_from", b.CacheFrom}, {"cache_to", b.CacheTo}} {
		for _, c := range caches.list {
			if p := c.LocalPath(); p != "" {
				if e := check(p, caches.key); e != nil {
					return false, e
				}
			}
		}
	}
	return all, nil
}

// mountsReadable checks a service's bind sources against the fence (a
// read-only one is hashed by content, and every one is mounted).
func (f *fence) mountsReadable(src *sources, s Service) (bool, *Error) {
	all := true
	for _, m := range s.Mounts {
		if m.Type != MountBind {
			continue
		}
		ok, err := f.may(m.Source)
		if err != nil {
			return false, src.errorAt([]string{"services", s.Name, "volumes"}, err.Error(), err)
		}
		all = all && ok
	}
	return all, nil
}

// inDisabledService reports whether field lies under a service that
// profiles leave out: what does not run needs no warning.
func inDisabledService(field string, disabled types.Services) bool {
	rest, ok := strings.CutPrefix(field, "services.")
	if !ok {
		return false
	}
	for name := range disabled {
		if after, ok := strings.CutPrefix(rest, name); ok && (after == "" || after[0] == '.' || after[0] == '[') {
			return true
		}
	}
	return false
}

// loadCompose runs compose-go over the files. Environment files and label
// files are not read here (the caller checks them first); every variable
// compose-go looks up is added to vars.
func loadCompose(ctx context.Context, dir string, files []string, name string, profiles []string, env map[string]string, vars map[string]bool, dotEnv string) (*types.Project, error) {
	o, err := composeOptions(dir, files, name, profiles, env, vars, dotEnv)
	if err != nil {
		return nil, err
	}
	return o.LoadProject(ctx)
}

// composeOptions are the compose-go options Berth loads with: the
// environment name as project name, the definition folder as working
// directory, interpolation from the given variables (never the process
// environment) and the folder's .env, paths made absolute, and services'
// env and label files left for the caller to read.
//
// dotEnv, when set, is the .env file to read instead of the folder's (a
// local one, from the user's checkout).
func composeOptions(dir string, files []string, name string, profiles []string, env map[string]string, vars map[string]bool, dotEnv string) (*cli.ProjectOptions, error) {
	envFiles := cli.WithEnvFiles()
	if dotEnv != "" {
		envFiles = cli.WithEnvFiles(dotEnv)
	}
	var mu sync.Mutex
	return cli.NewProjectOptions(files,
		func(o *cli.ProjectOptions) error {
			for k, v := range env {
				o.Environment[k] = v
			}
			return nil
		},
		cli.WithName(name),
		cli.WithWorkingDirectory(dir),
		envFiles,
		cli.WithDotEnv,
		cli.WithProfiles(profiles),
		cli.WithResolvedPaths(true),
		cli.WithLoadOptions(func(lo *loader.Options) {
			lo.SkipResolveEnvironment = true
			lo.SkipResolveLabels = true
			if lo.Interpolate != nil && vars != nil {
				lookup := lo.Interpolate.LookupValue
				lo.Interpolate.LookupValue = func(k string) (string, bool) {
					mu.Lock()
					vars[k] = true
					mu.Unlock()
					return lookup(k)
				}
			}
		}),
	)
}

func mergeProfiles(lists ...[]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, p := range l {
			if p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// checkManifestRefs checks that the services the manifest names exist.
func checkManifestRefs(m *Manifest, cp *types.Project) Errors {
	var errs Errors
	defined := func(s string) bool {
		_, ok := cp.Services[s]
		_, off := cp.DisabledServices[s]
		return ok || off
	}
	var all []string
	for n := range cp.Services {
		all = append(all, n)
	}
	for n := range cp.DisabledServices {
		all = append(all, n)
	}
	sort.Strings(all)
	files := composeNames(m)
	for i, db := range m.Databases {
		if !defined(db.Service) {
			errs = append(errs, m.errorAt(fmt.Sprintf("databases[%d].service", i),
				"service %q is not defined in %s%s", db.Service, files, didYouMean(db.Service, all)))
			continue
		}
		s, ok := cp.Services[db.Service]
		if !ok {
			continue // a disabled profile's service: nothing runs it
		}
		var named []string
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				named = append(named, v.Source)
			}
		}
		f := fmt.Sprintf("databases[%d].volume", i)
		switch {
		case db.Volume != "" && !slices.Contains(named, db.Volume):
			errs = append(errs, m.errorAt(f, "service %q mounts no named volume %q%s", db.Service, db.Volume, didYouMean(db.Volume, named)))
		case db.Volume == "" && db.Source != nil && dataVolume(s, db.Engine) == "":
			errs = append(errs, m.errorAt(fmt.Sprintf("databases[%d].source", i),
				"service %q mounts no named volume at %s, so there is nowhere to put the clone: mount one there, or name it with volume:", db.Service, dataDir(s, db.Engine)))
		}
	}
	if m.Drift != nil {
		for _, s := range slices.Sorted(maps.Keys(m.Drift.Services)) {
			if !defined(s) {
				errs = append(errs, m.errorAt("drift.services."+s,
					"service %q is not defined in %s%s", s, files, didYouMean(s, all)))
			}
		}
		for i, r := range m.Drift.Ignore {
			if r.Service != "" && !defined(r.Service) {
				errs = append(errs, m.errorAt(fmt.Sprintf("drift.ignore[%d].service", i),
					"service %q is not defined in %s%s", r.Service, files, didYouMean(r.Service, all)))
			}
		}
	}
	return errs
}

// pgData is where a PostgreSQL service keeps its data: its PGDATA, else
// the images' default; for MariaDB the image's fixed data folder.
func dataDir(s types.ServiceConfig, engine string) string {
	if engine == EngineMariaDB {
		return DefaultMariaDBData
	}
	if v, ok := s.Environment["PGDATA"]; ok && v != nil && *v != "" {
		return path.Clean(*v)
	}
	return DefaultPGData
}

// dataVolume is the key of the named volume s mounts at its data folder
// (or at a parent of it), "" when none.
func dataVolume(s types.ServiceConfig, engine string) string {
	dir := dataDir(s, engine)
	best, bestLen := "", -1
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeVolume || v.Source == "" {
			continue
		}
		t := path.Clean(v.Target)
		if (t == dir || strings.HasPrefix(dir, t+"/")) && len(t) > bestLen {
			best, bestLen = v.Source, len(t)
		}
	}
	return best
}

// projectDatabase resolves a manifest database against the loaded
// project: the seed's absolute path and the volume holding the data.
func projectDatabase(m *Manifest, p *Project, db ManifestDatabase) Database {
	out := Database{Service: db.Service, Engine: db.Engine}
	if db.Source != nil {
		src := *db.Source
		if src.Seed != "" {
			src.Seed = filepath.Join(m.Dir, filepath.FromSlash(src.Seed))
		}
		out.Source = &src
	}
	out.VolumeKey = db.Volume
	var svc *Service
	for i := range p.Services {
		if p.Services[i].Name == db.Service {
			svc = &p.Services[i]
		}
	}
	if svc == nil {
		return out
	}
	dir := DefaultPGData
	if db.Engine == EngineMariaDB {
		dir = DefaultMariaDBData
	} else if v := svc.Environment["PGDATA"]; v != "" {
		dir = path.Clean(v)
	}
	bestLen := -1
	for _, mt := range svc.Mounts {
		if mt.Type != MountVolume {
			continue
		}
		t := path.Clean(mt.Target)
		switch {
		case db.Volume != "" && mt.Source == db.Volume:
			out.DataDir = t
			bestLen = 1 << 30
		case db.Volume == "" && (t == dir || strings.HasPrefix(dir, t+"/")) && len(t) > bestLen:
			out.VolumeKey, out.DataDir, bestLen = mt.Source, t, len(t)
		}
	}
	if v := p.Volume(out.VolumeKey); v != nil && out.VolumeKey != "" {
		out.Volume = v.Name
	}
	return out
}

// composeNames names the Compose files for messages ("compose.yaml", or
// "compose.yaml or compose.dev.yaml").
func composeNames(m *Manifest) string {
	names := make([]string, len(m.ComposeFiles))
	for i, f := range m.ComposeFiles {
		if rel, err := filepath.Rel(m.Dir, f); err == nil {
			names[i] = filepath.ToSlash(rel)
		} else {
			names[i] = f
		}
	}
	return strings.Join(names, " or ")
}

// checkBuildContext reports a local build context or Dockerfile that is
// missing.
func checkBuildContext(src *sources, s *Service) *Error {
	b := s.Build
	if !filepath.IsAbs(b.Context) {
		return nil // remote
	}
	fi, err := os.Stat(b.Context)
	if err != nil || !fi.IsDir() {
		msg := fmt.Sprintf("build context %q is not a folder", displayPath(b.Context))
		if errors.Is(err, fs.ErrNotExist) {
			msg = fmt.Sprintf("build context %q not found", displayPath(b.Context))
		}
		return src.errorAt([]string{"services", s.Name, "build", "context"}, msg, err)
	}
	for _, name := range slices.Sorted(maps.Keys(b.AdditionalContexts)) {
		v := b.AdditionalContexts[name]
		if !filepath.IsAbs(v) {
			continue
		}
		if fi, err := os.Stat(v); err != nil || !fi.IsDir() {
			return src.errorAt([]string{"services", s.Name, "build", "additional_contexts", name},
				fmt.Sprintf("additional context %s: %q is not a folder", name, displayPath(v)), err)
		}
	}
	if b.DockerfileInline != "" {
		return nil
	}
	df := b.Dockerfile
	if !filepath.IsAbs(df) {
		df = filepath.Join(b.Context, df)
	}
	if _, err := os.Stat(df); err != nil {
		return src.errorAt([]string{"services", s.Name, "build", "dockerfile"},
			fmt.Sprintf("Dockerfile %q not found", displayPath(df)), err)
	}
	return nil
}

// projectNameWarning warns about a top-level name that the environment
// name overrides.
func projectNameWarning(f *yamlFile, env string) []Warning {
	loc := f.locate([]string{"name"})
	if !loc.found || loc.node == nil || loc.node.Kind != yaml.ScalarNode {
		return nil
	}
	v := loc.node.Value
	if v == env || strings.Contains(v, "$") {
		return nil
	}
	return []Warning{{File: f.display(), Line: loc.line, Field: "name",
		Message: fmt.Sprintf("ignored: the Compose project is named after the environment, %q, not %q", env, v)}}
}

// sortWarnings orders warnings by file (in load order), line and field,
// dropping duplicates.
func sortWarnings(ws []Warning, src *sources) []Warning {
	order := map[string]int{}
	for i, f := range src.files {
		order[f.display()] = i
	}
	sort.SliceStable(ws, func(i, j int) bool {
		a, b := ws[i], ws[j]
		if order[a.File] != order[b.File] {
			return order[a.File] < order[b.File]
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Field < b.Field
	})
	var out []Warning
	for i, w := range ws {
		if i > 0 && w.File == ws[i-1].File && w.Line == ws[i-1].Line && w.Field == ws[i-1].Field {
			continue
		}
		out = append(out, w)
	}
	return out
}

// LoadComposeOnly loads a definition's Compose files with compose-go alone,
// with the options LoadDefinition uses, and discards the result. It exists
// for benchmarks: the difference from LoadDefinition is Berth's own cost.
func LoadComposeOnly(ctx context.Context, dir string) error {
	m, err := ReadManifest(dir)
	if err != nil {
		return err
	}
	_, err = loadCompose(ctx, m.Dir, m.ComposeFiles, m.Name, m.Profiles, nil, nil, "")
	return err
}
