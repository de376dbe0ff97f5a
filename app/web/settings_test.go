package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/berthdev/berth/internal/settings"
)

// fakeSettings keeps settings in memory and counts saves.
type fakeSettings struct {
	mu    sync.Mutex
	saved settings.Settings
	saves int
}

func (f *fakeSettings) Settings() (settings.View, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return settings.View{Saved: f.saved, Effective: f.saved, Path: "/home/ada/.config/berth/settings.json"}, nil
}

func (f *fakeSettings) SaveSettings(s settings.Settings) (settings.View, error) {
	f.mu.Lock()
	f.saved = s
	f.saves++
	f.mu.Unlock()
	return f.Settings()
}

// TestSettingsReadOnlyFromTheBrowser: the settings that choose the engine,
// the definitions and where the repo token comes from cannot be changed
// over HTTP; the others can, and the page is told which are read-only.
func TestSettingsReadOnlyFromTheBrowser(t *testing.T) {
	keep := 7
	fs := &fakeSettings{saved: settings.Settings{DefinitionsDir: "/home/ada/defs", DockerHost: "unix:///var/run/docker.sock", RepoTokenEnv: "GITEA_TOKEN", FetchInterval: "5m", Refuse: []string{"privileged"}}}
	h := newHandler(t.Context(), &fakeCore{listing: sampleListing()}, handlerConfig{token: testToken, hosts: []string{testHost}, settings: fs})
	put := func(s settings.Settings) *http.Response {
		t.Helper()
		b, _ := json.Marshal(s)
		return do(h, "PUT", "/api/settings", strings.NewReader(string(b)), bearer).Result()
	}

	w := do(h, "GET", "/api/settings", nil, bearer)
	var view struct {
		Saved    settings.Settings `json:"saved"`
		ReadOnly []string          `json:"readOnly"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &view); err != nil || w.Code != http.StatusOK {
		t.Fatalf("GET /api/settings = %d %s (%v)", w.Code, w.Body, err)
	}
	if strings.Join(view.ReadOnly, " ") != "definitionsDir dockerHost dockerContext repoTokenEnv refuse" || view.Saved.DefinitionsDir != "/home/ada/defs" {
		t.Errorf("view %+v", view)
	}

	for _, c := range []struct {
		field  string
		change func(*settings.Settings)
	}{
		{"definitionsDir", func(s *settings.Settings) { s.DefinitionsDir = "/tmp/evil" }},
		{"dockerHost", func(s *settings.Settings) { s.DockerHost = "tcp://203.0.113.9:2375" }},
		{"dockerContext", func(s *settings.Settings) { s.DockerContext = "elsewhere" }},
		{"repoTokenEnv", func(s *settings.Settings) { s.RepoTokenEnv = "AWS_SECRET_ACCESS_KEY" }},
		{"repoTokenEnv", func(s *settings.Settings) { s.RepoTokenEnv = "" }},
		{"refuse", func(s *settings.Settings) { s.Refuse = nil }},
	} {
		s := fs.saved
		s.FetchInterval = "1m" // an allowed change along with it
		c.change(&s)
		res := put(s)
		var e struct{ Error string }
		json.NewDecoder(res.Body).Decode(&e)
		if res.StatusCode != http.StatusForbidden || !strings.HasPrefix(e.Error, c.field+" cannot be changed from the browser") || !strings.Contains(e.Error, "settings.json") {
			t.Errorf("changing %s: %d %q", c.field, res.StatusCode, e.Error)
		}
	}
	s := fs.saved
	s.DockerHost, s.DockerContext = "ssh://x", "y"
	res := put(s)
	var e struct{ Error string }
	json.NewDecoder(res.Body).Decode(&e)
	if res.StatusCode != http.StatusForbidden || !strings.HasPrefix(e.Error, "dockerHost, dockerContext cannot be changed") {
		t.Errorf("changing two: %d %q", res.StatusCode, e.Error)
	}
	if fs.saves != 0 || fs.saved.FetchInterval != "5m" {
		t.Fatalf("a refused change saved something: %d saves, %+v", fs.saves, fs.saved)
	}

	// The rest can change, with the read-only fields as they are.
	s = fs.saved
	s.FetchInterval, s.WorkspaceKeepDays, s.Notes = "30s", &keep, true
	if res := put(s); res.StatusCode != http.StatusOK {
		t.Fatalf("changing the fetch interval: %d", res.StatusCode)
	}
	if fs.saves != 1 || fs.saved.FetchInterval != "30s" || fs.saved.DockerHost != "unix:///var/run/docker.sock" {
		t.Errorf("saved %+v (%d saves)", fs.saved, fs.saves)
	}
}
