package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/berthdev/berth/internal/settings"
)

// browserReadOnly are the settings the browser may read but not change:
// those that choose where Berth's credentials go and what it drives. The
// Docker host and context pick the engine, which runs whatever it is told
// with the user's privileges and receives registry credentials; the token
// variable's name decides which of the user's environment variables is
// sent to the definitions repo as its https token; and the definitions
// folder decides what Berth runs, so a browser that could repoint it at a
// folder of its choosing (a temporary folder, a volume a container writes)
// would choose the Compose files, bind mounts and builds that run on this
// machine; and the capabilities the settings refuse are the user's floor
// under every grant, which a browser must not lower. A stolen or leaked
// token then still drives only the definitions and the engine the user
// chose, within the refusals the user set. The desktop window, the CLI
// flags and the settings file change them.
var browserReadOnly = []struct {
	name string
	get  func(settings.Settings) string
}{
	{"definitionsDir", func(s settings.Settings) string { return s.DefinitionsDir }},
	{"dockerHost", func(s settings.Settings) string { return s.DockerHost }},
	{"dockerContext", func(s settings.Settings) string { return s.DockerContext }},
	{"repoTokenEnv", func(s settings.Settings) string { return s.RepoTokenEnv }},
	{"refuse", func(s settings.Settings) string { return strings.Join(s.Refuse, "\x00") }},
}

// settingsView is settings.View with the fields the page must show
// read-only.
type settingsView struct {
	settings.View
	ReadOnly []string `json:"readOnly"`
}

func readOnlyNames() []string {
	out := make([]string, len(browserReadOnly))
	for i, f := range browserReadOnly {
		out[i] = f.name
	}
	return out
}

func (h *handler) getSettings(w http.ResponseWriter, r *http.Request) {
	v, err := h.svc.GetSettings()
	answer(w)(settingsView{View: v, ReadOnly: readOnlyNames()}, err)
}

// putSettings saves settings whose read-only fields are as saved; a change
// to any of them is refused (403) naming them, and nothing is saved.
func (h *handler) putSettings(w http.ResponseWriter, r *http.Request) {
	var body settings.Settings
	if !readBody(w, r, &body) {
		return
	}
	cur, err := h.svc.GetSettings()
	if err != nil {
		answer(w)(nil, err)
		return
	}
	var changed []string
	for _, f := range browserReadOnly {
		if f.get(body) != f.get(cur.Saved) {
			changed = append(changed, f.name)
		}
	}
	if len(changed) > 0 {
		writeError(w, http.StatusForbidden, fmt.Errorf("%s cannot be changed from the browser: %s where Berth's credentials go and what it runs; change %s in the desktop app or the settings file (%s)",
			strings.Join(changed, ", "), plural(len(changed), "it decides", "they decide"), plural(len(changed), "it", "them"), cur.Path))
		return
	}
	v, err := h.svc.SaveSettings(body)
	answer(w)(settingsView{View: v, ReadOnly: readOnlyNames()}, err)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
