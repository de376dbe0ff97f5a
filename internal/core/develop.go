package core

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// Syncer puts files into the containers of a running environment, for
// live development (develop.watch). The engine adapter implements it next
// to Engine, through the engine's API only (no bind mounts), so that a
// remote engine works the same.
type Syncer interface {
	// CopyFiles copies host files into a running container.
	CopyFiles(ctx context.Context, container string, files []SyncFile) error
	// RemoveFiles removes paths in a running container; ErrNoRemover
	// when the container cannot (it has no rm).
	RemoveFiles(ctx context.Context, container string, paths []string) error
	// RestartContainer restarts a container.
	RestartContainer(ctx context.Context, container string) error
}

// ReadyFileWatcher is a FileWatcher that says when the tree is watched:
// Develop reports itself watching only then, so that an edit made after
// that report is never missed.
type ReadyFileWatcher interface {
	WatchTreeReady(ctx context.Context, dir string, ready func(), out func(paths []string, rescan bool, notes []string)) error
}

// ErrNoRemover: a container cannot remove files (its image has no rm).
var ErrNoRemover = errors.New("the container has no rm to remove files with")

// SyncFile is a host file and where it goes in a container.
type SyncFile struct{ Host, Container string }

// ChangeDevelop: a watched environment acted on a file change
// (Change.Develop); see Develop.
const ChangeDevelop = "develop"

// Develop actions (DevEvent.Action).
const (
	DevWatching  = "watching"  // the watch started (Detail: what it follows)
	DevSynced    = "synced"    // a file was copied into the service's containers
	DevDeleted   = "deleted"   // a file was removed from them
	DevRestarted = "restarted" // the service's containers were restarted
	DevRebuilt   = "rebuilt"   // the image was built and the service brought up
	DevError     = "error"     // an action failed (Detail says why); the watch goes on
	DevStopped   = "stopped"   // the watch ended
)

// DevEvent is one thing a watched environment did (berth up --watch, the
// app's Watch toggle).
type DevEvent struct {
	Time    time.Time `json:"time"`
	Env     string    `json:"env"`
	Service string    `json:"service,omitempty"`
	Action  string    `json:"action"`
	// Path is the host file, relative to the definition's folder; Target
	// where it went in the containers.
	Path   string `json:"path,omitempty"`
	Target string `json:"target,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// String renders the event the way the CLI prints it.
func (e DevEvent) String() string {
	switch e.Action {
	case DevSynced:
		return fmt.Sprintf("synced %s: %s → %s", e.Service, e.Path, e.Target)
	case DevDeleted:
		return fmt.Sprintf("deleted %s: %s → %s", e.Service, e.Path, e.Target)
	case DevRestarted, DevRebuilt:
		s := e.Action + " " + e.Service
		if e.Detail != "" {
			s += " (" + e.Detail + ")"
		}
		return s
	case DevError:
		if e.Service != "" {
			return fmt.Sprintf("error %s: %s", e.Service, e.Detail)
		}
		return "error: " + e.Detail
	case DevWatching:
		return fmt.Sprintf("watching %s: %s", e.Env, e.Detail)
	case DevStopped:
		return "stopped watching " + e.Env
	}
	return strings.TrimSpace(e.Action + " " + e.Env + ": " + e.Detail)
}

// devState is what Develop keeps while environments are watched: the
// synced folders of each, which drift does not report.
type devState struct {
	mu     sync.Mutex
	synced map[string][]string // env → synced paths, relative to the definition folder
}

func (d *devState) set(env string, paths []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.synced == nil {
		d.synced = map[string][]string{}
	}
	if paths == nil {
		delete(d.synced, env)
		return
	}
	d.synced[env] = paths
}

// skip says whether file (relative to the definition folder) lies under
// a path env syncs while it is watched.
func (d *devState) skip(env, file string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.synced[env] {
		if p == "." || file == p || strings.HasPrefix(file, p+"/") {
			return true
		}
	}
	return false
}

// withoutSynced drops the file changes under env's synced paths.
func (d *devState) withoutSynced(env string, fs []FileChange) []FileChange {
	return slices.DeleteFunc(fs, func(f FileChange) bool { return d.skip(env, f.Path) })
}

// Watching says whether env is watched now (by this process).
func (b *Berth) Watching(env string) bool {
	b.dev.mu.Lock()
	defer b.dev.mu.Unlock()
	_, ok := b.dev.synced[env]
	return ok
}

// DevOptions tune Develop; the zero value is what the apps use.
type DevOptions struct {
	// WaitTimeout bounds how long a rebuild waits for the service to run
	// and be healthy (0: 5 minutes).
	WaitTimeout time.Duration
}

// devRule is a watch rule compiled, with its service.
type devRule struct {
	service string
	rule    spec.WatchRule
	m       *spec.WatchMatcher
}

// Develop watches env's definition folder (where the developer edits)
// and acts on each burst of changes as the services' develop.watch says,
// until ctx ends (then it returns nil): sync copies the changed files into
// every running container of the service and removes the deleted ones,
// sync+restart then restarts those containers, restart only restarts
// them, rebuild brings the environment up from the folder (its image
// built, the service recreated through the plan). Everything goes through
// the engine's API. out gets each action (never concurrently). While it
// runs, files under the synced paths are not reported as file drift.
func (b *Berth) Develop(ctx context.Context, env string, opts DevOptions, out func(DevEvent)) error {
	if err := spec.ValidateName(env); err != nil {
		return fmt.Errorf("environment name: %w", err)
	}
	fw := b.drift.files
	if fw == nil {
		return errors.New("no file watcher: live development is not available")
	}
	e, err := b.eng(ctx)
	if err != nil {
		return err
	}
	sy, ok := e.(Syncer)
	if !ok {
		return errors.New("the engine adapter cannot copy files into containers")
	}
	o, err := e.ObserveProject(ctx, env)
	if err != nil {
		return err
	}
	if len(o.Containers) == 0 {
		return envGone(ctx, e, env)
	}
	w := &devWatch{b: b, e: e, sy: sy, env: env, def: definitionOf(o, env), opts: opts, out: out}
	if err := w.load(ctx); err != nil {
		return err
	}
	b.dev.set(env, w.syncedPaths())
	defer b.dev.set(env, nil)
	var services []string
	for _, r := range w.rules {
		if !slices.Contains(services, r.service) {
			services = append(services, r.service)
		}
	}
	ready := func() {
		w.send(DevEvent{Action: DevWatching, Detail: fmt.Sprintf("%s (%s)", w.root, strings.Join(services, ", "))})
	}
	defer w.send(DevEvent{Action: DevStopped})
	batch := func(paths []string, rescan bool, notes []string) { w.batch(ctx, paths, rescan) }
	if rw, ok := fw.(ReadyFileWatcher); ok {
		err = rw.WatchTreeReady(ctx, w.root, ready, batch)
	} else {
		ready()
		err = fw.WatchTree(ctx, w.root, batch)
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

type devWatch struct {
	b    *Berth
	e    Engine
	sy   Syncer
	env  string
	def  string
	opts DevOptions
	out  func(DevEvent)

	mu    sync.Mutex
	root  string // the definition's folder, symlinks evaluated
	rules []devRule
}

// load reads the definition from its folder and compiles its rules.
func (w *devWatch) load(ctx context.Context) error {
	p, err := w.b.loadGranted(ctx, w.env, w.def, nil)
	if err != nil {
		return err
	}
	root, err := filepath.EvalSymlinks(p.Dir)
	if err != nil {
		return err
	}
	var rules []devRule
	for _, s := range p.Services {
		for _, r := range s.Watch {
			m, err := r.Matcher()
			if err != nil {
				return fmt.Errorf("service %s: develop.watch: %w", s.Name, err)
			}
			rules = append(rules, devRule{service: s.Name, rule: r, m: m})
		}
	}
	if len(rules) == 0 {
		return fmt.Errorf("definition %q has no develop.watch: nothing to watch (see docs/definitions.md, Live development)", w.def)
	}
	w.mu.Lock()
	w.root, w.rules = root, rules
	w.mu.Unlock()
	return nil
}

// syncedPaths are the paths the sync rules copy, relative to the folder.
func (w *devWatch) syncedPaths() []string {
	out := []string{}
	for _, r := range w.rules {
		if !r.rule.Syncs() {
			continue
		}
		if rel, err := filepath.Rel(w.root, r.rule.Path); err == nil {
			out = append(out, filepath.ToSlash(rel))
		}
	}
	return out
}

func (w *devWatch) send(ev DevEvent) {
	if ev.Time.IsZero() {
		ev.Time = w.b.now()
	}
	ev.Env = w.env
	if w.out != nil {
		w.out(ev)
	}
}

// serviceWork is what one burst asks of one service.
type serviceWork struct {
	copies  []SyncFile
	copied  []DevEvent
	removes []string
	removed []DevEvent
	restart bool
	rebuild bool
}

// batch acts on one burst of changes (paths relative to the root). A
// rescan (events were lost) copies every synced path whole.
func (w *devWatch) batch(ctx context.Context, paths []string, rescan bool) {
	w.mu.Lock()
	root, rules := w.root, w.rules
	w.mu.Unlock()
	work := map[string]*serviceWork{}
	get := func(s string) *serviceWork {
		if work[s] == nil {
			work[s] = &serviceWork{}
		}
		return work[s]
	}
	if rescan {
		for _, r := range rules {
			if r.rule.Syncs() {
				paths = append(paths, w.walk(root, r.rule.Path)...)
			}
		}
		slices.Sort(paths)
		paths = slices.Compact(paths)
	}
	for _, rel := range paths {
		abs := filepath.Join(root, filepath.FromSlash(rel))
		for _, r := range rules {
			ruleRel, ok := r.m.Rel(abs)
			if !ok {
				continue
			}
			sw := get(r.service)
			switch r.rule.Action {
			case spec.WatchRebuild:
				sw.rebuild = true
			case spec.WatchRestart:
				sw.restart = true
			case spec.WatchSync, spec.WatchSyncRestart:
				if r.rule.Action == spec.WatchSyncRestart {
					sw.restart = true
				}
				target := r.m.ContainerPath(ruleRel)
				ev := DevEvent{Service: r.service, Path: rel, Target: target}
				switch w.present(root, abs) {
				case fileHere:
					sw.copies = append(sw.copies, SyncFile{Host: abs, Container: target})
					if fi, err := os.Lstat(abs); err == nil && !fi.IsDir() {
						sw.copied = append(sw.copied, ev) // a folder is made, its files are told
					}
				case fileGone:
					sw.removes = append(sw.removes, target)
					sw.removed = append(sw.removed, ev)
				}
			}
		}
	}
	if len(work) == 0 {
		return
	}
	rebuild := false
	for _, s := range slices.Sorted(maps.Keys(work)) {
		if work[s].rebuild {
			rebuild = true
			continue
		}
		w.apply(ctx, s, work[s])
	}
	if rebuild {
		var names []string
		for _, s := range slices.Sorted(maps.Keys(work)) {
			if work[s].rebuild {
				names = append(names, s)
			}
		}
		w.rebuild(ctx, names)
	}
}

const (
	fileHere = iota
	fileGone
	fileOutside
)

// present says whether the changed file abs is there to copy, gone (to
// remove), or reached through a symlinked folder leading outside the
// definition's folder (neither: nothing outside is read).
func (w *devWatch) present(root, abs string) int {
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fileGone
		}
		return fileOutside
	}
	if rel, err := filepath.Rel(root, dir); err != nil || !filepath.IsLocal(rel) && rel != "." {
		return fileOutside
	}
	if _, err := os.Lstat(abs); errors.Is(err, fs.ErrNotExist) {
		return fileGone
	}
	return fileHere
}

// walk lists the files under p (relative to root), not following
// symlinks: for a rescan.
func (w *devWatch) walk(root, p string) []string {
	var out []string
	filepath.WalkDir(p, func(f string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if rel, err := filepath.Rel(root, f); err == nil && filepath.IsLocal(rel) {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// ServiceContainers lists a service's running containers in one cheap
// call (name → id); Develop asks it before each sync, falling back to
// ObserveProject, which inspects every container of the environment.
type ServiceContainers interface {
	RunningContainers(ctx context.Context, env, service string) (map[string]string, error)
}

// containers are the running containers Berth made for service.
func (w *devWatch) containers(ctx context.Context, service string) ([]reconcile.Container, error) {
	if sc, ok := w.e.(ServiceContainers); ok {
		m, err := sc.RunningContainers(ctx, w.env, service)
		if err != nil {
			return nil, err
		}
		var out []reconcile.Container
		for _, name := range slices.Sorted(maps.Keys(m)) {
			out = append(out, reconcile.Container{ID: m[name], Name: name, Service: service, Managed: true, State: reconcile.StateRunning})
		}
		return out, nil
	}
	o, err := w.e.ObserveProject(ctx, w.env)
	if err != nil {
		return nil, err
	}
	var out []reconcile.Container
	for _, c := range o.Containers {
		if c.Service == service && c.Managed && !c.OneOff && c.State == reconcile.StateRunning {
			out = append(out, c)
		}
	}
	return out, nil
}

// apply syncs and restarts one service's containers.
func (w *devWatch) apply(ctx context.Context, service string, sw *serviceWork) {
	cs, err := w.containers(ctx, service)
	if err != nil {
		w.send(DevEvent{Service: service, Action: DevError, Detail: err.Error()})
		return
	}
	if len(cs) == 0 {
		w.send(DevEvent{Service: service, Action: DevError, Detail: "no running container to act on"})
		return
	}
	copyOK, removeOK := len(sw.copies) > 0, len(sw.removes) > 0
	for _, c := range cs {
		if len(sw.copies) > 0 {
			if err := w.sy.CopyFiles(ctx, c.ID, sw.copies); err != nil {
				copyOK = false
				w.send(DevEvent{Service: service, Action: DevError, Detail: fmt.Sprintf("copying into %s: %v", c.Name, err)})
			}
		}
		if len(sw.removes) > 0 {
			if err := w.sy.RemoveFiles(ctx, c.ID, sw.removes); err != nil {
				removeOK = false
				detail := fmt.Sprintf("removing from %s: %v", c.Name, err)
				if errors.Is(err, ErrNoRemover) {
					detail = fmt.Sprintf("%s has no rm: %s kept there", c.Name, strings.Join(sw.removes, ", "))
				}
				w.send(DevEvent{Service: service, Action: DevError, Detail: detail})
			}
		}
	}
	if copyOK {
		for _, ev := range sw.copied {
			ev.Action = DevSynced
			w.send(ev)
		}
	}
	if removeOK {
		for _, ev := range sw.removed {
			ev.Action = DevDeleted
			w.send(ev)
		}
	}
	if !sw.restart {
		return
	}
	for _, c := range cs {
		if err := w.sy.RestartContainer(ctx, c.ID); err != nil {
			w.send(DevEvent{Service: service, Action: DevError, Detail: err.Error()})
			return
		}
	}
	w.send(DevEvent{Service: service, Action: DevRestarted})
}

// rebuild brings the environment up from its folder, as berth up does:
// the images whose build context changed are built and their services
// recreated through the plan. The rules are read again afterwards (the
// Compose file may have changed too).
func (w *devWatch) rebuild(ctx context.Context, services []string) {
	res, err := w.b.Up(ctx, UpRequest{Env: w.env, Definition: w.def, Wait: true, WaitTimeout: w.opts.WaitTimeout}, nil)
	if err != nil {
		for _, s := range services {
			w.send(DevEvent{Service: s, Action: DevError, Detail: "rebuild: " + err.Error()})
		}
		return
	}
	built := map[string]bool{}
	for _, op := range res.Plan.Ops {
		if op.Service != "" && (op.Kind == reconcile.OpBuildImage || op.Kind == reconcile.OpRecreate) {
			built[op.Service] = true
		}
	}
	for _, s := range services {
		ev := DevEvent{Service: s, Action: DevRebuilt}
		if !built[s] {
			ev.Detail = "up to date: the build context did not change"
		}
		w.send(ev)
	}
	if err := w.load(ctx); err != nil {
		w.send(DevEvent{Action: DevError, Detail: "reading develop.watch again: " + err.Error()})
		return
	}
	w.b.dev.set(w.env, w.syncedPaths())
}
