package root

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/engine"
	"github.com/berthdev/berth/internal/gitsrc"
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

// lookupenv reads one variable of the user's environment for a
// definition that was granted it.
var lookupenv = os.LookupEnv

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
	if err == nil {
		r.src.ids = &engineIDs{path: filepath.Join(dataDir, "engines.json")}
	}
	r.store = &storeAdapter{dataDir: dataDir, err: err, engine: r.src.identity}
	r.src.goldenUsed = r.store.useGolden
	opts := []core.Option{core.WithStore(r.store), core.WithLocker(locker{dataDir: dataDir, err: err, engine: r.src.identity})}
	opts = append(opts, core.WithFileWatcher(fileWatcher{}))
	opts = append(opts, core.WithDatabases(r.src.databases, r.store), core.WithGoldenRecords(r.store), core.WithDeploySnapshots(getenv("BERTH_DEPLOY_SNAPSHOTS"))) // dbclone.go
	if repo := getenv("BERTH_REPO"); cfg.Repo == "" && repo != "" {
		cfg.Repo = repo
	}
	r.repo = newRepoSource(cfg.Repo, cfg.Branch, cfg.DefinitionsDir, dataDir)
	r.repo.auth = repoAuth(saved, getenv)
	opts = append(opts, core.WithRevisions(r.repo), core.WithFetch(r.repo, r.fetchEvery), core.WithNotes(&notesAdapter{repo: r.repo, wanted: r.notesWanted}))
	opts = append(opts, core.WithWorkspaces(workspaces{dataDir: dataDir, err: err}, r.store, r.keepDays, logf))
	opts = append(opts, core.WithTrust(r.trustSettings(dataDir, lookupenv)))                                                                       // trust.go
	opts = append(opts, core.WithSecrets(lazySecrets{&secretStore{dataDir: dataDir, dirErr: err, getenv: getenv}}), core.WithEnvSettings(r.store)) // secrets.go
	r.core = core.New(r.src.get, r.defs, opts...)
	return r
}

// Close closes the store and the definitions repo (the core must not be
// used afterwards).
func (r *Root) Close() {
	r.core.Close() // the clean-up after a deploy uses the store
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
	if _, err := fetchInterval(s, func(string) string { return "" }); err != nil {
		return settings.View{}, err
	}
	if _, err := workspaceKeepDays(s, func(string) string { return "" }); err != nil {
		return settings.View{}, err
	}
	if err := checkRefuse(s); err != nil {
		return settings.View{}, err
	}
	if err := r.save(s); err != nil {
		return settings.View{}, err
	}
	r.saved, r.loadErr = s, nil
	cfg := Resolve(r.flags, s, r.getenv)
	r.defs.point(cfg.DefinitionsDir)
	r.repo.point(cfg.DefinitionsDir)
	r.src.point(engine.Options{Host: cfg.DockerHost, Context: cfg.DockerContext})
	r.repo.setAuth(repoAuth(s, r.getenv))
	return r.view(), nil
}

func (r *Root) view() settings.View {
	cfg := Resolve(r.flags, r.saved, r.getenv)
	v := settings.View{
		Saved: r.saved,
		Effective: settings.Settings{DefinitionsDir: cfg.DefinitionsDir, DockerHost: cfg.DockerHost, DockerContext: cfg.DockerContext,
			RepoTokenEnv: cmp.Or(r.saved.RepoTokenEnv, defaultTokenEnv)},
	}
	if d, err := fetchInterval(r.saved, r.getenv); err == nil {
		v.Effective.FetchInterval = d.String()
	}
	if r.getenv("BERTH_FETCH_INTERVAL") != "" {
		v.Overrides = append(v.Overrides, "fetchInterval: BERTH_FETCH_INTERVAL")
	}
	if n, err := workspaceKeepDays(r.saved, r.getenv); err == nil {
		v.Effective.WorkspaceKeepDays = &n
	}
	if r.getenv("BERTH_WORKSPACE_KEEP_DAYS") != "" {
		v.Overrides = append(v.Overrides, "workspaceKeepDays: BERTH_WORKSPACE_KEEP_DAYS")
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

// defaultTokenEnv is the environment variable read for the definitions
// repo's https token unless the settings name another.
const defaultTokenEnv = "BERTH_REPO_TOKEN"

// repoAuth is how Berth authenticates to the definitions repo: an https
// token read from an environment variable at each use (the one the
// settings name, else BERTH_REPO_TOKEN when set), with BERTH_REPO_USERNAME
// as the user name; ssh uses the agent or the default keys.
func repoAuth(s settings.Settings, getenv func(string) string) gitsrc.Auth {
	a := gitsrc.Auth{Username: getenv("BERTH_REPO_USERNAME")}
	switch {
	case s.RepoTokenEnv != "":
		a.TokenEnv = s.RepoTokenEnv // named: unset is an error that says so
	case getenv(defaultTokenEnv) != "":
		a.TokenEnv = defaultTokenEnv
	}
	return a
}

// fetchInterval is how often the app fetches a cloned definitions repo:
// BERTH_FETCH_INTERVAL, else the saved setting, else
// core.DefaultFetchInterval; zero turns fetching off.
func fetchInterval(s settings.Settings, getenv func(string) string) (time.Duration, error) {
	v, what := getenv("BERTH_FETCH_INTERVAL"), "BERTH_FETCH_INTERVAL"
	if v == "" {
		v, what = s.FetchInterval, "fetchInterval"
	}
	if v == "" {
		return core.DefaultFetchInterval, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s %q: want a duration such as 5m or 30s, or 0 to turn fetching off", what, v)
	}
	return d, nil
}

// fetchEvery is the fetch interval in effect (a bad value: the default).
func (r *Root) fetchEvery() time.Duration {
	r.mu.Lock()
	saved := r.saved
	r.mu.Unlock()
	d, err := fetchInterval(saved, r.getenv)
	if err != nil {
		return core.DefaultFetchInterval
	}
	return d
}

// workspaceKeepDays is how many days an unused workspace stays after its
// last use: BERTH_WORKSPACE_KEEP_DAYS, else the saved setting, else
// core.DefaultWorkspaceKeepDays.
func workspaceKeepDays(s settings.Settings, getenv func(string) string) (int, error) {
	if v := getenv("BERTH_WORKSPACE_KEEP_DAYS"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return 0, fmt.Errorf("BERTH_WORKSPACE_KEEP_DAYS %q: want a whole number of days, 0 or more", v)
		}
		return n, nil
	}
	if s.WorkspaceKeepDays == nil {
		return core.DefaultWorkspaceKeepDays, nil
	}
	if *s.WorkspaceKeepDays < 0 {
		return 0, fmt.Errorf("workspaceKeepDays %d: want a whole number of days, 0 or more", *s.WorkspaceKeepDays)
	}
	return *s.WorkspaceKeepDays, nil
}

// keepDays is the keep-days setting in effect (a bad value: the default).
func (r *Root) keepDays() int {
	r.mu.Lock()
	saved := r.saved
	r.mu.Unlock()
	n, err := workspaceKeepDays(saved, r.getenv)
	if err != nil {
		return core.DefaultWorkspaceKeepDays
	}
	return n
}

// notesWanted says whether the settings or the environment turn git notes
// on or off (BERTH_NOTES=1 or 0 wins over the saved setting); ok is false
// when neither says, and the repo's own config (berth.notes) decides.
func (r *Root) notesWanted() (on, ok bool) {
	switch strings.ToLower(r.getenv("BERTH_NOTES")) {
	case "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.saved.Notes {
		return true, true
	}
	return false, false
}
