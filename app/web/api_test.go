package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/reconcile"
)

// watchingCore pushes one change from WatchAll and answers recreate and
// logs.
type watchingCore struct {
	fakeCore
	recreated chan [2]string
}

func (f *watchingCore) WatchAll(ctx context.Context, opts core.DriftWatchOptions, out func(core.Change)) error {
	out(core.Change{Kind: core.ChangeEngine, Engine: &core.EngineState{Up: false, Error: "engine down"}})
	<-ctx.Done()
	return nil
}

func (f *watchingCore) PlanRecreate(ctx context.Context, env, service string) (*core.Result, error) {
	return &core.Result{Env: env, Plan: reconcile.Plan{Project: env, Ops: []reconcile.Op{{ID: 1, Kind: reconcile.OpRecreate, Resource: env + "-" + service + "-1", Cause: reconcile.CauseRecreateAsked}}}}, nil
}

func (f *watchingCore) Recreate(ctx context.Context, env, service string, emit core.Emit) (*core.Result, error) {
	f.recreated <- [2]string{env, service}
	return f.PlanRecreate(ctx, env, service)
}

func (f *watchingCore) Logs(ctx context.Context, req core.LogsRequest, out func(core.LogLine)) error {
	out(core.LogLine{Service: req.Services[0], Text: "hello from " + req.Env})
	<-ctx.Done()
	return nil
}

// TestStreamCarriesChangesAndLogs: one event stream carries the engine
// state (sent first to a new stream), and log batches; recreate and its
// plan have their routes.
func TestStreamCarriesChangesAndLogs(t *testing.T) {
	f := &watchingCore{recreated: make(chan [2]string, 1)}
	srv := httptest.NewServer(newHandler(t.Context(), f, handlerConfig{token: testToken}))
	defer srv.Close()
	h := srv.Config.Handler.(*handler)
	h.hosts[strings.TrimPrefix(srv.URL, "http://")] = true
	waitFor(t, func() bool { // the watcher publishes the engine state
		h.hub.mu.Lock()
		defer h.hub.mu.Unlock()
		return h.hub.engine != nil
	})

	req, _ := http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/api/events?ticket="+ticketFor(t, srv.Client(), srv.URL), nil)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events := bufio.NewScanner(res.Body)
	next := func() (string, string) {
		var event string
		for events.Scan() {
			line := events.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				event = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				return event, v
			}
		}
		t.Fatal("the stream ended")
		return "", ""
	}
	if name, data := next(); name != "berth:change" || !strings.Contains(data, `"engine down"`) {
		t.Fatalf("first event %s %s, want the engine state", name, data)
	}

	post := func(path, body string) *http.Response {
		r, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+testToken)
		r.Header.Set("Content-Type", "application/json")
		res, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res2 := post("/api/logs", `{"env":"shop","service":"web"}`)
	var sub struct{ ID string }
	json.NewDecoder(res2.Body).Decode(&sub)
	res2.Body.Close()
	if sub.ID == "" {
		t.Fatalf("logs subscription: %d", res2.StatusCode)
	}
	name, data := next()
	if name != "berth:log" || !strings.Contains(data, `"hello from shop"`) || !strings.Contains(data, `"id":"`+sub.ID+`"`) {
		t.Fatalf("got %s %s, want a log batch", name, data)
	}

	if res := post("/api/environments/shop/services/web/plan-recreate", ""); res.StatusCode != 200 {
		t.Fatalf("plan-recreate = %d", res.StatusCode)
	}
	if res := post("/api/environments/shop/services/web/recreate", ""); res.StatusCode != 200 {
		t.Fatalf("recreate = %d", res.StatusCode)
	}
	if got := <-f.recreated; got != [2]string{"shop", "web"} {
		t.Fatalf("recreated %v", got)
	}
}
