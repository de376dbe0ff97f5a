package root

import (
	"os"
	"sync"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/engine"
	"github.com/berthdev/berth/internal/settings"
)

// Root is the core API together with what the user can change while the
// app runs: the saved settings, which re-point the core's adapters.
type Root struct {
	core  *core.Berth
	src   *engineSource
	defs  *definitions
	repo  *repoSource
	store *storeAdapter
	flags Config

	mu    sync.Mutex
	saved settings.Settings
	// loadErr says why the settings file could not be read.
	loadErr error
	// save and getenv are settings.Save and os.Getenv outside tests.
	save   func(settings.Settings) error
	getenv func(string) string
}

// New builds the core from flags (empty fields: not given) and the saved
// settings. Flags and environment variables win over saved settings.
func New(flags Config) *Root {
	saved, err := settings.Load()
	return newRoot(flags, saved, err, settings.Save, os.Getenv)
}

func newRoot(flags Config, saved settings.Settings, loadErr error, save func(settings.Settings) error, getenv func(string) string) *Root {
	r := &Root{flags: flags, saved: saved, loadErr: loadErr, save: save, getenv: getenv}
	cfg := Resolve(flags, saved, getenv)
	r.src = &engineSource{opts: engine.Options{Host: cfg.DockerHost, Context: cfg.DockerContext}}
	r.defs = &definitions{dir: cfg.DefinitionsDir}
	dataDir, err := StateDir(cfg.StateDir, getenv)
	r.store = &storeAdapter{dataDir: dataDir, err: err}
	opts := []core.Option{core.WithStore(r.store), core.WithLocker(locker{dataDir: dataDir, err: err})}
	if repo := getenv("BERTH_REPO"); cfg.Repo == "" && repo != "" {
		cfg.Repo = repo
	}
	r.repo = newRepoSource(cfg.Repo, cfg.Branch, cfg.DefinitionsDir, dataDir)
	opts = append(opts, core.WithRevisions(r.repo))
	r.core = core.New(r.src.get, r.defs, opts...)
	return r
}

// Close closes the store and the definitions repo (the core must not be
// used afterwards).
func (r *Root) Close() {
	r.store.close()
	r.repo.close()
}

// Core is the core API.
func (r *Root) Core() *core.Berth { return r.core }

// Resolve is the configuration in effect: a flag, else the environment
// variable (BERTH_DEFINITIONS; DOCKER_HOST and DOCKER_CONTEXT, which the
// engine adapter reads itself), else the saved setting, else the default.
func Resolve(flags Config, saved settings.Settings, getenv func(string) string) Config {
	cfg := flags
	if cfg.DefinitionsDir == "" && getenv("BERTH_DEFINITIONS") == "" {
		cfg.DefinitionsDir = saved.DefinitionsDir
	}
	if cfg.DefinitionsDir == "" {
		cfg.DefinitionsDir = DefaultDefinitionsDir()
	}
	dockerChosen := flags.DockerHost != "" || flags.DockerContext != "" || getenv("DOCKER_HOST") != "" || getenv("DOCKER_CONTEXT") != ""
	if !dockerChosen {
		cfg.DockerHost, cfg.DockerContext = saved.DockerHost, saved.DockerContext
	}
	return cfg
}

// Settings returns the saved settings and what is in effect.
func (r *Root) Settings() (settings.View, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.view(), nil
}

// SaveSettings saves s and re-points the core at the definitions and the
// engine now in effect.
func (r *Root) SaveSettings(s settings.Settings) (settings.View, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.save(s); err != nil {
		return settings.View{}, err
	}
	r.saved, r.loadErr = s, nil
	cfg := Resolve(r.flags, s, r.getenv)
	r.defs.point(cfg.DefinitionsDir)
	r.repo.point(cfg.DefinitionsDir)
	r.src.point(engine.Options{Host: cfg.DockerHost, Context: cfg.DockerContext})
	return r.view(), nil
}

func (r *Root) view() settings.View {
	cfg := Resolve(r.flags, r.saved, r.getenv)
	v := settings.View{
		Saved:     r.saved,
		Effective: settings.Settings{DefinitionsDir: cfg.DefinitionsDir, DockerHost: cfg.DockerHost, DockerContext: cfg.DockerContext},
	}
	v.Path, _ = settings.Path()
	if r.loadErr != nil {
		v.Error = r.loadErr.Error()
	}
	switch {
	case r.flags.DefinitionsDir != "":
		v.Overrides = append(v.Overrides, "definitionsDir: the --definitions flag")
	case r.getenv("BERTH_DEFINITIONS") != "":
		v.Overrides = append(v.Overrides, "definitionsDir: BERTH_DEFINITIONS")
	}
	switch {
	case r.flags.DockerHost != "" || r.flags.DockerContext != "":
		v.Overrides = append(v.Overrides, "docker: the --host/--context flags")
	case r.getenv("DOCKER_HOST") != "":
		v.Overrides = append(v.Overrides, "docker: DOCKER_HOST")
	case r.getenv("DOCKER_CONTEXT") != "":
		v.Overrides = append(v.Overrides, "docker: DOCKER_CONTEXT")
	}
	return v
}
