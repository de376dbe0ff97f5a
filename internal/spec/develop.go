package spec

import (
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berthdev/berth/internal/dockerignore"
)

// Watch actions (Compose develop.watch): what berth up --watch does when a
// file under a rule's path changes.
const (
	WatchSync        = "sync"         // copy the changed files into the service's containers
	WatchSyncRestart = "sync+restart" // copy them, then restart the containers
	WatchRestart     = "restart"      // restart the containers
	WatchRebuild     = "rebuild"      // build the image and recreate the service
)

// WatchRule is one item of a service's develop.watch.
type WatchRule struct {
	Action string `json:"action"`
	// Path is the absolute host path watched, symlinks evaluated: the
	// definition's folder or a file or folder inside it.
	Path string `json:"path"`
	// Target is the absolute path in the container that Path is copied
	// to (sync actions).
	Target string `json:"target,omitempty"`
	// Ignore and Include are .dockerignore patterns relative to Path:
	// a changed file an Ignore pattern matches is left alone, and with
	// Include only files one of its patterns matches are acted on.
	Ignore  []string `json:"ignore,omitempty"`
	Include []string `json:"include,omitempty"`
}

// Syncs says whether the rule copies files into the container.
func (r WatchRule) Syncs() bool { return r.Action == WatchSync || r.Action == WatchSyncRestart }

// ephemeral are files editors and tools write beside the ones edited, that
// no rule acts on (as with docker compose watch).
var ephemeral = mustMatcher([]string{".git", "**/.git", "**/*~", "**/.*.swp", "**/.*.swx", "**/4913", "**/#*#", "**/.#*"})

func mustMatcher(patterns []string) *dockerignore.Matcher {
	m, err := dockerignore.Parse(strings.NewReader(strings.Join(patterns, "\n")))
	if err != nil {
		panic(err)
	}
	return m
}

// WatchMatcher says which changed files a rule acts on.
type WatchMatcher struct {
	rule    WatchRule
	ignore  *dockerignore.Matcher
	include *dockerignore.Matcher
}

// Matcher compiles the rule's patterns (checked at load).
func (r WatchRule) Matcher() (*WatchMatcher, error) {
	m := &WatchMatcher{rule: r}
	var err error
	if m.ignore, err = parsePatterns(r.Ignore); err != nil {
		return nil, err
	}
	if len(r.Include) > 0 {
		if m.include, err = parsePatterns(r.Include); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func parsePatterns(ps []string) (*dockerignore.Matcher, error) {
	for i, p := range ps {
		if strings.ContainsAny(p, "\n\r") {
			return nil, fmt.Errorf("pattern %d holds a line break", i)
		}
	}
	return dockerignore.Parse(strings.NewReader(strings.Join(ps, "\n")))
}

// Rel says whether the rule acts on the host file abs, and its path
// relative to the rule's Path ("." when abs is Path itself, a file).
func (m *WatchMatcher) Rel(abs string) (string, bool) {
	rel, err := filepath.Rel(m.rule.Path, abs)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return "", false
	}
	rel = filepath.ToSlash(rel)
	if rel == "." {
		return rel, true
	}
	if ephemeral.Excluded(rel) || m.ignore.Excluded(rel) {
		return "", false
	}
	if m.include != nil && !m.include.Excluded(rel) {
		return "", false
	}
	return rel, true
}

// ContainerPath is where the host file abs (which the rule acts on) goes
// in the container.
func (m *WatchMatcher) ContainerPath(rel string) string {
	if rel == "." {
		return m.rule.Target
	}
	return path.Join(m.rule.Target, rel)
}

// watchRules reads each service's develop.watch into Service.Watch and
// checks it: a path inside the definition's folder (symlinks evaluated:
// the definition is untrusted, and nothing outside it is read for a
// sync), an absolute target for the actions that copy, patterns that
// parse. Rules with an action Berth does not run (sync+exec) were refused
// or warned about by unsupportedKeys and are left out.
func watchRules(f *fence, src *sources, cp *types.Project, p *Project) Errors {
	var errs Errors
	for i := range p.Services {
		s := &p.Services[i]
		cs, ok := cp.Services[s.Name]
		if !ok || cs.Develop == nil {
			continue
		}
		for j, t := range cs.Develop.Watch {
			at := func(field string) []string {
				return []string{"services", s.Name, "develop", "watch", strconv.Itoa(j), field}
			}
			switch t.Action {
			case types.WatchActionSync, types.WatchActionSyncRestart, types.WatchActionRestart, types.WatchActionRebuild:
			default:
				continue // sync+exec: refused or warned about
			}
			r := WatchRule{Action: string(t.Action), Path: t.Path, Target: t.Target, Ignore: t.Ignore, Include: t.Include}
			if r.Path == "" {
				errs = append(errs, src.errorAt(at("path"), "a watch rule needs a path (relative to the definition's folder)", nil))
				continue
			}
			if !filepath.IsAbs(r.Path) {
				r.Path = filepath.Join(p.Dir, r.Path)
			}
			in, real := f.inside(r.Path)
			if !in {
				errs = append(errs, src.errorAt(at("path"), fmt.Sprintf("%s is outside the definition's folder (%s): berth up --watch reads nothing outside it",
					r.Path, real), ErrOutside))
				continue
			}
			r.Path = real
			if r.Syncs() {
				switch {
				case r.Target == "":
					errs = append(errs, src.errorAt(at("target"), "action "+r.Action+" needs a target (the absolute path in the container to copy to)", nil))
					continue
				case !path.IsAbs(r.Target):
					errs = append(errs, src.errorAt(at("target"), fmt.Sprintf("target %q is not an absolute path in the container", r.Target), nil))
					continue
				}
				r.Target = path.Clean(r.Target)
			}
			if _, err := parsePatterns(r.Ignore); err != nil {
				errs = append(errs, src.errorAt(at("ignore"), "bad pattern: "+err.Error(), err))
				continue
			}
			if _, err := parsePatterns(r.Include); err != nil {
				errs = append(errs, src.errorAt(at("include"), "bad pattern: "+err.Error(), err))
				continue
			}
			s.Watch = append(s.Watch, r)
		}
	}
	return errs
}
