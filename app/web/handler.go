package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth/app/api"
	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/secret"
)

// maxBody is the largest request body (the API's are small JSON).
const maxBody = 64 << 10

// writeTimeout is how long writing one response (or one event of the
// stream) may take, counted from when it starts; the server's own
// WriteTimeout would count from the request and cut an operation's answer
// or the event stream. A variable: tests shorten it.
var writeTimeout = 30 * time.Second

type handlerConfig struct {
	token  string
	assets fs.FS
	// hosts are the Host values that name this server; anyHost accepts
	// every Host (a server listening on all addresses).
	hosts   []string
	anyHost bool
	// tls: the server is reached over https.
	tls bool
	// settings, when set, serves GET and PUT /api/settings.
	settings api.Settings
	// now is the clock of event stream tickets; nil: time.Now.
	now func() time.Time
}

// handler is the dashboard: authentication, the API and the frontend.
type handler struct {
	svc     *api.Service
	cfg     handlerConfig
	hub     *hub
	mux     *http.ServeMux
	hosts   map[string]bool
	tickets *tickets
}

// newHandler returns the dashboard's handler. Operations and log streams
// run under ctx, not under their request's context, so that closing the
// browser tab does not abort a deployment half-way; ending ctx cancels
// them. It also starts the watcher that pushes live state changes.
func newHandler(ctx context.Context, b CoreAPI, cfg handlerConfig) *handler {
	h := &handler{cfg: cfg, hub: newHub(), mux: http.NewServeMux(), hosts: map[string]bool{}, tickets: newTickets(cfg.now)}
	h.svc = api.New(b, cfg.settings, h.hub.publish)
	for _, host := range cfg.hosts {
		h.hosts[strings.ToLower(host)] = true
	}
	go h.svc.Watch(ctx)
	h.mux.HandleFunc("GET /api/environments", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.ListEnvironments(r.Context()))
	})
	h.mux.HandleFunc("GET /api/environments/{name}", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.Status(r.Context(), r.PathValue("name")))
	})
	h.mux.HandleFunc("POST /api/plan", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Definition, As, Variant string }
		if readBody(w, r, &body) {
			answer(w)(h.svc.Plan(r.Context(), body.Definition, body.As, body.Variant))
		}
	})
	h.mux.HandleFunc("POST /api/environments/{name}/up", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Definition, Variant string }
		if readBody(w, r, &body) {
			answer(w)(h.svc.Up(ctx, r.PathValue("name"), body.Definition, body.Variant))
		}
	})
	h.mux.HandleFunc("POST /api/environments/{name}/shell", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Service string }
		if readBody(w, r, &body) {
			// The browser may be on another machine than this server: the
			// page says the command rather than opening a window here.
			answer(w)(&api.Shell{Command: "berth exec " + r.PathValue("name") + " " + body.Service, Why: "web mode: run it in a terminal"}, nil)
		}
	})
	h.mux.HandleFunc("GET /api/preflight", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		answer(w)(h.svc.Preflight(r.Context(), q.Get("definition"), q.Get("variant")))
	})
	h.mux.HandleFunc("POST /api/open", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Where string }
		if readBody(w, r, &body) {
			answer(w)(h.svc.OpenRepository(r.Context(), body.Where))
		}
	})
	h.mux.HandleFunc("GET /api/secrets", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.ListSecrets(r.Context(), r.URL.Query().Get("owner")))
	})
	h.mux.HandleFunc("POST /api/secrets/set", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Owner, Name, Value string
			Environment        bool
		}
		if readBody(w, r, &body) {
			answer(w)(h.svc.SetSecret(r.Context(), body.Owner, body.Name, body.Value, body.Environment))
		}
	})
	h.mux.HandleFunc("POST /api/secrets/remove", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Owner, Name string
			Environment bool
		}
		if readBody(w, r, &body) {
			answer(w)(h.svc.RemoveSecret(r.Context(), body.Owner, body.Name, body.Environment))
		}
	})
	h.mux.HandleFunc("POST /api/environments/{name}/down", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Volumes bool }
		if readBody(w, r, &body) {
			answer(w)(h.svc.Down(ctx, r.PathValue("name"), body.Volumes))
		}
	})
	h.mux.HandleFunc("POST /api/environments/{name}/plan-down", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Volumes bool }
		if readBody(w, r, &body) {
			answer(w)(h.svc.PlanDown(r.Context(), r.PathValue("name"), body.Volumes))
		}
	})
	h.mux.HandleFunc("POST /api/environments/{name}/services/{service}/recreate", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.Recreate(ctx, r.PathValue("name"), r.PathValue("service")))
	})
	h.mux.HandleFunc("POST /api/environments/{name}/services/{service}/plan-recreate", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.PlanRecreate(r.Context(), r.PathValue("name"), r.PathValue("service")))
	})
	h.mux.HandleFunc("GET /api/environments/{name}/revisions", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.Revisions(r.Context(), r.PathValue("name")))
	})
	h.mux.HandleFunc("POST /api/environments/{name}/plan-deploy", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Definition, Rev string }
		if readBody(w, r, &body) {
			answer(w)(h.svc.PlanDeploy(r.Context(), r.PathValue("name"), body.Definition, body.Rev))
		}
	})
	h.mux.HandleFunc("POST /api/environments/{name}/deploy", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Definition, Rev string }
		if readBody(w, r, &body) {
			answer(w)(h.svc.Deploy(ctx, r.PathValue("name"), body.Definition, body.Rev))
		}
	})
	h.mux.HandleFunc("POST /api/environments/{name}/plan-rollback", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ To string }
		if readBody(w, r, &body) {
			answer(w)(h.svc.PlanRollback(r.Context(), r.PathValue("name"), body.To))
		}
	})
	h.mux.HandleFunc("POST /api/environments/{name}/rollback", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ To string }
		if readBody(w, r, &body) {
			answer(w)(h.svc.Rollback(ctx, r.PathValue("name"), body.To))
		}
	})
	h.mux.HandleFunc("GET /api/environments/{name}/history", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := api.HistoryFilter{Kinds: q["kind"], Status: q.Get("status")}
		if l := q.Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 0 {
				writeError(w, http.StatusBadRequest, fmt.Errorf("limit %q is not a count", l))
				return
			}
			f.Limit = n
		}
		answer(w)(h.svc.History(r.Context(), r.PathValue("name"), f))
	})
	h.mux.HandleFunc("GET /api/environments/{name}/databases", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.Databases(r.Context(), r.PathValue("name")))
	})
	h.mux.HandleFunc("POST /api/environments/{name}/databases/clone", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Service, From string }
		if readBody(w, r, &body) {
			answer(w)(h.svc.DBClone(ctx, r.PathValue("name"), body.Service, body.From))
		}
	})
	h.mux.HandleFunc("POST /api/environments/{name}/databases/snapshot", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Service, Name string }
		if readBody(w, r, &body) {
			answer(w)(h.svc.DBSnapshot(ctx, r.PathValue("name"), body.Service, body.Name))
		}
	})
	h.mux.HandleFunc("POST /api/environments/{name}/databases/reset", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Service string }
		if readBody(w, r, &body) {
			answer(w)(h.svc.DBReset(ctx, r.PathValue("name"), body.Service))
		}
	})
	h.mux.HandleFunc("POST /api/environments/{name}/snapshots/{snap}/restore", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.DBRestore(ctx, r.PathValue("name"), r.PathValue("snap")))
	})
	h.mux.HandleFunc("DELETE /api/environments/{name}/snapshots/{snap}", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(map[string]string{}, h.svc.DBRemove(ctx, r.PathValue("name"), r.PathValue("snap")))
	})
	h.mux.HandleFunc("GET /api/drift", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.DriftReports(), nil)
	})
	h.mux.HandleFunc("GET /api/environments/{name}/drift", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.Check(r.Context(), r.PathValue("name")))
	})
	h.mux.HandleFunc("POST /api/environments/{name}/plan-sync", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.PlanSync(r.Context(), r.PathValue("name")))
	})
	h.mux.HandleFunc("POST /api/environments/{name}/sync", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.Sync(ctx, r.PathValue("name")))
	})
	h.mux.HandleFunc("POST /api/environments/{name}/discard", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.Discard(ctx, r.PathValue("name")))
	})
	h.mux.HandleFunc("POST /api/environments/{name}/adopt", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Branch string }
		if readBody(w, r, &body) {
			answer(w)(h.svc.Adopt(ctx, r.PathValue("name"), body.Branch))
		}
	})
	h.mux.HandleFunc("GET /api/environments/{name}/healing", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.HealingPaused(r.PathValue("name")))
	})
	h.mux.HandleFunc("PUT /api/environments/{name}/healing", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			PauseMinutes int `json:"pauseMinutes"`
		}
		if readBody(w, r, &body) {
			answer(w)(h.svc.PauseHealing(r.PathValue("name"), body.PauseMinutes))
		}
	})
	h.mux.HandleFunc("GET /api/environments/{name}/watch", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.WatchStatus(r.PathValue("name")))
	})
	h.mux.HandleFunc("PUT /api/environments/{name}/watch", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Watching bool `json:"watching"`
		}
		if readBody(w, r, &body) {
			answer(w)(h.svc.SetWatch(ctx, r.PathValue("name"), body.Watching))
		}
	})
	h.mux.HandleFunc("POST /api/logs", func(w http.ResponseWriter, r *http.Request) {
		var body api.LogRequest
		if readBody(w, r, &body) {
			id, err := h.svc.SubscribeLogs(ctx, body)
			answer(w)(map[string]string{"id": id}, err)
		}
	})
	h.mux.HandleFunc("DELETE /api/logs/{id}", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(map[string]string{}, h.svc.UnsubscribeLogs(r.PathValue("id")))
	})
	h.mux.HandleFunc("GET /api/definitions/{name}/trust", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(h.svc.ReviewTrust(r.Context(), r.PathValue("name"), r.URL.Query().Get("rev")))
	})
	h.mux.HandleFunc("POST /api/definitions/{name}/trust", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Rev    string `json:"rev"`
			Digest string `json:"digest"`
		}
		if readBody(w, r, &body) {
			answer(w)(h.svc.Trust(r.Context(), r.PathValue("name"), body.Rev, body.Digest))
		}
	})
	h.mux.HandleFunc("DELETE /api/definitions/{name}/trust", func(w http.ResponseWriter, r *http.Request) {
		answer(w)(map[string]string{}, h.svc.RevokeTrust(r.Context(), r.PathValue("name"), r.URL.Query().Get("rev")))
	})
	h.mux.HandleFunc("GET /api/settings", h.getSettings)
	h.mux.HandleFunc("PUT /api/settings", h.putSettings)
	h.mux.HandleFunc("POST /api/events/ticket", h.ticket)
	h.mux.HandleFunc("GET /api/events", h.events)
	h.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	if cfg.assets != nil {
		files := http.FileServerFS(cfg.assets)
		h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			writeDeadline(w)
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				w.Header().Set("Allow", "GET, HEAD")
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			files.ServeHTTP(w, r)
		})
	}
	return h
}

// answer writes a result as JSON, or the error with its status.
func answer(w http.ResponseWriter) func(any, error) {
	return func(v any, err error) {
		if err != nil {
			writeError(w, statusOf(err), err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// readBody decodes an optional JSON body into v; on a bad one it answers
// 400 (413 past maxBody) and returns false.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength == 0 {
		return true
	}
	err := json.NewDecoder(r.Body).Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("the request body is over %d bytes", tooBig.Limit))
		return false
	case err != nil && !errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, fmt.Errorf("read the request: %w", err))
		return false
	}
	return true
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")

	if !h.cfg.anyHost && !h.hosts[strings.ToLower(r.Host)] {
		// A page of another site that got its name to resolve to this
		// machine (DNS rebinding) arrives with its own name as Host.
		writeError(w, http.StatusForbidden, fmt.Errorf("unexpected host %q", r.Host))
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" && !h.sameOrigin(origin, r.Host) {
		writeError(w, http.StatusForbidden, fmt.Errorf("requests from %s are not allowed", origin))
		return
	}
	if !h.authenticate(w, r) {
		return
	}
	if r.ContentLength > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("the request body is over %d bytes", maxBody))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	h.mux.ServeHTTP(w, r)
}

// sameOrigin reports whether origin is this server's own.
func (h *handler) sameOrigin(origin, host string) bool {
	scheme := "http"
	if h.cfg.tls {
		scheme = "https"
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != scheme {
		return false
	}
	if h.cfg.anyHost {
		return strings.EqualFold(u.Host, host)
	}
	return h.hosts[strings.ToLower(u.Host)]
}

// keepAlive is how often an idle event stream gets a comment line, so
// that proxies and browsers keep it open.
var keepAlive = 20 * time.Second

// events streams core events to the browser as server-sent events. The
// stream has no deadline as a whole; each write has writeTimeout, so a
// client that stops reading is dropped.
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	evs, unsubscribe := h.hub.subscribe()
	defer unsubscribe()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	writeDeadline(w)
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, ": connected\n\n"); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}
	_ = rc.SetWriteDeadline(time.Time{})
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			writeDeadline(w)
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return
			}
		case m := <-evs:
			data, err := json.Marshal(m.data)
			if err != nil {
				continue
			}
			writeDeadline(w)
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", m.name, data); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
		// Idle between events: no deadline (over HTTP/2 a deadline is a
		// timer that resets the stream even when nothing is written).
		_ = rc.SetWriteDeadline(time.Time{})
	}
}

// statusOf maps core errors to HTTP statuses.
func statusOf(err error) int {
	switch {
	case errors.Is(err, api.ErrBusy), errors.Is(err, core.ErrBusy), errors.Is(err, core.ErrConfirm):
		return http.StatusConflict
	case errors.Is(err, core.ErrUntrusted), errors.Is(err, core.ErrRefused):
		return http.StatusForbidden
	case errors.Is(err, core.ErrNoRepo), errors.Is(err, core.ErrUnsafe), errors.Is(err, core.ErrNoDatabases), errors.Is(err, core.ErrNoDrift):
		return http.StatusUnprocessableEntity
	case errors.Is(err, core.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, core.ErrEngine):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeDeadline gives the response writeTimeout from now to be written
// (operations answer after minutes: the deadline starts with the answer).
// A writer that cannot set deadlines (tests' recorders) is left alone.
func writeDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeDeadline(w)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// Encode writes once: the values of stored secrets are masked whole.
	_ = json.NewEncoder(secret.RedactWriter(w)).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	// An untrusted or refused definition carries its review, so that the
	// page can show what it asks for and offer the grant.
	var ue *core.UntrustedError
	var re *core.RefusedError
	switch {
	case errors.As(err, &ue):
		writeJSON(w, status, map[string]any{"error": err.Error(), "trust": ue.Review})
	case errors.As(err, &re):
		writeJSON(w, status, map[string]any{"error": err.Error(), "trust": re.Review})
	default:
		writeJSON(w, status, map[string]string{"error": err.Error()})
	}
}
