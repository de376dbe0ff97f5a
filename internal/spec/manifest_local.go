package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The manifest's keys for what a team adds around its Compose files:
// secrets kept out of Git, local files carried into deploys, variants and
// pinned ports.

// validateLocal checks secrets, local, variants and ports.
func (m *Manifest) validateLocal(d *decoder) {
	seen := map[string]string{}
	for i, s := range m.Secrets {
		f := fmt.Sprintf("secrets[%d]", i)
		switch {
		case s.Name == "":
			d.errorf(d.lineOr(f+".name", f), f+".name", "required: the secret's name (it is interpolated as ${NAME})")
		case !envVarRE.MatchString(s.Name):
			d.errorf(d.lines[f+".name"], f+".name", "invalid secret name %q: use letters, digits and '_', not starting with a digit", s.Name)
		case seen[s.Name] != "":
			d.errorf(d.lines[f+".name"], f+".name", "secret %q is already declared as %s", s.Name, seen[s.Name])
		case reservedVar(s.Name):
			d.errorf(d.lines[f+".name"], f+".name", "secret %q: BERTH_* and COMPOSE_* names are Berth's own", s.Name)
		default:
			seen[s.Name] = f
		}
	}
	for i, l := range m.Local {
		f := fmt.Sprintf("local[%d]", i)
		if msg := localPathProblem(l); msg != "" {
			d.errorf(d.lines[f], f, "%s", strings.Replace(msg, "a variant's Compose file", "a local file", 1))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Variants)) {
		v := m.Variants[name]
		f := "variants." + name
		if err := ValidateName(name); err != nil {
			d.errorf(d.lines[f], f, "variant %v", err)
		}
		for i, c := range v.Compose {
			cf := fmt.Sprintf("%s.compose[%d]", f, i)
			if msg := localPathProblem(c); msg != "" {
				d.errorf(d.lines[cf], cf, "%s", msg)
			}
		}
		for i, p := range v.Profiles {
			pf := fmt.Sprintf("%s.profiles[%d]", f, i)
			if !profileRE.MatchString(p) {
				d.errorf(d.lines[pf], pf, "invalid profile name %q", p)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(v.Environment)) {
			if !envVarRE.MatchString(k) || reservedVar(k) {
				d.errorf(d.lines[f+".environment."+k], f+".environment."+k, "invalid variable name %q", k)
			}
		}
		for _, svc := range slices.Sorted(maps.Keys(v.Databases)) {
			df := f + ".databases." + svc
			if !slices.ContainsFunc(m.Databases, func(db ManifestDatabase) bool { return db.Service == svc }) {
				d.errorf(d.lines[df], df, "service %q is not one of the databases: list it under databases first", svc)
				continue
			}
			validateSource(d, df, v.Databases[svc])
		}
	}
	if m.Ports != nil {
		for i, p := range m.Ports.Pin {
			f := fmt.Sprintf("ports.pin[%d]", i)
			svc, port, hasPort := strings.Cut(p, ":")
			if svc == "" || (hasPort && !isPort(port)) {
				d.errorf(d.lines[f], f, "%q: name a service (web) or one of its published host ports (web:8080)", p)
			}
		}
	}
}

func isPort(s string) bool {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return false
		}
	}
	return s != "" && n > 0
}

// localPathProblem says what is wrong with a path the manifest names
// relative to the definition folder, or "".
func localPathProblem(p string) string {
	if strings.TrimSpace(p) == "" {
		return "empty file name"
	}
	clean := filepath.Clean(filepath.FromSlash(p))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return fmt.Sprintf("%q is outside the definition folder: a variant's Compose file is a file inside it", p)
	}
	return ""
}

// Variant returns the named variant ("" is none) or an error naming the
// ones there are.
func (m *Manifest) Variant(name string) (*Variant, error) {
	if name == "" {
		return nil, nil
	}
	if v, ok := m.Variants[name]; ok {
		return &v, nil
	}
	names := m.VariantNames()
	if len(names) == 0 {
		return nil, &Error{File: displayPath(m.Path), Line: m.rootLine(), Field: "variants",
			Message: fmt.Sprintf("no variant %q: the definition has no variants", name)}
	}
	return nil, &Error{File: displayPath(m.Path), Line: m.Line("variants"), Field: "variants",
		Message: fmt.Sprintf("no variant %q: the definition has %s%s", name, strings.Join(names, ", "), didYouMean(name, names))}
}

// variantFiles are the absolute paths of a variant's Compose files,
// checked to exist inside the folder.
func (m *Manifest) variantFiles(name string, v *Variant, f *fence) ([]string, error) {
	var out []string
	var errs Errors
	for i, c := range v.Compose {
		field := fmt.Sprintf("variants.%s.compose[%d]", name, i)
		p := filepath.Join(m.Dir, filepath.FromSlash(c))
		if e := f.own(p, "Compose file"); e != nil {
			return nil, e
		}
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			errs = append(errs, &Error{File: displayPath(m.Path), Line: m.Line(field), Field: field,
				Message: fmt.Sprintf("Compose file %q not found in %s", c, displayPath(m.Dir)), Err: err})
		case err != nil:
			errs = append(errs, &Error{File: displayPath(m.Path), Line: m.Line(field), Field: field, Message: err.Error(), Err: err})
		case fi.IsDir():
			errs = append(errs, &Error{File: displayPath(m.Path), Line: m.Line(field), Field: field, Message: fmt.Sprintf("%q is a folder, not a Compose file", c)})
		default:
			out = append(out, p)
		}
	}
	return out, errs.orNil()
}

// MissingSecretsError is a load refused because required secrets are not
// set.
type MissingSecretsError struct {
	Definition string
	Env        string
	Missing    []ManifestSecret
}

func (e *MissingSecretsError) Error() string {
	var b strings.Builder
	names := make([]string, len(e.Missing))
	for i, s := range e.Missing {
		names[i] = s.Name
	}
	fmt.Fprintf(&b, "definition %q needs %d secret(s) that are not set: %s", e.Definition, len(e.Missing), strings.Join(names, ", "))
	for _, s := range e.Missing {
		b.WriteString("\n  " + s.Name)
		if s.Description != "" {
			b.WriteString(": " + s.Description)
		}
		fmt.Fprintf(&b, "\n    set it with `berth secret set %s %s` (the value is asked for, or read from stdin)", e.Definition, s.Name)
	}
	return b.String()
}

// ErrMissingSecrets: a required secret is not set (errors.Is).
var ErrMissingSecrets = errors.New("required secrets are not set")

func (e *MissingSecretsError) Is(target error) bool { return target == ErrMissingSecrets }

// localFiles finds the manifest's local files that the folder lacks and the
// user's checkout (localDir) has: regular files inside it, no larger than
// a definition file may be. It returns them by the path they would have in
// the folder, with the checkout path to read instead.
func (m *Manifest) localFiles(localDir string) (map[string]string, []string) {
	if localDir == "" || len(m.Local) == 0 {
		return nil, nil
	}
	root := evalExisting(localDir)
	out := map[string]string{}
	var names []string
	for _, l := range m.Local {
		if localPathProblem(l) != "" {
			continue
		}
		rel := filepath.Clean(filepath.FromSlash(l))
		if _, err := os.Lstat(filepath.Join(m.Dir, rel)); err == nil {
			continue // the revision has it: that one counts
		}
		src := filepath.Join(localDir, rel)
		fi, err := os.Stat(src)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxDefinitionFile || !within(root, evalExisting(src)) {
			continue
		}
		out[filepath.Join(m.Dir, rel)] = src
		names = append(names, filepath.ToSlash(rel))
	}
	return out, names
}
