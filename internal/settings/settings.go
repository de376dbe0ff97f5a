// Package settings keeps the user's Berth settings: a small JSON file in
// the user's config directory (os.UserConfigDir()/berth/settings.json,
// mode 0600), and the desktop window's size and place next to it.
package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Settings are what the user chose in the app. Empty fields mean "the
// default": flags and environment variables, else Berth's defaults.
type Settings struct {
	// DefinitionsDir is the definitions repo (a folder of <name>/berth.yaml).
	DefinitionsDir string `json:"definitionsDir,omitempty"`
	// DockerHost and DockerContext choose the Docker target.
	DockerHost    string `json:"dockerHost,omitempty"`
	DockerContext string `json:"dockerContext,omitempty"`
	// FetchInterval is how often the app fetches a cloned definitions
	// repo, as a Go duration ("5m", "30s"); "0" turns it off; empty: 5m.
	FetchInterval string `json:"fetchInterval,omitempty"`
	// WorkspaceKeepDays is how many days an unused workspace (a
	// materialised revision no environment needs) stays after its last
	// use; nil: 14; 0 keeps only those in use (and the last hour's).
	WorkspaceKeepDays *int `json:"workspaceKeepDays,omitempty"`
	// RepoTokenEnv names the environment variable that holds the https
	// token of the definitions repo (default BERTH_REPO_TOKEN). The token
	// itself is never saved.
	RepoTokenEnv string `json:"repoTokenEnv,omitempty"`
	// Notes also records each deploy, rollback and up as a git note on its
	// revision (refs/notes/berth in the definitions repo).
	Notes bool `json:"notes,omitempty"`
	// Refuse names capabilities no definition may have, whatever the user
	// grants it ("privileged", "docker-socket", ..., or "outside" for any
	// file outside its folder).
	Refuse []string `json:"refuse,omitempty"`
}

// Window is the desktop window's last size and place.
type Window struct {
	X         int  `json:"x"`
	Y         int  `json:"y"`
	Width     int  `json:"width"`
	Height    int  `json:"height"`
	Maximised bool `json:"maximised,omitempty"`
}

// Dir is the folder holding Berth's settings files.
func Dir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the settings folder: %w", err)
	}
	return filepath.Join(d, "berth"), nil
}

// Path is the settings file.
func Path() (string, error) { return file("settings.json") }

// WindowPath is the window file, next to the settings file.
func WindowPath() (string, error) { return file("window.json") }

func file(name string) (string, error) {
	d, err := Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, name), nil
}

// Load reads the settings; a missing file is the zero Settings.
func Load() (Settings, error) {
	var s Settings
	p, err := Path()
	if err != nil {
		return s, err
	}
	return s, read(p, &s)
}

// Save writes the settings (0600), replacing the file atomically.
func Save(s Settings) error {
	p, err := Path()
	if err != nil {
		return err
	}
	return write(p, s)
}

// LoadWindow reads the window's last size and place; ok is false when none
// was saved.
func LoadWindow() (w Window, ok bool, err error) {
	p, err := WindowPath()
	if err != nil {
		return w, false, err
	}
	if err := read(p, &w); err != nil {
		return w, false, err
	}
	return w, w.Width > 0 && w.Height > 0, nil
}

// SaveWindow writes the window's size and place.
func SaveWindow(w Window) error {
	p, err := WindowPath()
	if err != nil {
		return err
	}
	return write(p, w)
}

func read(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read settings: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read settings %s: %w", path, err)
	}
	return nil
}

func write(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".settings-*")
	if err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save settings: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save settings: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}

// View is what the settings screen shows: the saved settings, the values
// in effect, and what overrides the saved ones (flags, environment).
type View struct {
	Saved     Settings `json:"saved"`
	Effective Settings `json:"effective"`
	// Overrides lists saved settings that a flag or an environment
	// variable overrides, e.g. "docker: DOCKER_HOST".
	Overrides []string `json:"overrides,omitempty"`
	Path      string   `json:"path"`
	// Error says why the settings file could not be read.
	Error string `json:"error,omitempty"`
}
