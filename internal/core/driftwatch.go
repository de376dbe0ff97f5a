package core

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/internal/spec"
)

// FileWatcher reports changes under a folder tree (the workspace of an
// environment). The composition root adapts the file event adapter to it.
type FileWatcher interface {
	// WatchTree calls out after each burst of changes under dir until ctx
	// ends (then it returns nil). notes say what it had to fall back to.
	WatchTree(ctx context.Context, dir string, out func(paths []string, rescan bool, notes []string)) error
}

// DriftEventStream reports every engine event that may change an
// environment's state or drift: any action on a managed container (the
// lifecycle Events reports, and docker update, rename...) and network
// connects and disconnects (ContainerEvent.Network). The drift loop
// follows it instead of Events when the engine has it: one stream for
// both.
type DriftEventStream interface {
	DriftEvents(ctx context.Context, out func(ContainerEvent)) error
}

// WithFileWatcher gives core the file event adapter for WatchDrift.
func WithFileWatcher(fw FileWatcher) Option { return func(b *Berth) { b.drift.files = fw } }

// DriftWatchOptions tune WatchDrift and WatchAll; the zero value is what
// the apps use.
type DriftWatchOptions struct {
	// Resync is how often every environment is checked whatever the
	// events say (default 60 s).
	Resync time.Duration
	// HealMinBackoff and HealMaxBackoff bound the wait between two heals
	// of one environment that stays drifted (default 5 s and 5 min).
	HealMinBackoff, HealMaxBackoff time.Duration
	// FailedRecheck is the least time between two event-driven checks of
	// an environment whose last check failed (its definition does not
	// load, its revision is unknown to the repo...; default 5 s). Events
	// within it lead to one check when it ends. Resyncs are not held.
	FailedRecheck time.Duration
	// Watch tunes the engine watch under the loop (WatchAll's state
	// changes, reconnection back-off).
	Watch WatchOptions
}

// PauseHealing stops automatic healing of env for d (d <= 0 resumes it),
// to debug an environment by hand without Berth putting it back.
func (b *Berth) PauseHealing(env string, d time.Duration) time.Time {
	b.drift.mu.Lock()
	defer b.drift.mu.Unlock()
	if b.drift.paused == nil {
		b.drift.paused = map[string]time.Time{}
	}
	if d <= 0 {
		delete(b.drift.paused, env)
		return time.Time{}
	}
	until := b.now().Add(d)
	b.drift.paused[env] = until
	return until
}

// HealingPausedUntil says until when healing of env is paused (zero: not
// paused).
func (b *Berth) HealingPausedUntil(env string) time.Time {
	b.drift.mu.Lock()
	defer b.drift.mu.Unlock()
	if t := b.drift.paused[env]; b.now().Before(t) {
		return t
	}
	return time.Time{}
}

// WatchDrift keeps every environment's drift report current until ctx
// ends, then returns nil: engine events, file events in each workspace and
// a periodic resync each lead to a check, and a report that changed is
// sent as a ChangeDrift. Environments whose policy is heal are healed
// (Sync) with back-off, unless healing is paused. When the engine cannot
// be reached every known report is sent again marked unknown (never a
// stale "in sync"), and everything is checked again once it answers. out
// is never called concurrently.
func (b *Berth) WatchDrift(ctx context.Context, opts DriftWatchOptions, out func(Change)) error {
	return b.watchAll(ctx, opts, false, out)
}

// WatchAll is Watch and WatchDrift in one loop, for the apps: out gets
// the live state changes Watch reports (engine, environment, repo) and
// the drift reports WatchDrift sends. Both run on one connection to the
// engine, one event stream and one fetch loop of the definitions repo.
// out is never called concurrently.
func (b *Berth) WatchAll(ctx context.Context, opts DriftWatchOptions, out func(Change)) error {
	return b.watchAll(ctx, opts, true, out)
}

// watchAll runs the drift loop, with the engine watch under it reporting
// state changes to out too when states is set.
func (b *Berth) watchAll(ctx context.Context, opts DriftWatchOptions, states bool, out func(Change)) error {
	if opts.Resync <= 0 {
		opts.Resync = 60 * time.Second
	}
	if opts.HealMinBackoff <= 0 {
		opts.HealMinBackoff = 5 * time.Second
	}
	if opts.HealMaxBackoff < opts.HealMinBackoff {
		opts.HealMaxBackoff = max(5*time.Minute, opts.HealMinBackoff)
	}
	if opts.FailedRecheck <= 0 {
		opts.FailedRecheck = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var outMu sync.Mutex
	serial := func(c Change) {
		outMu.Lock()
		defer outMu.Unlock()
		out(c)
	}
	w := &driftWatcher{b: b, opts: opts, out: serial, ctx: ctx, wake: make(chan struct{}, 1), pending: map[string]bool{},
		failing: map[string]time.Time{}, deferred: map[string]bool{},
		last: map[string]*DriftReport{}, sent: map[string]string{}, files: map[string]*fileWatch{}, heal: map[string]*healState{}}
	var stateOut func(Change)
	if states {
		stateOut = serial
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.watch(ctx, opts.Watch, stateOut, w)
	}()
	w.requestAll(true)
	// The resync is the loop's only timer while nothing fails: an idle
	// loop wakes once per Resync, and otherwise only when an event
	// arrives. retry is armed while an event-driven check is held back
	// (FailedRecheck).
	t := time.NewTicker(opts.Resync)
	defer t.Stop()
	var retry <-chan time.Time
	var retryAt time.Time
	for {
		select {
		case <-ctx.Done():
			cancel()
			w.stopFiles()
			wg.Wait()
			return nil
		case <-t.C:
			w.requestAll(true)
		case <-w.wake:
			w.run()
		case <-retry:
			retry = nil
			w.release()
		}
		if at, ok := w.nextHeld(); ok && (retry == nil || at.Before(retryAt)) {
			retry, retryAt = b.after(at.Sub(b.now())), at
		}
	}
}

type driftWatcher struct {
	b    *Berth
	opts DriftWatchOptions
	out  func(Change)
	ctx  context.Context

	mu      sync.Mutex
	wake    chan struct{}
	pending map[string]bool // "" means every environment
	fresh   bool            // the pending round reads everything anew from the engine
	down    bool            // the engine does not answer
	// failing holds environments whose last check failed, with the time
	// their next event-driven check may run; deferred holds those asked
	// for before then.
	failing  map[string]time.Time
	deferred map[string]bool

	outMu sync.Mutex
	last  map[string]*DriftReport
	sent  map[string]string // env → fingerprint of the last report sent
	files map[string]*fileWatch
	heal  map[string]*healState
}

type fileWatch struct {
	notes  []string // what the file watcher fell back to
	dir    string
	cancel context.CancelFunc
	done   chan struct{}
}

type healState struct {
	next    time.Time
	backoff time.Duration
}

// request asks for env to be checked ("" for all).
//
// The invariant that keeps a report from being stale: a request that
// arrives while a round of checks runs (an event seen during a check) is
// kept in pending and wakes the loop again, so the environment is checked
// once more after the round, with the event's effect visible. A check
// never drops a request it did not start after.
func (w *driftWatcher) request(env string) {
	w.mu.Lock()
	w.pending[env] = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// requestAll asks for every environment to be checked; fresh reads all
// live details anew from the engine (the resync, the safety net for
// anything events missed).
func (w *driftWatcher) requestAll(fresh bool) {
	if fresh {
		w.mu.Lock()
		w.fresh = true
		w.mu.Unlock()
	}
	w.request("")
}

// change follows the engine watch: the engine going down marks every
// report unknown, coming back up checks all (afresh); the repo moving
// checks all (upstream drift).
func (w *driftWatcher) change(c Change) {
	switch c.Kind {
	case ChangeRepo:
		w.requestAll(false) // the branch may have moved: upstream drift
	case ChangeEngine:
		if c.Engine != nil && !c.Engine.Up {
			w.mu.Lock()
			w.down = true
			w.mu.Unlock()
			w.markUnknown("the engine cannot be reached: " + c.Engine.Error)
			return
		}
		w.mu.Lock()
		w.down = false
		w.mu.Unlock()
		w.requestAll(true)
	}
}

// event asks for a check of the environment an engine event is about
// (a network's, for a connect or disconnect). A health change is state,
// not drift.
func (w *driftWatcher) event(ev ContainerEvent) {
	if ev.Action == "health_status" {
		return
	}
	env := ev.Env
	if env == "" && ev.Network != "" {
		env = w.envOfNetwork(ev.Network)
	}
	if env != "" {
		w.request(env)
	}
}

// release asks again for the held checks whose time has come.
func (w *driftWatcher) release() {
	now := w.b.now()
	w.mu.Lock()
	n := 0
	for env := range w.deferred {
		if !now.Before(w.failing[env]) {
			delete(w.deferred, env)
			w.pending[env] = true
			n++
		}
	}
	w.mu.Unlock()
	if n > 0 {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// nextHeld says when the first held check may run.
func (w *driftWatcher) nextHeld() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for env := range w.deferred {
		if at := w.failing[env]; first.IsZero() || at.Before(first) {
			first = at
		}
	}
	return first, !first.IsZero()
}

// envOfNetwork maps a network's engine name to the environment that
// uses it (Compose names networks <project>_<key>).
func (w *driftWatcher) envOfNetwork(name string) string {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	best := ""
	for env := range w.last {
		if strings.HasPrefix(name, env+"_") && len(env) > len(best) {
			best = env
		}
	}
	return best
}

// run checks what was asked, after a short pause that gathers requests
// arriving together (bursts were already settled at their source).
func (w *driftWatcher) run() {
	if !sleep(w.ctx, 10*time.Millisecond) {
		return
	}
	w.mu.Lock()
	pending, fresh := w.pending, w.fresh
	w.pending, w.fresh = map[string]bool{}, false
	down := w.down
	var envs []string
	switch {
	case down:
	case pending[""]:
		clear(w.deferred) // the round checks every environment
	default:
		// An environment whose last check failed is checked at most once
		// per FailedRecheck: later requests wait for its turn.
		now := w.b.now()
		for env := range pending {
			if at, ok := w.failing[env]; ok && now.Before(at) {
				w.deferred[env] = true
				continue
			}
			delete(w.deferred, env)
			envs = append(envs, env)
		}
	}
	w.mu.Unlock()
	if down {
		return // checked again when the engine is back
	}
	if pending[""] {
		e, err := w.b.eng(w.ctx)
		if err != nil {
			w.markUnknown(err.Error())
			return
		}
		obs, err := e.Environments(w.ctx)
		if err != nil {
			w.markUnknown(err.Error())
			return
		}
		seen := map[string]bool{}
		for _, o := range obs {
			envs = append(envs, o.Project)
			seen[o.Project] = true
		}
		w.outMu.Lock()
		for env := range w.last {
			if !seen[env] {
				envs = append(envs, env) // to report it gone
			}
		}
		w.outMu.Unlock()
	}
	if len(envs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
	defer cancel()
	reps, errs := w.b.CheckMany(ctx, envs, fresh)
	for _, env := range envs {
		w.handle(env, reps[env], errs[env])
	}
	for _, env := range envs {
		if r := reps[env]; r != nil {
			w.maybeHeal(env, r)
		}
	}
}

// handle sends the outcome of env's check.
func (w *driftWatcher) handle(env string, r *DriftReport, err error) {
	var gone envGoneError
	switch {
	case errors.As(err, &gone):
		w.setFailing(env, false)
		w.forget(env)
		return
	case err != nil:
		if w.ctx.Err() != nil {
			return
		}
		// The engine going away is the engine watch's to report; any
		// other failure (a definition that does not load, a revision the
		// repo does not have) holds back this environment's next checks.
		w.setFailing(env, !errors.Is(err, ErrEngine))
		w.outMu.Lock()
		prev := w.last[env]
		w.outMu.Unlock()
		// Unknown, with the reason, even on an environment's first check:
		// the app shows why its drift cannot be told.
		w.send(env, unknownReport(env, prev, err.Error(), w.b.now()))
		return
	case r == nil:
		return
	}
	w.setFailing(env, false)
	w.watchFiles(env, r.Workspace)
	w.outMu.Lock()
	if f := w.files[env]; f != nil {
		r.Notes = append(r.Notes, f.notes...)
	}
	w.outMu.Unlock()
	w.send(env, r)
}

// setFailing holds back env's next event-driven check for FailedRecheck
// (failed), or lets it run at once again.
func (w *driftWatcher) setFailing(env string, failed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if failed {
		w.failing[env] = w.b.now().Add(w.opts.FailedRecheck)
		return
	}
	delete(w.failing, env)
	delete(w.deferred, env)
}

// maybeHeal heals env when its policy says so, it drifts in a way Sync
// can fix, healing is not paused and the back-off allows.
func (w *driftWatcher) maybeHeal(env string, r *DriftReport) {
	heal := len(r.Files) > 0 && r.Policy == spec.DriftHeal
	for _, it := range r.Runtime {
		if it.Policy == spec.DriftHeal {
			heal = true
		}
	}
	if !heal || !w.b.HealingPausedUntil(env).IsZero() {
		return
	}
	w.outMu.Lock()
	hs := w.heal[env]
	if hs == nil {
		hs = &healState{backoff: w.opts.HealMinBackoff}
		w.heal[env] = hs
	}
	now := w.b.now()
	if now.Before(hs.next) {
		w.outMu.Unlock()
		return
	}
	hs.next = now.Add(hs.backoff)
	hs.backoff = min(2*hs.backoff, w.opts.HealMaxBackoff)
	w.outMu.Unlock()
	res, err := w.b.Sync(w.ctx, env, true, nil, nil)
	if err == nil && res.After != nil {
		w.send(env, res.After)
		if res.After.InSync {
			w.outMu.Lock()
			hs.backoff = w.opts.HealMinBackoff
			w.outMu.Unlock()
		}
	}
}

// send reports r when it differs from the last report sent for env.
func (w *driftWatcher) send(env string, r *DriftReport) {
	fp := fingerprint(r)
	w.outMu.Lock()
	defer w.outMu.Unlock()
	w.last[env] = r
	if w.sent[env] == fp || w.ctx.Err() != nil {
		return
	}
	w.sent[env] = fp
	w.out(Change{Time: r.CheckedAt, Kind: ChangeDrift, Env: env, Drift: r})
}

// fingerprint is what makes two reports the same for the UI.
func fingerprint(r *DriftReport) string {
	c := *r
	c.CheckedAt = time.Time{}
	if c.Upstream != nil {
		u := *c.Upstream
		c.Upstream = &u
	}
	b, _ := json.Marshal(c)
	return string(b)
}

func unknownReport(env string, prev *DriftReport, why string, now time.Time) *DriftReport {
	u := &DriftReport{Env: env, Unknown: true, Notes: []string{"drift unknown: " + why}, CheckedAt: now}
	if prev != nil {
		u.Definition, u.Revision, u.Policy, u.Workspace = prev.Definition, prev.Revision, prev.Policy, prev.Workspace
	}
	return u
}

// markUnknown sends every known report again, marked unknown.
func (w *driftWatcher) markUnknown(why string) {
	w.outMu.Lock()
	envs := make([]string, 0, len(w.last))
	for env := range w.last {
		envs = append(envs, env)
	}
	prev := w.last
	w.outMu.Unlock()
	for _, env := range envs {
		w.send(env, unknownReport(env, prev[env], why, w.b.now()))
	}
}

// forget drops a removed environment and says so.
func (w *driftWatcher) forget(env string) {
	w.stopFile(env)
	w.outMu.Lock()
	_, known := w.last[env]
	delete(w.last, env)
	delete(w.sent, env)
	delete(w.heal, env)
	w.outMu.Unlock()
	if known && w.ctx.Err() == nil {
		w.outMu.Lock()
		w.out(Change{Time: w.b.now(), Kind: ChangeRemoved, Env: env})
		w.outMu.Unlock()
	}
}

// watchFiles keeps one file watch on env's workspace.
func (w *driftWatcher) watchFiles(env, dir string) {
	fw := w.b.drift.files
	if fw == nil {
		return
	}
	w.outMu.Lock()
	cur := w.files[env]
	if cur != nil && cur.dir == dir {
		w.outMu.Unlock()
		return
	}
	w.outMu.Unlock()
	w.stopFile(env)
	if dir == "" {
		return
	}
	ctx, cancel := context.WithCancel(w.ctx)
	f := &fileWatch{dir: dir, cancel: cancel, done: make(chan struct{})}
	w.outMu.Lock()
	w.files[env] = f
	w.outMu.Unlock()
	go func() {
		defer close(f.done)
		fw.WatchTree(ctx, dir, func(paths []string, rescan bool, notes []string) {
			if len(notes) > 0 {
				w.outMu.Lock()
				f.notes = append(f.notes, notes...)
				w.outMu.Unlock()
			}
			w.request(env)
		})
	}()
}

func (w *driftWatcher) stopFile(env string) {
	w.outMu.Lock()
	f := w.files[env]
	delete(w.files, env)
	w.outMu.Unlock()
	if f != nil {
		f.cancel()
		<-f.done
	}
}

func (w *driftWatcher) stopFiles() {
	w.outMu.Lock()
	envs := make([]string, 0, len(w.files))
	for env := range w.files {
		envs = append(envs, env)
	}
	w.outMu.Unlock()
	for _, env := range envs {
		w.stopFile(env)
	}
}
