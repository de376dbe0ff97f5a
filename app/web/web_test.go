package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/reconcile"
)

const (
	testToken = "0123456789abcdef"
	testHost  = "127.0.0.1:7777"
)

// fakeCore answers from fixed values and records calls.
type fakeCore struct {
	CoreAPI // what a test does not need panics
	listing *core.Listing
	err     error
	block   chan struct{} // when set, Up waits for it

	mu    sync.Mutex
	ups   []core.UpRequest
	downs []core.DownRequest
}

func (f *fakeCore) List(ctx context.Context) (*core.Listing, error) { return f.listing, f.err }

func (f *fakeCore) Up(ctx context.Context, req core.UpRequest, emit core.Emit) (*core.Result, error) {
	f.mu.Lock()
	f.ups = append(f.ups, req)
	f.mu.Unlock()
	if f.block != nil {
		<-f.block
	}
	op := reconcile.Op{ID: 1, Kind: reconcile.OpCreateContainer, Resource: req.Env + "-web-1", Cause: "container missing"}
	emit(core.Event{Env: req.Env, Kind: "op", Op: &op, Status: reconcile.StatusDone})
	if f.err != nil {
		return nil, f.err
	}
	return &core.Result{Env: req.Env, Plan: reconcile.Plan{Project: req.Env, Ops: []reconcile.Op{op}}}, nil
}

func (f *fakeCore) Down(ctx context.Context, req core.DownRequest, emit core.Emit) (*core.Result, error) {
	f.mu.Lock()
	f.downs = append(f.downs, req)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return &core.Result{Env: req.Env}, nil
}

// WatchAll reports no change until ctx ends.
func (f *fakeCore) WatchAll(ctx context.Context, opts core.DriftWatchOptions, out func(core.Change)) error {
	<-ctx.Done()
	return nil
}

func sampleListing() *core.Listing {
	return &core.Listing{
		Target:       core.Target{Context: "default", Host: "unix:///var/run/docker.sock", ServerVersion: "20.10.24"},
		Definitions:  []core.Definition{{Name: "shop", Dir: "/defs/shop"}},
		Environments: []core.Environment{{Name: "shop", Definition: "shop", State: core.StateRunning, Running: 2, Containers: 2}},
	}
}

var testAssets = fstest.MapFS{
	"index.html":      {Data: []byte("<!doctype html><title>Berth</title>")},
	"assets/index.js": {Data: []byte("console.log('berth')")},
}

func newTestHandler(t *testing.T, f *fakeCore) *handler {
	t.Helper()
	return newHandler(t.Context(), f, handlerConfig{
		token:  testToken,
		assets: testAssets,
		hosts:  []string{testHost, "localhost:7777"},
	})
}

// do sends one request to h; mod adjusts it (headers, cookies).
func do(h http.Handler, method, target string, body io.Reader, mod func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, body)
	r.Host = testHost
	if mod != nil {
		mod(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func bearer(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) }

func errorOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	return e.Error
}

func TestTokenRequired(t *testing.T) {
	h := newTestHandler(t, &fakeCore{listing: sampleListing()})
	withCookie := func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "berth_token", Value: testToken}) }
	tests := []struct {
		name   string
		target string
		mod    func(*http.Request)
		want   int
	}{
		{"api without token", "/api/environments", nil, http.StatusUnauthorized},
		{"api with wrong token", "/api/environments", func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }, http.StatusUnauthorized},
		{"events without token", "/api/events", nil, http.StatusUnauthorized},
		{"api with bearer token", "/api/environments", bearer, http.StatusOK},
		// Tokens in URLs end up in logs and histories; cookies go to
		// every port of the host. Neither is a credential.
		{"api with query token", "/api/environments?token=" + testToken, nil, http.StatusUnauthorized},
		{"api with the old cookie", "/api/environments", withCookie, http.StatusUnauthorized},
		{"events with query token", "/api/events?token=" + testToken, nil, http.StatusUnauthorized},
		{"events with a made-up ticket", "/api/events?ticket=" + testToken, nil, http.StatusUnauthorized},
		// The page and its assets hold nothing secret: the page finds the
		// token in its URL fragment.
		{"page", "/", nil, http.StatusOK},
		{"asset", "/assets/index.js", nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, "GET", tt.target, nil, tt.mod)
			if w.Code != tt.want {
				t.Errorf("GET %s = %d, want %d (%s)", tt.target, w.Code, tt.want, w.Body)
			}
			if w.Code == http.StatusUnauthorized {
				if !strings.Contains(errorOf(t, w), "berth ui --web") || w.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("401 %q (WWW-Authenticate %q): want the way to the token", w.Body, w.Header().Get("WWW-Authenticate"))
				}
			}
		})
	}
}

func TestForeignOriginAndHostRefused(t *testing.T) {
	f := &fakeCore{listing: sampleListing()}
	h := newTestHandler(t, f)
	tests := []struct {
		name string
		mod  func(*http.Request)
		want int
	}{
		{"same origin", func(r *http.Request) { r.Header.Set("Origin", "http://"+testHost) }, http.StatusOK},
		{"localhost origin", func(r *http.Request) { r.Header.Set("Origin", "http://localhost:7777") }, http.StatusOK},
		{"other site", func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") }, http.StatusForbidden},
		{"other port", func(r *http.Request) { r.Header.Set("Origin", "http://127.0.0.1:9999") }, http.StatusForbidden},
		{"https scheme", func(r *http.Request) { r.Header.Set("Origin", "https://"+testHost) }, http.StatusForbidden},
		{"null origin", func(r *http.Request) { r.Header.Set("Origin", "null") }, http.StatusForbidden},
		{"rebound host", func(r *http.Request) {
			r.Host = "evil.example:7777"
			r.Header.Set("Origin", "http://evil.example:7777")
		}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, "POST", "/api/environments/shop/up", nil, func(r *http.Request) {
				bearer(r)
				tt.mod(r)
			})
			if w.Code != tt.want {
				t.Errorf("POST up = %d, want %d (%s)", w.Code, tt.want, w.Body)
			}
		})
	}
	if len(f.ups) != 2 {
		t.Errorf("core.Up called %d times, want 2 (only the same-origin requests)", len(f.ups))
	}
}

func TestListingFromCore(t *testing.T) {
	h := newTestHandler(t, &fakeCore{listing: sampleListing()})
	w := do(h, "GET", "/api/environments", nil, bearer)
	if w.Code != http.StatusOK {
		t.Fatalf("GET /api/environments = %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var got core.Listing
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Target.ServerVersion != "20.10.24" || len(got.Definitions) != 1 || got.Environments[0].State != core.StateRunning {
		t.Errorf("listing = %+v", got)
	}
	// The frontend reads these json names (frontend/src/api/types.ts).
	for _, key := range []string{`"target"`, `"serverVersion"`, `"definitions"`, `"environments"`, `"running"`, `"containers"`} {
		if !strings.Contains(w.Body.String(), key) {
			t.Errorf("listing JSON has no %s: %s", key, w.Body)
		}
	}
}

func TestOperations(t *testing.T) {
	f := &fakeCore{listing: sampleListing()}
	h := newTestHandler(t, f)

	w := do(h, "POST", "/api/environments/shop/up", nil, bearer)
	if w.Code != http.StatusOK {
		t.Fatalf("up = %d %s", w.Code, w.Body)
	}
	var res core.Result
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.Env != "shop" || len(res.Plan.Ops) != 1 {
		t.Errorf("up result = %+v (%v)", res, err)
	}

	w = do(h, "POST", "/api/environments/shop/down", strings.NewReader(`{"volumes":true}`), bearer)
	if w.Code != http.StatusOK {
		t.Fatalf("down = %d %s", w.Code, w.Body)
	}
	w = do(h, "POST", "/api/environments/shop/down", nil, bearer)
	if w.Code != http.StatusOK {
		t.Fatalf("down without body = %d %s", w.Code, w.Body)
	}
	want := []core.DownRequest{{Env: "shop", Volumes: true}, {Env: "shop"}}
	if len(f.downs) != 2 || f.downs[0] != want[0] || f.downs[1] != want[1] {
		t.Errorf("core.Down calls = %+v, want %+v", f.downs, want)
	}

	w = do(h, "POST", "/api/environments/shop/down", strings.NewReader(`{`), bearer)
	if w.Code != http.StatusBadRequest {
		t.Errorf("down with a bad body = %d, want 400", w.Code)
	}
	w = do(h, "GET", "/api/environments/shop/up", nil, bearer)
	if w.Code != http.StatusNotFound || !strings.Contains(errorOf(t, w), "no such endpoint") {
		t.Errorf("GET up = %d %s, want 404", w.Code, w.Body)
	}
	w = do(h, "GET", "/api/nothing", nil, bearer)
	if w.Code != http.StatusNotFound {
		t.Errorf("GET /api/nothing = %d, want 404", w.Code)
	}
}

func TestErrorsMapToStatuses(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{core.ErrNotFound, http.StatusNotFound},
		{core.ErrEngine, http.StatusServiceUnavailable},
		{errors.New("build failed"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		h := newTestHandler(t, &fakeCore{err: tt.err})
		w := do(h, "POST", "/api/environments/x/up", nil, bearer)
		if w.Code != tt.want {
			t.Errorf("up with %v = %d, want %d", tt.err, w.Code, tt.want)
		}
		if msg := errorOf(t, w); msg != tt.err.Error() {
			t.Errorf("error message = %q, want %q", msg, tt.err.Error())
		}
	}
}

func TestOneOperationPerEnvironment(t *testing.T) {
	f := &fakeCore{block: make(chan struct{})}
	h := newTestHandler(t, f)
	done := make(chan int)
	go func() { done <- do(h, "POST", "/api/environments/shop/up", nil, bearer).Code }()
	waitFor(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.ups) == 1
	})
	if w := do(h, "POST", "/api/environments/shop/down", nil, bearer); w.Code != http.StatusConflict {
		t.Errorf("down while up runs = %d, want 409", w.Code)
	}
	close(f.block)
	if code := <-done; code != http.StatusOK {
		t.Errorf("up = %d", code)
	}
}

// ticketFor buys an event stream ticket with the bearer token.
func ticketFor(t *testing.T, client *http.Client, base string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/events/ticket", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tk struct {
		Ticket    string `json:"ticket"`
		ExpiresIn int    `json:"expiresIn"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tk); err != nil || res.StatusCode != http.StatusOK || tk.Ticket == "" || tk.ExpiresIn != 30 {
		t.Fatalf("ticket: %d %+v %v", res.StatusCode, tk, err)
	}
	return tk.Ticket
}

func TestEventsStream(t *testing.T) {
	f := &fakeCore{listing: sampleListing()}
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
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(res.Body)
	lines.Scan() // ": connected"

	up, _ := http.NewRequest("POST", srv.URL+"/api/environments/shop/up", nil)
	up.Header.Set("Authorization", "Bearer "+testToken)
	upRes, err := srv.Client().Do(up)
	if err != nil {
		t.Fatal(err)
	}
	upRes.Body.Close()

	var event, data string
	for lines.Scan() {
		line := lines.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
			break
		}
	}
	if event != EventName {
		t.Errorf("event name = %q, want %q", event, EventName)
	}
	var ev core.Event
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		t.Fatalf("event data %q: %v", data, err)
	}
	if ev.Env != "shop" || ev.Op == nil || ev.Status != reconcile.StatusDone || ev.Time.IsZero() {
		t.Errorf("event = %+v", ev)
	}
}

// serve runs Serve with opts until the test ends and returns the URL it
// announced; Serve's error arrives on the channel.
func serve(t *testing.T, f CoreAPI, opts Options) (string, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	urls := make(chan string, 1)
	errc := make(chan error, 1)
	opts.Announce = func(u string) { urls <- u }
	go func() { errc <- Serve(ctx, f, opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Serve after cancel: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not stop")
		}
	})
	select {
	case u := <-urls:
		return u, errc
	case err := <-errc:
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve announced no URL")
	}
	return "", nil
}

func TestServe(t *testing.T) {
	link, _ := serve(t, &fakeCore{listing: sampleListing()}, Options{Assets: testAssets})
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	token, ok := strings.CutPrefix(u.Fragment, "token=")
	if u.Scheme != "http" || !strings.HasPrefix(u.Host, "127.0.0.1:") || u.RawQuery != "" || !ok || len(token) != 48 {
		t.Errorf("announced %q, want a loopback URL with a 48-hex-digit token in its fragment", link)
	}

	// The announced link works in a browser-like client: the page loads
	// (the fragment stays with the client), the API takes the token as a
	// bearer token, and nothing sets a cookie.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}
	res, err := client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "Berth") {
		t.Errorf("GET %s = %d %q", link, res.StatusCode, body)
	}
	req, _ := http.NewRequest("GET", "http://"+u.Host+"/api/environments", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("API with the bearer token = %d", res.StatusCode)
	}
	if c := jar.Cookies(&url.URL{Scheme: "http", Host: u.Host}); len(c) != 0 {
		t.Errorf("cookies set: %v", c)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
