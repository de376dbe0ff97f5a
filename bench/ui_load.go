package main

// The UI under load: the web mode (app/web.Serve, the real handler and the
// real built frontend) over a fake core with many environments, while a
// stream of events arrives at a fixed rate, in headless chromium. The page
// records long tasks with a PerformanceObserver; the bench reads them and
// the JS heap over the DevTools protocol.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/berthdev/berth/app/web"
	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/reconcile"
)

// fakeCore answers the dashboard with nEnvs environments of nSvcs services
// each; Up of the environment named streamEnv emits `rate` events a second
// for `dur` (log-like "message" lines spread over every environment, plus a
// few op "done" events that make the page refresh its listing, whose
// states change from one listing to the next).
//
// web.CoreAPI is embedded so that the fake still compiles when the
// interface grows; a method it lacks panics (net/http recovers per request).
type fakeCore struct {
	web.CoreAPI
	nEnvs, nSvcs int
	streamEnv    string
	rate         int
	dur          time.Duration
	opsPerSec    int

	logCalls atomic.Int64  // log streams opened by the page
	logGo    chan struct{} // closed when log streams may start
	lists    atomic.Int64  // listings answered
	sent     atomic.Int64  // events emitted
	last     atomic.Value  // the text of the last line emitted
}

func envName(i int) string { return fmt.Sprintf("bench-env-%02d", i) }

func (f *fakeCore) List(ctx context.Context) (*core.Listing, error) {
	n := f.lists.Add(1)
	l := &core.Listing{Target: core.Target{Context: "bench", Host: "unix:///fake/docker.sock", ServerVersion: "27.0.0", APIVersion: "1.46"}}
	states := []string{core.StateRunning, core.StateRunning, core.StateRunning, core.StatePartial, core.StateStopped, core.StateFailed}
	for i := 0; i < f.nEnvs; i++ {
		def := fmt.Sprintf("def-%02d", i%10)
		if i < 10 {
			l.Definitions = append(l.Definitions, core.Definition{Name: def, Description: "generated for the bench", Dir: "/fake/" + def})
		}
		env := core.Environment{Name: envName(i), Definition: def, Revision: fmt.Sprintf("%07x", i*7919+int(n)), Containers: f.nSvcs}
		for s := 0; s < f.nSvcs; s++ {
			state := states[(i+s+int(n))%len(states)]
			name := fmt.Sprintf("svc%d", s)
			c := reconcile.Container{ID: fmt.Sprintf("%012x", i*100+s), Name: envName(i) + "-" + name + "-1", Service: name, Number: 1, Managed: true, Image: "bench/" + name + ":latest", State: state}
			svc := core.Service{Name: name, State: state, Image: c.Image, Replicas: 1, Containers: []reconcile.Container{c}}
			if s == 0 {
				svc.Ports = []reconcile.PublishedPort{{HostIP: "127.0.0.1", HostPort: uint16(20000 + i), ContainerPort: 8080, Protocol: "tcp"}}
			}
			if state == core.StateRunning {
				env.Running++
			}
			env.Services = append(env.Services, svc)
		}
		env.State = core.StateRunning
		if env.Running < f.nSvcs {
			env.State = core.StatePartial
		}
		l.Environments = append(l.Environments, env)
	}
	return l, nil
}

func (f *fakeCore) Up(ctx context.Context, req core.UpRequest, emit core.Emit) (*core.Result, error) {
	if req.Env != f.streamEnv {
		return &core.Result{Env: req.Env}, nil
	}
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	total := int(int64(f.rate) * int64(f.dur) / int64(time.Second))
	opEvery := total + 1
	if f.opsPerSec > 0 {
		opEvery = f.rate / f.opsPerSec
	}
	for i := 0; i < total; {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		// Catch up to the rate: as many events as are due by now.
		due := int(int64(f.rate) * int64(time.Since(start)) / int64(time.Second))
		for ; i < total && i < due; i++ {
			env := envName(i % f.nEnvs)
			svc := fmt.Sprintf("svc%d", (i/f.nEnvs)%f.nSvcs)
			if i%opEvery == opEvery-1 {
				op := &reconcile.Op{ID: i, Kind: "start", Resource: env + "-" + svc + "-1", Service: svc, Number: 1}
				emit(core.Event{Time: time.Now(), Env: env, Kind: "op", Op: op, Status: reconcile.StatusDone})
			} else {
				text := fmt.Sprintf("%s | %s GET /api/products/%d 200 %dms req=%08x line %d", svc, time.Now().UTC().Format(time.RFC3339Nano), i%977, i%37, i*2654435761, i)
				f.last.Store(text)
				emit(core.Event{Time: time.Now(), Env: env, Kind: "message", Detail: text})
			}
			f.sent.Add(1)
		}
	}
	return &core.Result{Env: req.Env, Duration: time.Since(start)}, nil
}

// Status answers one environment of the listing (the page asks when it
// opens an environment's detail).
func (f *fakeCore) Status(ctx context.Context, env string) (*core.Environment, error) {
	l, _ := f.List(ctx)
	f.lists.Add(-1)
	for i := range l.Environments {
		if l.Environments[i].Name == env {
			return &l.Environments[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %s", core.ErrNotFound, env)
}

// Revisions: the bench has no definitions repo (the page asks when it
// opens an environment's detail, and shows why there is none).
func (f *fakeCore) Revisions(ctx context.Context, env string, limit int) ([]core.RevisionEntry, error) {
	return nil, fmt.Errorf("%w: the bench has none", core.ErrNoRepo)
}

// History: nothing recorded.
func (f *fakeCore) History(ctx context.Context, env string, fl core.HistoryFilter) ([]core.Deployment, error) {
	return []core.Deployment{}, nil
}

// WatchAll reports no changes and no drift (the op events already make
// the page refresh).
func (f *fakeCore) WatchAll(ctx context.Context, opts core.DriftWatchOptions, out func(core.Change)) error {
	<-ctx.Done()
	return nil
}

// HealingPausedUntil: healing is never paused here.
func (f *fakeCore) HealingPausedUntil(string) time.Time { return time.Time{} }

// Check reports every environment in sync (the page asks when an
// environment is selected).
func (f *fakeCore) Check(ctx context.Context, env string) (*core.DriftReport, error) {
	return &core.DriftReport{Env: env, InSync: true}, nil
}

// DBList: the fake environments have no databases.
func (f *fakeCore) DBList(ctx context.Context, env string) ([]core.DBInfo, error) {
	return nil, nil
}

// Logs: once logGo is closed, rate lines a second for dur, over the
// environment's services, then follows silently until ctx ends.
func (f *fakeCore) Logs(ctx context.Context, req core.LogsRequest, out func(core.LogLine)) error {
	f.logCalls.Add(1)
	select {
	case <-f.logGo:
	case <-ctx.Done():
		return nil
	}
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	total := int(int64(f.rate) * int64(f.dur) / int64(time.Second))
	for i := 0; i < total; {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		due := int(int64(f.rate) * int64(time.Since(start)) / int64(time.Second))
		for ; i < total && i < due; i++ {
			svc := fmt.Sprintf("svc%d", i%f.nSvcs)
			text := fmt.Sprintf("%s GET /api/products/%d 200 %dms req=%08x line %d", time.Now().UTC().Format(time.RFC3339Nano), i%977, i%37, i*2654435761, i)
			f.last.Store(text)
			out(core.LogLine{Service: svc, Container: req.Env + "-" + svc + "-1", Stream: "stdout", Time: time.Now(), Text: text})
			f.sent.Add(1)
		}
	}
	<-ctx.Done()
	return nil
}

func (f *fakeCore) Down(ctx context.Context, req core.DownRequest, emit core.Emit) (*core.Result, error) {
	return &core.Result{Env: req.Env}, nil
}

// pageProbe runs in the page before its own scripts: it records long tasks
// and counts the events its EventSources receive.
const pageProbe = `(() => {
  const b = window.__bench = { tasks: [], events: 0, observer: false };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.tasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
    b.observer = true;
  } catch (e) { b.observerError = String(e); }
  b.frames = 0; b.maxGap = 0; let last = 0;
  const frame = (t) => { if (last) b.maxGap = Math.max(b.maxGap, t - last); last = t; b.frames++; requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  b.reset = () => { b.frames = 0; b.maxGap = 0; last = 0; return performance.now(); };
  const ES = window.EventSource;
  if (ES) {
    window.EventSource = class extends ES {
      constructor(url, init) {
        super(url, init);
        this.addEventListener('berth:event', () => { b.events++; });
        this.addEventListener('berth:log', (e) => { try { b.events += JSON.parse(e.data).lines.length; } catch {} });
      }
    };
  }
})();`

type longTask struct {
	Start    float64 `json:"start"`
	Duration float64 `json:"duration"`
}

type uiLoadResult struct {
	firstData           time.Duration // navigation to the environments shown
	loadTasks           []longTask    // long tasks before the stream
	streamTasks         []longTask    // long tasks during the stream
	sanityOK            bool          // a deliberate 150 ms task was seen
	frames              int           // animation frames from the stream's start to its drain
	fps                 float64
	maxGap              float64       // longest time between two frames, ms
	slowest             time.Duration // slowest DevTools round trip during the stream
	drain               time.Duration // stream end to every event received; -1: never
	unresponsive        bool          // the page stopped answering after the stream
	sent, received      int64
	lists               int64
	lastShown           bool // the last line emitted is on the page after the stream
	heapUsed, heapTotal float64
	eventName           string
}

// benchUILoad serves the web mode over the fake with dist as its assets and
// measures the page in chromium for dur.
func benchUILoad(chromium, dist string, nEnvs, nSvcs, rate int, dur time.Duration) (*uiLoadResult, error) {
	if _, err := os.Stat(filepath.Join(dist, "index.html")); err != nil {
		return nil, fmt.Errorf("the frontend is not built (%w)", err)
	}
	fake := &fakeCore{nEnvs: nEnvs, nSvcs: nSvcs, streamEnv: envName(0), rate: rate, dur: dur, opsPerSec: 4, logGo: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := make(chan string, 1)
	token, err := web.NewToken()
	if err != nil {
		return nil, err
	}
	served := make(chan error, 1)
	go func() {
		served <- web.Serve(ctx, fake, web.Options{Assets: os.DirFS(dist), Token: token, Announce: func(u string) { urls <- u }})
	}()
	var pageURL string
	select {
	case pageURL = <-urls:
	case err := <-served:
		return nil, fmt.Errorf("web.Serve: %v", err)
	case <-time.After(10 * time.Second):
		return nil, errors.New("web.Serve announced no URL")
	}
	base := pageURL[:strings.Index(pageURL, "/#")]

	br, err := startChromium(chromium, 1200, 800)
	if err != nil {
		return nil, err
	}
	defer br.close()
	page, err := br.openPage()
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		method string
		params map[string]any
	}{
		{"Page.enable", nil},
		{"Page.setBypassCSP", map[string]any{"enabled": true}},
		{"Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": pageProbe}},
	} {
		if err := br.call(page, c.method, c.params, nil); err != nil {
			return nil, err
		}
	}
	res := &uiLoadResult{eventName: web.EventName}
	start := time.Now()
	if err := br.call(page, "Page.navigate", map[string]any{"url": pageURL}, nil); err != nil {
		return nil, err
	}
	lastEnv := envName(nEnvs - 1)
	if err := waitPage(br, page, fmt.Sprintf("!!document.body && document.body.innerText.includes(%q)", lastEnv), 30*time.Second); err != nil {
		return nil, fmt.Errorf("the page never showed %s: %w", lastEnv, err)
	}
	res.firstData = time.Since(start)
	debugf("listing shown after %s", res.firstData)
	var observer bool
	if err := br.eval(page, "window.__bench && window.__bench.observer", &observer); err != nil || !observer {
		var why string
		_ = br.eval(page, "String(window.__bench && window.__bench.observerError)", &why)
		return nil, fmt.Errorf("no long-task observer in the page (%v %s)", err, why)
	}
	// Sanity: the observer sees a deliberate 150 ms task.
	if err := br.eval(page, `new Promise((ok) => setTimeout(() => { const t = performance.now(); while (performance.now() - t < 150) {} ; setTimeout(ok, 200) }, 0))`, nil); err != nil {
		return nil, err
	}
	debugf("sanity task done")
	time.Sleep(300 * time.Millisecond)
	var before []longTask
	if err := br.eval(page, "window.__bench.tasks", &before); err != nil {
		return nil, err
	}
	for _, t := range before {
		if t.Duration >= 140 && t.Duration < 400 {
			res.sanityOK = true
		}
	}
	// The log stream: open the logs of the first environment the way a
	// user would (its detail, then its Logs button). Without a logs panel
	// in the page, the stream is progress events instead.
	openLogs := fmt.Sprintf(`(() => {
	  const b = document.querySelector('[data-testid="logs-%[1]s"]');
	  if (b) { b.click(); return 'logs'; }
	  const row = [...document.querySelectorAll('button, a, li, tr, [role="button"]')].find(e => e.textContent.trim().startsWith(%[1]q));
	  if (row) { row.click(); return 'row'; }
	  return 'none';
	})()`, fake.streamEnv)
	useLogs := false
	for i := 0; i < 50 && !useLogs; i++ {
		var what string
		_ = br.eval(page, openLogs, &what)
		time.Sleep(100 * time.Millisecond)
		useLogs = fake.logCalls.Load() > 0
	}
	debugf("log streams opened by the page: %d", fake.logCalls.Load())
	if useLogs {
		res.eventName = "berth:log"
	}
	var mark float64
	if err := br.eval(page, "window.__bench.reset()", &mark); err != nil {
		return nil, err
	}
	var eventsBefore int64
	if err := br.eval(page, "window.__bench.events", &eventsBefore); err != nil {
		return nil, err
	}

	// The stream: an Up of the stream environment, as a script would ask.
	upDone := make(chan error, 1)
	if useLogs {
		close(fake.logGo)
		go func() { time.Sleep(dur + 100*time.Millisecond); upDone <- nil }()
	} else {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, base+"/api/environments/"+fake.streamEnv+"/up", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("up answered %s", resp.Status)
				}
			}
			upDone <- err
		}()
	}
	// While it runs, how long the page takes to answer a trivial question
	// (as it would take to react to a click).
	streamStart := time.Now()
	var streamEnd time.Time
	for streamEnd.IsZero() {
		select {
		case err := <-upDone:
			if err != nil {
				return nil, err
			}
			streamEnd = time.Now()
		case <-time.After(500 * time.Millisecond):
			if time.Since(streamStart) > dur+30*time.Second {
				return nil, errors.New("the stream did not end")
			}
			t := time.Now()
			err := br.evalTimeout(5*time.Second, page, "window.__bench.events", nil)
			res.slowest = max(res.slowest, time.Since(t))
			if err != nil && !errors.Is(err, errNoAnswer) {
				return nil, err
			}
		}
	}
	debugf("stream done")
	var frames struct {
		Frames int     `json:"frames"`
		MaxGap float64 `json:"maxGap"`
		Now    float64 `json:"now"`
	}
	// Drain: until the page has every event (or 30 s).
	res.drain = -1
	for time.Since(streamEnd) < 30*time.Second {
		var n int64
		t := time.Now()
		err := br.evalTimeout(5*time.Second, page, "window.__bench.events", &n)
		if time.Since(streamEnd) < time.Second {
			res.slowest = max(res.slowest, time.Since(t))
		}
		if err == nil && n-eventsBefore >= fake.sent.Load() {
			res.drain = time.Since(streamEnd)
			break
		}
		if err != nil && !errors.Is(err, errNoAnswer) {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.sent = fake.sent.Load()
	res.lists = fake.lists.Load()
	if err := br.evalTimeout(30*time.Second, page, "({frames: window.__bench.frames, maxGap: window.__bench.maxGap, now: performance.now()})", &frames); err != nil {
		if errors.Is(err, errNoAnswer) {
			res.unresponsive = true
			return res, nil
		}
		return nil, err
	}
	res.frames, res.maxGap = frames.Frames, frames.MaxGap
	res.fps = float64(frames.Frames) / ((frames.Now - mark) / 1000)
	time.Sleep(time.Second) // let the page drain what is in flight
	var tasks []longTask
	if err := br.eval(page, "window.__bench.tasks", &tasks); err != nil {
		return nil, err
	}
	for _, t := range tasks {
		if t.Start >= mark {
			res.streamTasks = append(res.streamTasks, t)
		} else if !(t.Duration >= 140 && t.Duration < 400 && res.sanityOK) {
			res.loadTasks = append(res.loadTasks, t)
		}
	}
	var received int64
	if err := br.eval(page, "window.__bench.events", &received); err != nil {
		return nil, err
	}
	res.received = received - eventsBefore
	if last, ok := fake.last.Load().(string); ok {
		tail := last[strings.LastIndex(last, " line "):]
		_ = br.eval(page, fmt.Sprintf("document.body.innerText.includes(%q)", tail), &res.lastShown)
	}
	var heap struct {
		UsedSize  float64 `json:"usedSize"`
		TotalSize float64 `json:"totalSize"`
	}
	if err := br.call(page, "Runtime.getHeapUsage", nil, &heap); err == nil {
		res.heapUsed, res.heapTotal = heap.UsedSize, heap.TotalSize
	}
	return res, nil
}

// waitPage polls a boolean expression in the page.
func debugf(format string, args ...any) {
	if os.Getenv("BENCH_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "debug: "+format+"\n", args...)
	}
}

func waitPage(br *cdpBrowser, page, expr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var ok bool
		err := br.eval(page, expr, &ok)
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("timed out")
			}
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
