package spec

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"go.yaml.in/yaml/v4"
)

// ManifestFile is the name of a definition's manifest.
const ManifestFile = "berth.yaml"

// DefaultComposeFiles are the Compose files a definition uses when its
// manifest names none, in order of preference: the first that exists wins,
// as with docker compose.
var DefaultComposeFiles = slices.Clone(cli.DefaultFileNames)

// DefaultOverrideFiles are the override files read after the default
// Compose file when the manifest names none: the first that exists, as
// docker compose reads docker-compose.override.yml.
var DefaultOverrideFiles = slices.Clone(cli.DefaultOverrideFileNames)

// What a load does with a Compose key Berth does not act on.
const (
	UnsupportedError = "error" // refuse the definition (the default)
	UnsupportedWarn  = "warn"  // warn and read past the key
)

// ComposeSettings are the manifest's compose key: the files to load and
// what to do with keys Berth does not support. In berth.yaml it is either
// a list of files (or one file name) or a mapping with files and
// unsupported.
type ComposeSettings struct {
	// Files are the Compose files, relative to the definition folder.
	Files []string `yaml:"files,omitempty" json:"files,omitempty"`
	// Unsupported is error (the default) or warn.
	Unsupported string `yaml:"unsupported,omitempty" json:"unsupported,omitempty"`
}

var composeSettingsType = reflect.TypeOf(ComposeSettings{})

// WarnUnsupported reports whether the definition asked for warnings, not
// errors, about Compose keys Berth does not support.
func (m *Manifest) WarnUnsupported() bool {
	return m != nil && m.Compose.Unsupported == UnsupportedWarn
}

// composeFileField is the manifest field of the i-th Compose file.
func (m *Manifest) composeFileField(i int) string {
	if _, mapping := m.lines["compose.files"]; mapping {
		return fmt.Sprintf("compose.files[%d]", i)
	}
	return fmt.Sprintf("compose[%d]", i)
}

// Database engines.
const (
	EnginePostgres = "postgres"
	EngineMySQL    = "mysql"
	EngineMariaDB  = "mariadb"
)

// Drift policies: what Berth does when a running environment differs from
// its definition.
const (
	DriftWarn   = "warn"   // report the drift (the default)
	DriftHeal   = "heal"   // put the environment back as defined
	DriftIgnore = "ignore" // do not report it
)

// DefaultHealthTimeout is how long a deploy waits for services to become
// healthy when the manifest does not say.
const DefaultHealthTimeout = 2 * time.Minute

// Manifest is a definition's berth.yaml: a small file next to ordinary
// Compose files that names the definition and says what Compose cannot
// (which services hold databases, how to treat drift).
//
// The yaml tags are the file's keys; docs/berth.schema.json mirrors them
// and a test keeps the two equal.
type Manifest struct {
	// Name is the definition's default environment name.
	Name        string          `yaml:"name" json:"name"`
	Description string          `yaml:"description,omitempty" json:"description,omitempty"`
	Compose     ComposeSettings `yaml:"compose,omitempty" json:"compose,omitempty"`
	// Profiles are Compose profiles to enable.
	Profiles  []string           `yaml:"profiles,omitempty" json:"profiles,omitempty"`
	Databases []ManifestDatabase `yaml:"databases,omitempty" json:"databases,omitempty"`
	Health    *HealthSettings    `yaml:"health,omitempty" json:"health,omitempty"`
	Drift     *DriftSettings     `yaml:"drift,omitempty" json:"drift,omitempty"`
	// Secrets are the values the definition needs that never enter Git:
	// each is set per user (berth secret set) and interpolated like a
	// variable, or read by a Compose secret's environment source.
	Secrets []ManifestSecret `yaml:"secrets,omitempty" json:"secrets,omitempty"`
	// Local are files kept out of Git (an .env, an env_file) that a load at
	// a revision reads from the user's checkout of the definition when the
	// revision does not have them (LoadOptions.LocalDir).
	Local []string `yaml:"local,omitempty" json:"local,omitempty"`
	// Variants are named ways to run the definition (dev, review...).
	Variants map[string]Variant `yaml:"variants,omitempty" json:"variants,omitempty"`
	// Ports say which published host ports stay as written even when
	// they are taken (by default a taken one moves to a free port).
	Ports *PortSettings `yaml:"ports,omitempty" json:"ports,omitempty"`

	// Path is the absolute path of the berth.yaml file.
	Path string `yaml:"-" json:"-"`
	// Dir is the absolute path of the definition folder.
	Dir string `yaml:"-" json:"-"`
	// ComposeFiles are the absolute paths of the Compose files to load, in
	// order: Compose as given, or the first default file that exists.
	ComposeFiles []string `yaml:"-" json:"-"`

	lines map[string]int // field → line, for errors found after parsing
}

// ManifestSecret declares a secret the definition needs.
type ManifestSecret struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Required (the default) refuses up and deploy while it is not set.
	Required *bool `yaml:"required,omitempty" json:"required,omitempty"`
}

// IsRequired says whether up and deploy refuse to run without it.
func (s ManifestSecret) IsRequired() bool { return s.Required == nil || *s.Required }

// Variant is one named way to run a definition: more Compose files,
// profiles, variable values and database sources on top of it.
type Variant struct {
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Compose are more Compose files, read after the definition's.
	Compose  []string `yaml:"compose,omitempty" json:"compose,omitempty"`
	Profiles []string `yaml:"profiles,omitempty" json:"profiles,omitempty"`
	// Environment are variable values, over the definition's .env and
	// under what the user sets.
	Environment map[string]string `yaml:"environment,omitempty" json:"environment,omitempty"`
	// Databases replace the source of a database, by service.
	Databases map[string]*DatabaseSource `yaml:"databases,omitempty" json:"databases,omitempty"`
}

// PortSettings pin published host ports.
type PortSettings struct {
	// Pin lists services ("web") or single published ports
	// ("web:8080") that never move: up fails when one is taken.
	Pin []string `yaml:"pin,omitempty" json:"pin,omitempty"`
}

// Pinned says whether service's published host port is pinned.
func (p *PortSettings) Pinned(service string, hostPort string) bool {
	if p == nil {
		return false
	}
	return slices.Contains(p.Pin, service) || slices.Contains(p.Pin, service+":"+hostPort)
}

// VariantNames are the manifest's variants, sorted.
func (m *Manifest) VariantNames() []string { return slices.Sorted(maps.Keys(m.Variants)) }

// ManifestDatabase says that a service holds a database, where the data
// of a new environment's copy comes from and which volume holds it.
type ManifestDatabase struct {
	Service string `yaml:"service" json:"service"`
	Engine  string `yaml:"engine" json:"engine"`
	// Source is where a new clone's data comes from (nil: the database
	// starts empty, as the image initialises it).
	Source *DatabaseSource `yaml:"source,omitempty" json:"source,omitempty"`
	// Volume is the key of the named Compose volume holding the data;
	// empty: the named volume the service mounts at its PGDATA
	// (/var/lib/postgresql/data by default; /var/lib/mysql for mariadb).
	Volume string `yaml:"volume,omitempty" json:"volume,omitempty"`
}

// DatabaseSource is where a database clone comes from: exactly one of
// Seed, URL, Env and Snapshot.
type DatabaseSource struct {
	// Seed is a dump in the definition folder (plain SQL, custom or
	// directory format; .gz or .zst compressed), relative to it. MariaDB
	// takes plain SQL only (mariadb-dump's output, maybe compressed).
	Seed string `yaml:"seed,omitempty" json:"seed,omitempty"`
	// SHA256 is the seed's checksum (hex), verified before it is used.
	SHA256 string `yaml:"sha256,omitempty" json:"sha256,omitempty"`
	// URL names the environment variable holding a live database's URL;
	// the URL itself (and its credentials) never goes into Git.
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	// Env is another environment whose database is copied.
	Env string `yaml:"env,omitempty" json:"env,omitempty"`
	// Snapshot is a named snapshot to start from.
	Snapshot string `yaml:"snapshot,omitempty" json:"snapshot,omitempty"`
}

// ParseDatabaseSource reads a source the way a person gives one on a
// command line or in a form: seed:PATH (relative to the definition's
// folder unless absolute), url:VAR, env:NAME or snapshot:NAME. "" is no
// source (nil): the manifest's.
func ParseDatabaseSource(text string) (*DatabaseSource, error) {
	if text == "" {
		return nil, nil
	}
	kind, val, _ := strings.Cut(text, ":")
	var ds DatabaseSource
	switch {
	case val == "":
	case kind == "seed":
		ds.Seed = val
	case kind == "url":
		ds.URL = val
	case kind == "env":
		ds.Env = val
	case kind == "snapshot":
		ds.Snapshot = val
	}
	if ds.Kind() == "" {
		return nil, fmt.Errorf("source %q: use seed:PATH, url:VAR, env:NAME or snapshot:NAME", text)
	}
	return &ds, nil
}

// Kind is the source's kind: seed, url, env or snapshot ("" when none is
// set).
func (s *DatabaseSource) Kind() string {
	switch {
	case s == nil:
		return ""
	case s.Seed != "":
		return "seed"
	case s.URL != "":
		return "url"
	case s.Env != "":
		return "env"
	case s.Snapshot != "":
		return "snapshot"
	}
	return ""
}

// HealthSettings tune how Berth waits for services to be healthy.
type HealthSettings struct {
	// Timeout is how long a deploy waits for health (default 2m).
	Timeout time.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// DriftSettings say how Berth treats drift.
type DriftSettings struct {
	// Policy applies to every service without its own (default warn).
	Policy   string                          `yaml:"policy,omitempty" json:"policy,omitempty"`
	Services map[string]DriftServiceSettings `yaml:"services,omitempty" json:"services,omitempty"`
	Ignore   []DriftIgnoreRule               `yaml:"ignore,omitempty" json:"ignore,omitempty"`
}

// DriftServiceSettings override the drift policy for one service.
type DriftServiceSettings struct {
	Policy string `yaml:"policy,omitempty" json:"policy,omitempty"`
}

// DriftIgnoreRule names a field whose drift does not matter: Path is a
// JSON pointer into the service's desired state (for example
// /environment/TZ); with Service empty it applies to every service.
type DriftIgnoreRule struct {
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	Path    string `yaml:"path" json:"path"`
}

// TimeoutOrDefault returns the health timeout, or DefaultHealthTimeout when
// none is set (h may be nil).
func (h *HealthSettings) TimeoutOrDefault() time.Duration {
	if h == nil || h.Timeout <= 0 {
		return DefaultHealthTimeout
	}
	return h.Timeout
}

// PolicyFor returns the drift policy for a service: its own, else the
// general one, else warn (d may be nil).
func (d *DriftSettings) PolicyFor(service string) string {
	if d == nil {
		return DriftWarn
	}
	if s, ok := d.Services[service]; ok && s.Policy != "" {
		return s.Policy
	}
	if d.Policy != "" {
		return d.Policy
	}
	return DriftWarn
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// ValidateName checks an environment or definition name: lowercase letters,
// digits, '-' and '_', starting with a letter or digit (the rule for Compose
// project names, since an environment is one).
func ValidateName(name string) error {
	if name == "" {
		return errors.New("name is empty")
	}
	if !nameRE.MatchString(name) {
		return fmt.Errorf("invalid name %q: use lowercase letters, digits, '-' and '_', starting with a letter or digit", name)
	}
	return nil
}

var profileRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ReadManifest reads and checks a berth.yaml. path is the file or the
// definition folder holding it. Problems come back as *Error (or Errors for
// several), each naming file, line and field.
func ReadManifest(path string) (*Manifest, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	file, dir := abs, filepath.Dir(abs)
	fi, err := os.Stat(abs)
	switch {
	case err == nil && fi.IsDir():
		file, dir = filepath.Join(abs, ManifestFile), abs
	case err != nil && !strings.HasSuffix(abs, ".yaml") && !strings.HasSuffix(abs, ".yml"):
		return nil, &Error{File: displayPath(abs), Message: "no such definition folder", Err: err}
	}
	if fi, err := os.Stat(file); err == nil {
		if e := checkSize(displayPath(file), fi.Size()); e != nil {
			return nil, e
		}
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: displayPath(dir), Message: "no " + ManifestFile + " (a definition folder needs one)", Err: err}
	}
	if err != nil {
		return nil, &Error{File: displayPath(file), Message: err.Error(), Err: err}
	}
	m, err := parseManifest(file, data)
	if err != nil {
		return nil, err
	}
	m.Dir = dir
	var errs Errors
	for _, err := range []error{m.resolveComposeFiles(), m.checkSeeds()} {
		var many Errors
		switch {
		case err == nil:
		case errors.As(err, &many):
			errs = append(errs, many...)
		default:
			errs = append(errs, err.(*Error))
		}
	}
	if err := errs.orNil(); err != nil {
		return nil, err
	}
	return m, nil
}

// parseManifest decodes and checks the manifest's content (not the files it
// names).
func parseManifest(file string, data []byte) (*Manifest, error) {
	d := &decoder{file: displayPath(file), lines: map[string]int{}}
	m := &Manifest{Path: file}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := syntaxError(data, err)
		return nil, &Error{File: d.file, Line: line, Message: "invalid YAML: " + msg, Err: err}
	}
	if e := checkBudget(d.file, &doc); e != nil {
		return nil, e
	}
	root := deref(&doc)
	if root == nil || root.Kind == 0 || (root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
		return nil, &Error{File: d.file, Line: 1, Field: "name", Message: "the manifest is empty; it needs at least a name"}
	}
	d.decode(root, reflect.ValueOf(m).Elem(), "")
	if len(d.errs) == 0 {
		m.lines = d.lines
		m.validate(d, root)
	}
	if len(d.errs) > 0 {
		return nil, d.errs.orNil()
	}
	m.lines = d.lines
	return m, nil
}

func (m *Manifest) validate(d *decoder, root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		return // already reported by decode
	}
	if _, ok := d.lines["name"]; !ok {
		d.errorf(root.Line, "name", "required: name the definition (lowercase letters, digits, '-', '_')")
	} else if err := ValidateName(m.Name); err != nil {
		d.errorf(d.lines["name"], "name", "%v", err)
	}
	if _, ok := d.lines["compose.files"]; ok && len(m.Compose.Files) == 0 {
		d.errorf(d.lines["compose.files"], "compose.files", "list at least one Compose file, or leave files out to use compose.yaml")
	} else if _, ok := d.lines["compose"]; ok && len(m.Compose.Files) == 0 && m.Compose.Unsupported == "" {
		d.errorf(d.lines["compose"], "compose", "list at least one Compose file, or leave compose out to use compose.yaml")
	}
	switch m.Compose.Unsupported {
	case "", UnsupportedError, UnsupportedWarn:
	default:
		d.errorf(d.lineOr("compose.unsupported", "compose"), "compose.unsupported",
			"unknown value %q: error (refuse Compose keys Berth does not support, the default) or warn", m.Compose.Unsupported)
	}
	for i, c := range m.Compose.Files {
		f := m.composeFileField(i)
		if strings.TrimSpace(c) == "" {
			d.errorf(d.lines[f], f, "empty file name")
		}
	}
	for i, p := range m.Profiles {
		f := fmt.Sprintf("profiles[%d]", i)
		if !profileRE.MatchString(p) {
			d.errorf(d.lines[f], f, "invalid profile name %q", p)
		}
	}
	seen := map[string]string{}
	for i, db := range m.Databases {
		f := fmt.Sprintf("databases[%d]", i)
		switch {
		case db.Service == "":
			d.errorf(d.lineOr(f+".service", f), f+".service", "required: the Compose service that holds the database")
		case seen[db.Service] != "":
			d.errorf(d.lines[f+".service"], f+".service", "service %q is already listed as %s", db.Service, seen[db.Service])
		default:
			seen[db.Service] = f
		}
		switch db.Engine {
		case EnginePostgres, EngineMariaDB:
		case EngineMySQL:
			d.errorf(d.lines[f+".engine"], f+".engine", "engine %q is not supported yet (postgres and mariadb are; a MySQL server's data folder is not MariaDB's)", db.Engine)
		case "":
			d.errorf(d.lineOr(f+".engine", f), f+".engine", "required: the database engine (postgres or mariadb)")
		default:
			d.errorf(d.lines[f+".engine"], f+".engine", "unknown engine %q: use postgres or mariadb%s", db.Engine,
				didYouMean(db.Engine, []string{EnginePostgres, EngineMySQL, EngineMariaDB}))
		}
		if _, ok := d.lines[f+".volume"]; ok && strings.TrimSpace(db.Volume) == "" {
			d.errorf(d.lines[f+".volume"], f+".volume", "empty volume name: name a volume of the Compose file, or leave volume out")
		}
		if _, ok := d.lines[f+".source"]; ok {
			validateSource(d, f+".source", db.Source)
		}
	}
	m.validateLocal(d)
	if m.Health != nil {
		if _, ok := d.lines["health.timeout"]; ok && m.Health.Timeout <= 0 {
			d.errorf(d.lines["health.timeout"], "health.timeout", "must be a positive duration such as 90s or 2m")
		}
	}
	if dr := m.Drift; dr != nil {
		policies := []string{DriftWarn, DriftHeal, DriftIgnore}
		checkPolicy := func(field, p string) {
			if _, ok := d.lines[field]; !ok {
				return
			}
			switch p {
			case DriftWarn, DriftHeal, DriftIgnore:
			default:
				d.errorf(d.lines[field], field, "unknown policy %q: use warn, heal or ignore%s", p, didYouMean(p, policies))
			}
		}
		checkPolicy("drift.policy", dr.Policy)
		for _, name := range slices.Sorted(maps.Keys(dr.Services)) {
			checkPolicy("drift.services."+name+".policy", dr.Services[name].Policy)
		}
		for i, r := range dr.Ignore {
			f := fmt.Sprintf("drift.ignore[%d]", i)
			switch {
			case r.Path == "":
				d.errorf(d.lineOr(f+".path", f), f+".path", "required: a JSON pointer into the service, such as /environment/TZ")
			case !strings.HasPrefix(r.Path, "/"):
				d.errorf(d.lines[f+".path"], f+".path", "must be a JSON pointer starting with '/', such as /environment/TZ")
			}
		}
	}
}

var envVarRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
var sha256RE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// validateSource checks a database source's content (the seed's existence
// is checked by checkSeeds, against the folder).
func validateSource(d *decoder, f string, s *DatabaseSource) {
	if s == nil {
		d.errorf(d.lines[f], f, "empty source: give one of seed, url, env or snapshot")
		return
	}
	var set []string
	for _, k := range []struct {
		name string
		val  string
	}{{"seed", s.Seed}, {"url", s.URL}, {"env", s.Env}, {"snapshot", s.Snapshot}} {
		if _, ok := d.lines[f+"."+k.name]; ok {
			set = append(set, k.name)
			if strings.TrimSpace(k.val) == "" {
				d.errorf(d.lines[f+"."+k.name], f+"."+k.name, "empty value")
			}
		}
	}
	switch {
	case len(set) == 0:
		d.errorf(d.lines[f], f, "no source: give one of seed, url, env or snapshot")
	case len(set) > 1:
		d.errorf(d.lines[f+"."+set[1]], f+"."+set[1], "a database has one source, and %s is already given: choose one of seed, url, env or snapshot", set[0])
	}
	if _, ok := d.lines[f+".sha256"]; ok {
		switch {
		case s.Seed == "":
			d.errorf(d.lines[f+".sha256"], f+".sha256", "a checksum goes with a seed: add seed, or remove sha256")
		case !sha256RE.MatchString(s.SHA256):
			d.errorf(d.lines[f+".sha256"], f+".sha256", "must be 64 hexadecimal digits (the output of sha256sum FILE), not %q", s.SHA256)
		}
	}
	if s.Seed != "" {
		clean := filepath.Clean(filepath.FromSlash(s.Seed))
		if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
			d.errorf(d.lines[f+".seed"], f+".seed", "%q is outside the definition folder: a seed is a file or folder inside it", s.Seed)
		}
	}
	if s.URL != "" && !envVarRE.MatchString(s.URL) {
		msg := "must name an environment variable holding the database URL, such as SHOP_SOURCE_URL"
		if strings.Contains(s.URL, "://") || strings.Contains(s.URL, "@") {
			msg = "must not be the URL itself: a URL with credentials does not belong in Git; put it in an environment variable and name the variable here (url: SHOP_SOURCE_URL)"
		}
		d.errorf(d.lines[f+".url"], f+".url", "%s", msg)
	}
	if s.Env != "" {
		if err := ValidateName(s.Env); err != nil {
			d.errorf(d.lines[f+".env"], f+".env", "environment %v", err)
		}
	}
}

// checkSeeds checks that every seed the manifest names exists in the
// definition folder.
func (m *Manifest) checkSeeds() error {
	var errs Errors
	for i, db := range m.Databases {
		if db.Source == nil || db.Source.Seed == "" {
			continue
		}
		field := fmt.Sprintf("databases[%d].source.seed", i)
		p := filepath.Join(m.Dir, filepath.FromSlash(db.Source.Seed))
		if real := evalExisting(p); !within(evalExisting(m.Dir), real) {
			errs = append(errs, &Error{File: displayPath(m.Path), Line: m.Line(field), Field: field, Err: ErrOutside,
				Message: fmt.Sprintf("seed %q leads to %s, outside the definition folder (a symlink?): a seed is a file or folder inside it", db.Source.Seed, real)})
			continue
		}
		if _, err := os.Stat(p); err != nil {
			msg := err.Error()
			if errors.Is(err, fs.ErrNotExist) {
				msg = fmt.Sprintf("seed %q not found in %s", db.Source.Seed, displayPath(m.Dir))
			}
			errs = append(errs, &Error{File: displayPath(m.Path), Line: m.Line(field), Field: field, Message: msg, Err: err})
			continue
		}
		if db.Engine == EngineMariaDB {
			if f := pgArchiveFormat(p); f != "" {
				errs = append(errs, &Error{File: displayPath(m.Path), Line: m.Line(field), Field: field,
					Message: fmt.Sprintf("seed %q is a pg_dump %s-format archive: a mariadb database loads plain SQL (mariadb-dump's output, maybe gzip or zstd compressed)", db.Source.Seed, f)})
			}
		}
	}
	return errs.orNil()
}

// pgArchiveFormat says whether the seed at p is one of pg_dump's archive
// formats, which only PostgreSQL reads: "directory", "custom" (plain or
// gzip compressed; a zstd one is found when it is loaded), or "".
func pgArchiveFormat(p string) string {
	fi, err := os.Stat(p)
	if err != nil {
		return ""
	}
	if fi.IsDir() {
		return "directory"
	}
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	var r io.Reader = f
	head := make([]byte, 5)
	if n, _ := io.ReadFull(f, head[:2]); n == 2 && head[0] == 0x1f && head[1] == 0x8b {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return ""
		}
		gz, err := gzip.NewReader(f)
		if err != nil {
			return ""
		}
		defer gz.Close()
		r = gz
	} else if _, err := f.Seek(0, io.SeekStart); err != nil {
		return ""
	}
	if n, _ := io.ReadFull(r, head); n == 5 && string(head) == "PGDMP" {
		return "custom"
	}
	return ""
}

// resolveComposeFiles fills ComposeFiles, checking that each exists.
func (m *Manifest) resolveComposeFiles() error {
	var errs Errors
	if len(m.Compose.Files) == 0 {
		first := func(names []string) string {
			for _, name := range names {
				p := filepath.Join(m.Dir, name)
				if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
					return p
				}
			}
			return ""
		}
		main := first(DefaultComposeFiles)
		if main == "" {
			return &Error{File: displayPath(m.Path), Line: m.rootLine(), Field: "compose",
				Message: "no Compose file: found none of " + strings.Join(DefaultComposeFiles, ", ") + " (name yours with compose: [file.yaml])"}
		}
		m.ComposeFiles = []string{main}
		if o := first(DefaultOverrideFiles); o != "" {
			m.ComposeFiles = append(m.ComposeFiles, o)
		}
		return nil
	}
	for i, name := range m.Compose.Files {
		p := name
		if !filepath.IsAbs(p) {
			p = filepath.Join(m.Dir, p)
		}
		field := m.composeFileField(i)
		fi, err := os.Stat(p)
		switch {
		case err != nil && errors.Is(err, fs.ErrNotExist):
			errs = append(errs, &Error{File: displayPath(m.Path), Line: m.Line(field), Field: field,
				Message: fmt.Sprintf("Compose file %q not found in %s", name, displayPath(m.Dir)), Err: err})
		case err != nil:
			errs = append(errs, &Error{File: displayPath(m.Path), Line: m.Line(field), Field: field, Message: err.Error(), Err: err})
		case fi.IsDir():
			errs = append(errs, &Error{File: displayPath(m.Path), Line: m.Line(field), Field: field,
				Message: fmt.Sprintf("%q is a folder, not a Compose file", name)})
		default:
			m.ComposeFiles = append(m.ComposeFiles, p)
		}
	}
	return errs.orNil()
}

// Line returns the line of a manifest field ("databases[0].service"), or of
// its nearest parent that is in the file, or 0.
func (m *Manifest) Line(field string) int {
	if m == nil {
		return 0
	}
	for f := field; f != ""; f = parentField(f) {
		if l, ok := m.lines[f]; ok {
			return l
		}
	}
	return 0
}

func (m *Manifest) rootLine() int {
	if len(m.lines) == 0 {
		return 0
	}
	return 1
}

// errorAt builds an error located at a manifest field.
func (m *Manifest) errorAt(field, format string, args ...any) *Error {
	return &Error{File: displayPath(m.Path), Line: m.Line(field), Field: field, Message: fmt.Sprintf(format, args...)}
}

func parentField(f string) string {
	i := strings.LastIndexAny(f, ".[")
	if i <= 0 {
		return ""
	}
	return f[:i]
}

// decoder decodes a yaml.Node into a struct by its yaml tags, rejecting
// unknown keys, recording the line of every field and collecting errors.
type decoder struct {
	file  string
	lines map[string]int
	errs  Errors
}

func (d *decoder) errorf(line int, field, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) lineOr(field, parent string) int {
	if l, ok := d.lines[field]; ok {
		return l
	}
	return d.lines[parent]
}

var durationType = reflect.TypeOf(time.Duration(0))

func (d *decoder) decode(n *yaml.Node, v reflect.Value, field string) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if v.Type() == durationType {
		if n.Kind != yaml.ScalarNode {
			d.errorf(n.Line, field, "must be a duration such as 90s or 2m")
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.errorf(n.Line, field, "invalid duration %q: use a number and a unit, such as 90s or 2m", n.Value)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	if v.Type() == composeSettingsType && n.Kind != yaml.MappingNode {
		// the short form: a list of files, or one file name
		d.decode(n, v.FieldByName("Files"), field)
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.errorf(n.Line, field, "must be true or false, not %s", kindName(n))
			return
		}
		v.SetBool(strings.EqualFold(n.Value, "true"))
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n.Line, field, "must be a string, not %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), field)
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && v.Type().Elem().Kind() == reflect.String {
			// a single string where a list is expected: a list of one
			f := field + "[0]"
			d.lines[f] = n.Line
			v.Set(reflect.Append(v, reflect.ValueOf(n.Value)))
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errorf(n.Line, field, "must be a list, not %s", kindName(n))
			return
		}
		out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			f := field + "[" + strconv.Itoa(i) + "]"
			d.lines[f] = item.Line
			d.decode(item, out.Index(i), f)
		}
		v.Set(out)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n.Line, field, "must be a mapping, not %s", kindName(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			f := joinField(field, k.Value)
			if prev, dup := seen[k.Value]; dup {
				d.errorf(k.Line, f, "duplicate key (first at line %d)", prev)
				continue
			}
			seen[k.Value] = k.Line
			d.lines[f] = k.Line
			elem := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, elem, f)
			v.SetMapIndex(reflect.ValueOf(k.Value), elem)
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errorf(n.Line, field, "must be a mapping, not %s", kindName(n))
			return
		}
		fields := yamlFields(v.Type())
		names := make([]string, 0, len(fields))
		for name := range fields {
			names = append(names, name)
		}
		sort.Strings(names)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			f := joinField(field, k.Value)
			idx, ok := fields[k.Value]
			if !ok {
				where := "in " + ManifestFile
				if field != "" {
					where = "in " + field
				}
				d.errorf(k.Line, f, "unknown key %q %s%s", k.Value, where, didYouMean(k.Value, names))
				continue
			}
			if prev, dup := seen[k.Value]; dup {
				d.errorf(k.Line, f, "duplicate key (first at line %d)", prev)
				continue
			}
			seen[k.Value] = k.Line
			d.lines[f] = k.Line
			d.decode(val, v.Field(idx), f)
		}
	default:
		d.errorf(n.Line, field, "unsupported field type %s", v.Type())
	}
}

// yamlFields maps the yaml keys of a struct type to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = i
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "empty"
	}
	return "a string"
}

// yamlErrorLine pulls the line of a YAML parser error out of its message
// (the last "line N" mark) and returns the message after it.
func yamlErrorLine(msg string) (int, string) {
	msg = strings.TrimPrefix(msg, "yaml: ")
	matches := yamlLineRE.FindAllStringSubmatchIndex(msg, -1)
	if len(matches) == 0 {
		return 0, msg
	}
	last := matches[len(matches)-1]
	line, _ := strconv.Atoi(msg[last[2]:last[3]])
	rest := strings.TrimSpace(msg[last[1]:])
	if rest == "" {
		rest = msg
	}
	return line, rest
}

var yamlLineRE = regexp.MustCompile(`line (\d+)(?:, column \d+)?: `)

// didYouMean suggests the closest candidate, as " (did you mean "x"?)", or "".
func didYouMean(word string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(2, len(word)/3)
	if bestD < 0 || bestD > limit || bestD == 0 && best == word {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b, counting an
// adjacent transposition as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
