package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/reconcile"
)

// dataCore answers the database and drift methods and records the calls;
// its drift watcher pushes one report of shop.
type dataCore struct {
	fakeCore
	calls  chan string
	paused sync.Map
}

func str(s string) *string { return &s }

func driftedShop() *core.DriftReport {
	return &core.DriftReport{Env: "shop", Definition: "shop", Policy: "warn", Files: []core.FileChange{}, Local: []core.FileChange{},
		Runtime: []drift.Item{{Service: "web", Path: "/hostConfig/memory", Desired: str("0"), Live: str("67108864"), Kind: drift.KindChanged}}}
}

func (f *dataCore) WatchAll(ctx context.Context, opts core.DriftWatchOptions, out func(core.Change)) error {
	out(core.Change{Kind: core.ChangeDrift, Env: "shop", Drift: driftedShop()})
	<-ctx.Done()
	return nil
}

func (f *dataCore) DBList(ctx context.Context, env string) ([]core.DBInfo, error) {
	if env != "shop" {
		return nil, fmt.Errorf("environment %q: %w", env, core.ErrNotFound)
	}
	return []core.DBInfo{{Env: env, Service: "db", Engine: "postgres", Source: "seed db/seed.sql", Strategy: "reflink",
		Snapshots: []core.DBSnapshot{{ID: 1, Name: "s1", Env: env, Service: "db", Size: 4096}}}}, nil
}

func (f *dataCore) op(what string, env string, emit core.Emit) {
	f.calls <- what
	emit(core.Event{Env: env, Kind: "db", Detail: "copy", DB: &core.DBProgress{Service: "db", Step: "copy", Done: 1, Total: 2}})
}

func (f *dataCore) DBClone(ctx context.Context, req core.DBCloneRequest, emit core.Emit) (*core.DBResult, error) {
	from := "manifest"
	if req.From != nil {
		from = req.From.Kind() + ":" + req.From.Seed + req.From.URL + req.From.Env + req.From.Snapshot
	}
	f.op("clone "+req.Service+" "+from, req.Env, emit)
	return &core.DBResult{Env: req.Env, Service: "db", Op: "clone", From: from}, nil
}

func (f *dataCore) DBSnapshot(ctx context.Context, req core.DBSnapshotRequest, emit core.Emit) (*core.DBResult, error) {
	f.op("snapshot "+req.Service+" "+req.Name, req.Env, emit)
	return &core.DBResult{Env: req.Env, Service: "db", Op: "snapshot", Snapshot: &core.DBSnapshot{Name: req.Name}}, nil
}

func (f *dataCore) DBRestore(ctx context.Context, req core.DBRestoreRequest, emit core.Emit) (*core.DBResult, error) {
	f.op("restore "+req.Snapshot, req.Env, emit)
	return &core.DBResult{Env: req.Env, Service: "db", Op: "restore"}, nil
}

func (f *dataCore) DBReset(ctx context.Context, req core.DBResetRequest, emit core.Emit) (*core.DBResult, error) {
	f.op("reset "+req.Service, req.Env, emit)
	return &core.DBResult{Env: req.Env, Service: "db", Op: "reset"}, nil
}

func (f *dataCore) DBRemove(ctx context.Context, req core.DBRemoveRequest) error {
	f.calls <- "rm " + req.Snapshot
	if req.Snapshot == "nope" {
		return fmt.Errorf("snapshot %q: %w", req.Snapshot, core.ErrNotFound)
	}
	return nil
}

func (f *dataCore) Check(ctx context.Context, env string) (*core.DriftReport, error) {
	return driftedShop(), nil
}

func (f *dataCore) PlanSync(ctx context.Context, env string) (*core.SyncResult, error) {
	op := reconcile.Op{ID: 1, Kind: reconcile.OpRecreate, Resource: env + "-web-1", Cause: "memory changed"}
	return &core.SyncResult{Result: core.Result{Env: env, Plan: reconcile.Plan{Project: env, Ops: []reconcile.Op{op}}}}, nil
}

func (f *dataCore) Sync(ctx context.Context, env string, yes bool, confirm core.Confirm, emit core.Emit) (*core.SyncResult, error) {
	res, _ := f.PlanSync(ctx, env)
	if res.Plan.Destructive() && !yes && (confirm == nil || !confirm(core.DeployPlan{Env: env, Kind: core.KindHeal, Result: &res.Result})) {
		return res, core.ErrConfirm
	}
	f.calls <- "sync"
	res.After = &core.DriftReport{Env: env, InSync: true}
	return res, nil
}

func (f *dataCore) Discard(ctx context.Context, env string, emit core.Emit) ([]core.FileChange, error) {
	f.calls <- "discard"
	return []core.FileChange{{Path: "conf/app.conf", Kind: "modified"}}, nil
}

func (f *dataCore) Adopt(ctx context.Context, req core.AdoptRequest) (*core.AdoptResult, error) {
	f.calls <- "adopt " + req.Branch
	return &core.AdoptResult{Env: req.Env, Branch: req.Branch, Commit: core.Revision{Hash: "abc", Short: "abc"}}, nil
}

func (f *dataCore) PauseHealing(env string, d time.Duration) time.Time {
	if d <= 0 {
		f.paused.Delete(env)
		return time.Time{}
	}
	until := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(d)
	f.paused.Store(env, until)
	return until
}

func (f *dataCore) HealingPausedUntil(env string) time.Time {
	if v, ok := f.paused.Load(env); ok {
		return v.(time.Time)
	}
	return time.Time{}
}

// TestDatabaseAndDriftEndpoints: each route reaches its core method with
// the request's values, answers its result as JSON (or the error with
// its status), database progress streams as "berth:event", and the
// drift watcher's reports stream as "berth:change" and are kept for
// GET /api/drift.
func TestDatabaseAndDriftEndpoints(t *testing.T) {
	f := &dataCore{calls: make(chan string, 16)}
	srv := httptest.NewServer(newHandler(t.Context(), f, handlerConfig{token: testToken}))
	defer srv.Close()
	h := srv.Config.Handler.(*handler)
	h.hosts[strings.TrimPrefix(srv.URL, "http://")] = true

	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/events?ticket="+ticketFor(t, srv.Client(), srv.URL), nil)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events := bufio.NewScanner(res.Body)
	// nextOf returns the data of the next event named name.
	nextOf := func(name string) string {
		var event string
		for events.Scan() {
			line := events.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				event = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok && event == name {
				return v
			}
		}
		t.Fatalf("the stream ended before a %s", name)
		return ""
	}

	call := func(method, path, body string) (int, string) {
		r, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+testToken)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		res, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b strings.Builder
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			b.WriteString(sc.Text())
		}
		return res.StatusCode, b.String()
	}

	// The watcher started with the handler has reported shop's drift.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body := call("GET", "/api/drift", "")
		if strings.Contains(body, `"/hostConfig/memory"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /api/drift = %s, want shop's report", body)
		}
		time.Sleep(20 * time.Millisecond)
	}

	tests := []struct {
		name, method, path, body string
		status                   int
		call                     string // the core call it makes, "" for none
		answer                   string // a part of the answer
		event                    bool   // a database progress event follows
	}{
		{"list", "GET", "/api/environments/shop/databases", "", 200, "", `"source":"seed db/seed.sql"`, false},
		{"list unknown", "GET", "/api/environments/gone/databases", "", 404, "", `not found`, false},
		{"clone", "POST", "/api/environments/shop/databases/clone", `{"service":"db","from":"env:base"}`, 200, "clone db env:base", `"op":"clone"`, true},
		{"snapshot", "POST", "/api/environments/shop/databases/snapshot", `{"name":"before"}`, 200, "snapshot  before", `"name":"before"`, true},
		{"reset", "POST", "/api/environments/shop/databases/reset", `{"service":"db"}`, 200, "reset db", `"op":"reset"`, true},
		{"restore", "POST", "/api/environments/shop/snapshots/s1/restore", "", 200, "restore s1", `"op":"restore"`, true},
		{"remove", "DELETE", "/api/environments/shop/snapshots/s1", "", 200, "rm s1", `{}`, false},
		{"remove unknown", "DELETE", "/api/environments/shop/snapshots/nope", "", 404, "rm nope", `not found`, false},
		{"check", "GET", "/api/environments/shop/drift", "", 200, "", `"live":"67108864"`, false},
		{"plan sync", "POST", "/api/environments/shop/plan-sync", "", 200, "", `"memory changed"`, false},
		{"sync applies the plan shown", "POST", "/api/environments/shop/sync", "", 200, "sync", `"inSync":true`, false},
		{"discard", "POST", "/api/environments/shop/discard", "", 200, "discard", `"conf/app.conf"`, false},
		{"adopt", "POST", "/api/environments/shop/adopt", `{"branch":"keep-memory"}`, 200, "adopt keep-memory", `"branch":"keep-memory"`, false},
		{"pause", "PUT", "/api/environments/shop/healing", `{"pauseMinutes":15}`, 200, "", `"until":"2030-01-01T00:15:00Z"`, false},
		{"paused", "GET", "/api/environments/shop/healing", "", 200, "", `"until":"2030-01-01T00:15:00Z"`, false},
		{"pause too long", "PUT", "/api/environments/shop/healing", `{"pauseMinutes":100000}`, 500, "", `1440 minutes`, false},
		{"resume", "PUT", "/api/environments/shop/healing", `{"pauseMinutes":0}`, 200, "", `{"env":"shop"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(tt.method, tt.path, tt.body)
			if status != tt.status || !strings.Contains(body, tt.answer) {
				t.Fatalf("%s %s = %d %s, want %d with %s", tt.method, tt.path, status, body, tt.status, tt.answer)
			}
			if tt.call != "" {
				select {
				case got := <-f.calls:
					if got != tt.call {
						t.Fatalf("core call %q, want %q", got, tt.call)
					}
				default:
					t.Fatalf("no core call, want %q", tt.call)
				}
			}
			if tt.event {
				var ev core.Event
				if err := json.Unmarshal([]byte(nextOf("berth:event")), &ev); err != nil || ev.DB == nil || ev.DB.Step != "copy" || ev.DB.Total != 2 {
					t.Fatalf("progress event %+v (%v), want the copy step", ev, err)
				}
			}
		})
	}
	// The report Check and Sync returned went out as changes too.
	for _, want := range []string{`"/hostConfig/memory"`, `"inSync":true`} {
		if data := nextOf("berth:change"); !strings.Contains(data, `"kind":"drift"`) || !strings.Contains(data, want) {
			// The watcher's first report may come first.
			if data = nextOf("berth:change"); !strings.Contains(data, want) {
				t.Fatalf("change %s, want a drift report with %s", data, want)
			}
		}
	}
}
