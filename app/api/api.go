// Package api is the one API surface the desktop window (app/desktop, over
// Wails bindings) and the web dashboard (app/web, over HTTP and server-sent
// events) expose to the frontend. Methods return DTOs or an error; pushed
// data goes through an Emitter under three names: EventOp (operation
// progress, core.Event), EventChange (live state and drift reports,
// core.Change) and EventLog
// (log lines, LogBatch). It decides nothing: core does.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/secret"
	"github.com/berthdev/berth/internal/settings"
)

// Event names, the same in both transports (frontend/src/api uses them).
const (
	EventOp     = "berth:event"
	EventChange = "berth:change"
	EventLog    = "berth:log"
)

// Core is the part of the core API the frontend reaches; *core.Berth
// implements it, tests use fakes.
type Core interface {
	List(ctx context.Context) (*core.Listing, error)
	Status(ctx context.Context, env string) (*core.Environment, error)
	Plan(ctx context.Context, req core.UpRequest) (*core.Result, error)
	Up(ctx context.Context, req core.UpRequest, emit core.Emit) (*core.Result, error)
	PlanDown(ctx context.Context, req core.DownRequest) (*core.Result, error)
	Down(ctx context.Context, req core.DownRequest, emit core.Emit) (*core.Result, error)
	PlanRecreate(ctx context.Context, env, service string) (*core.Result, error)
	Recreate(ctx context.Context, env, service string, emit core.Emit) (*core.Result, error)
	Logs(ctx context.Context, req core.LogsRequest, out func(core.LogLine)) error
	WatchAll(ctx context.Context, opts core.DriftWatchOptions, out func(core.Change)) error
	Revisions(ctx context.Context, env string, limit int) ([]core.RevisionEntry, error)
	PlanDeploy(ctx context.Context, req core.DeployRequest) (*core.DeployPlan, error)
	Deploy(ctx context.Context, req core.DeployRequest, confirm core.Confirm, emit core.Emit) (*core.DeployResult, error)
	PlanRollback(ctx context.Context, req core.RollbackRequest) (*core.DeployPlan, error)
	Rollback(ctx context.Context, req core.RollbackRequest, confirm core.Confirm, emit core.Emit) (*core.DeployResult, error)
	History(ctx context.Context, env string, f core.HistoryFilter) ([]core.Deployment, error)

	DBList(ctx context.Context, env string) ([]core.DBInfo, error)
	DBClone(ctx context.Context, req core.DBCloneRequest, emit core.Emit) (*core.DBResult, error)
	DBSnapshot(ctx context.Context, req core.DBSnapshotRequest, emit core.Emit) (*core.DBResult, error)
	DBRestore(ctx context.Context, req core.DBRestoreRequest, emit core.Emit) (*core.DBResult, error)
	DBReset(ctx context.Context, req core.DBResetRequest, emit core.Emit) (*core.DBResult, error)
	DBRemove(ctx context.Context, req core.DBRemoveRequest) error

	Check(ctx context.Context, env string) (*core.DriftReport, error)
	PlanSync(ctx context.Context, env string) (*core.SyncResult, error)
	Sync(ctx context.Context, env string, yes bool, confirm core.Confirm, emit core.Emit) (*core.SyncResult, error)
	Discard(ctx context.Context, env string, emit core.Emit) ([]core.FileChange, error)
	Adopt(ctx context.Context, req core.AdoptRequest) (*core.AdoptResult, error)
	PauseHealing(env string, d time.Duration) time.Time
	HealingPausedUntil(env string) time.Time

	ReviewTrust(ctx context.Context, req core.TrustRequest) (*core.TrustReview, error)
	Trust(ctx context.Context, req core.TrustRequest) (*core.TrustReview, error)
	RevokeTrust(ctx context.Context, req core.TrustRequest) error

	SetSecret(ctx context.Context, req core.SecretRequest, value string) (*core.SecretSet, error)
	RemoveSecret(ctx context.Context, req core.SecretRequest) (bool, error)
	ListSecrets(ctx context.Context, owner string) (*core.SecretListing, error)

	Preflight(ctx context.Context, req core.PreflightRequest) (*core.Preflight, error)
}

// Shell is what a Shell button did: a terminal opened (desktop), or the
// command to run (web mode, or no terminal found: Why says).
type Shell struct {
	Command  string `json:"command"`
	Opened   bool   `json:"opened"`
	Terminal string `json:"terminal,omitempty"`
	Why      string `json:"why,omitempty"`
}

// Opener opens a definitions repo (a URL to clone into parent, or a path)
// as the one to work on; app/root implements it.
type Opener interface {
	OpenRepo(ctx context.Context, where, into, parent string) (*core.OpenedRepo, error)
}

// Settings reads and saves the user's settings; app/root implements it.
type Settings interface {
	Settings() (settings.View, error)
	SaveSettings(settings.Settings) (settings.View, error)
}

// ErrBusy: another operation runs on the environment.
var ErrBusy = errors.New("one operation at a time")

// Emitter pushes data to the frontend under an event name.
type Emitter func(name string, data any)

// LogBatch carries the lines of one log subscription, a batch at a time
// (at most every FlushEvery, or MaxBatch lines, or MaxBatchBytes of text). The last batch has Done
// set, and Error when the stream failed.
type LogBatch struct {
	ID    string         `json:"id"`
	Lines []core.LogLine `json:"lines"`
	Done  bool           `json:"done,omitempty"`
	Error string         `json:"error,omitempty"`
}

// LogRequest asks for an environment's logs, followed.
type LogRequest struct {
	Env string `json:"env"`
	// Service limits the logs to one service; empty: all of them.
	Service string `json:"service,omitempty"`
	// Tail is how many earlier lines of each container to send first
	// (0: DefaultTail).
	Tail int `json:"tail,omitempty"`
}

// Limits of log subscriptions.
const (
	DefaultTail   = 500
	MaxLogStreams = 16
	MaxBatch      = 500
	// MaxBatchBytes bounds a batch's text: lines are at most 16 KiB
	// (engine.MaxLineBytes), and 500 of those would make one 8 MiB event.
	MaxBatchBytes = 1 << 20
	FlushEvery    = 50 * time.Millisecond
)

// Service implements the API over a core.
type Service struct {
	core     Core
	settings Settings
	emit     Emitter

	mu     sync.Mutex
	busy   map[string]string // environment -> operation running on it
	logs   map[string]context.CancelFunc
	order  []string // log subscription ids, oldest first
	nextID int

	// watches are the environments whose develop.watch is followed
	// (develop.go), with what ends each watch and closes when it ended.
	watches   map[string]context.CancelFunc
	watchEnds map[string]chan struct{}

	// reports holds the last drift report of each environment (Watch,
	// Check, Sync).
	reports map[string]*core.DriftReport

	// early is a listing started before the page asked for one (Prefetch),
	// handed to the first ListEnvironments.
	early *earlyListing
}

// earlyListing is a listing under way or done; done closes when it ends.
type earlyListing struct {
	done    chan struct{}
	listing *core.Listing
	err     error
	at      time.Time
}

// PrefetchFresh is how old a prefetched listing may be when the page asks
// for it; an older one is listed again.
const PrefetchFresh = 10 * time.Second

// New returns the API over c; s may be nil (no settings then).
func New(c Core, s Settings, emit Emitter) *Service {
	return &Service{core: c, settings: s, emit: redacting(emit), busy: map[string]string{}, reports: map[string]*core.DriftReport{}, logs: map[string]context.CancelFunc{}}
}

// Prefetch starts listing the environments now, while the window or the
// browser is still loading the page: connecting to the engine and reading
// the definitions then overlap with the web view's start instead of
// following it. The first ListEnvironments takes the result (waiting for
// it when still under way); later calls list afresh.
func (s *Service) Prefetch(ctx context.Context) {
	e := &earlyListing{done: make(chan struct{})}
	s.mu.Lock()
	s.early = e
	s.mu.Unlock()
	go func() {
		defer close(e.done)
		e.listing, e.err = s.core.List(ctx)
		e.at = time.Now()
	}()
}

// ListEnvironments returns the target, the definitions and the environments.
func (s *Service) ListEnvironments(ctx context.Context) (*core.Listing, error) {
	s.mu.Lock()
	e := s.early
	s.early = nil
	s.mu.Unlock()
	if e != nil {
		select {
		case <-e.done:
			if e.err == nil && time.Since(e.at) < PrefetchFresh {
				return e.listing, nil
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.core.List(ctx)
}

// Status returns one environment with its services.
func (s *Service) Status(ctx context.Context, env string) (*core.Environment, error) {
	return s.core.Status(ctx, env)
}

// Plan returns what Up would do for the environment as (default: the
// definition's name) from definition.
// A variant ("" for none) is asked for only with a definition: the New
// environment dialog names both; an Up of an existing environment keeps
// its own variant.
func (s *Service) Plan(ctx context.Context, definition, as, variant string) (*core.Result, error) {
	if as == "" {
		as = definition
	}
	return s.core.Plan(ctx, upRequest(as, definition, variant))
}

func upRequest(env, definition, variant string) core.UpRequest {
	req := core.UpRequest{Env: env, Definition: definition}
	if definition != "" {
		req.Variant = &variant
	}
	return req
}

// Up brings env up, from definition when given (a new environment, as
// variant), else from the definition it came from or the one of the same
// name.
func (s *Service) Up(ctx context.Context, env, definition, variant string) (*core.Result, error) {
	done, err := s.begin(env, "up")
	if err != nil {
		return nil, err
	}
	defer done()
	return s.core.Up(ctx, upRequest(env, definition, variant), s.opEmit())
}

// SetSecret stores a secret of a definition (or, with environment, of an
// environment); the value comes in the request, never in a URL.
func (s *Service) SetSecret(ctx context.Context, owner, name, value string, environment bool) (*core.SecretSet, error) {
	return s.core.SetSecret(ctx, core.SecretRequest{Owner: owner, Name: name, Environment: environment}, value)
}

// RemoveSecret removes a stored secret.
func (s *Service) RemoveSecret(ctx context.Context, owner, name string, environment bool) (bool, error) {
	return s.core.RemoveSecret(ctx, core.SecretRequest{Owner: owner, Name: name, Environment: environment})
}

// Preflight runs the checks of a definition before an up (variant ""
// for none).
func (s *Service) Preflight(ctx context.Context, definition, variant string) (*core.Preflight, error) {
	req := core.PreflightRequest{Definition: definition}
	if variant != "" {
		req.Variant = &variant
	}
	return s.core.Preflight(ctx, req)
}

// OpenRepository makes where (a Git URL or a path) the definitions repo:
// a URL is cloned into the Berth folder of the user's home.
func (s *Service) OpenRepository(ctx context.Context, where string) (*core.OpenedRepo, error) {
	o, ok := s.settings.(Opener)
	if !ok {
		return nil, errors.New("opening a repository is not available here")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("no home folder to clone into: %w", err)
	}
	return o.OpenRepo(ctx, strings.TrimSpace(where), "", filepath.Join(home, "Berth"))
}

// ListSecrets lists secrets, declared and stored, without values.
func (s *Service) ListSecrets(ctx context.Context, owner string) (*core.SecretListing, error) {
	return s.core.ListSecrets(ctx, owner)
}

// PlanDown returns what Down would do.
func (s *Service) PlanDown(ctx context.Context, env string, volumes bool) (*core.Result, error) {
	return s.core.PlanDown(ctx, core.DownRequest{Env: env, Volumes: volumes})
}

// Down removes env, and its volumes when volumes is true.
func (s *Service) Down(ctx context.Context, env string, volumes bool) (*core.Result, error) {
	done, err := s.begin(env, "down")
	if err != nil {
		return nil, err
	}
	defer done()
	return s.core.Down(ctx, core.DownRequest{Env: env, Volumes: volumes}, s.opEmit())
}

// PlanRecreate returns what Recreate would do.
func (s *Service) PlanRecreate(ctx context.Context, env, service string) (*core.Result, error) {
	return s.core.PlanRecreate(ctx, env, service)
}

// Recreate replaces the containers of one service of env.
func (s *Service) Recreate(ctx context.Context, env, service string) (*core.Result, error) {
	done, err := s.begin(env, "recreate "+service)
	if err != nil {
		return nil, err
	}
	defer done()
	return s.core.Recreate(ctx, env, service, s.opEmit())
}

// MaxRevisions is how many revisions Revisions lists at most.
const MaxRevisions = 200

// HistoryFilter narrows History: the kinds (up, down, deploy, rollback;
// none: all), the status (succeeded, failed, ...; empty: any) and how many
// records at most (0: DefaultHistory).
type HistoryFilter struct {
	Kinds  []string `json:"kinds,omitempty"`
	Status string   `json:"status,omitempty"`
	Limit  int      `json:"limit,omitempty"`
}

// DefaultHistory is how many records History returns when no limit is set.
const DefaultHistory = 200

// Revisions lists the commits that touch env's definition, newest first,
// the deployed one marked.
func (s *Service) Revisions(ctx context.Context, env string) ([]core.RevisionEntry, error) {
	if env == "" {
		return nil, errors.New("no environment named")
	}
	return s.core.Revisions(ctx, env, MaxRevisions)
}

// PlanDeploy returns what Deploy would do; nothing is applied.
func (s *Service) PlanDeploy(ctx context.Context, env, definition, rev string) (*core.DeployPlan, error) {
	return s.core.PlanDeploy(ctx, core.DeployRequest{Env: env, Definition: definition, Rev: rev})
}

// Deploy deploys definition (default: env's) at rev (default: the branch
// head) to env. The UI has shown the plan (PlanDeploy) and the user
// confirmed it, so a destructive plan is applied.
func (s *Service) Deploy(ctx context.Context, env, definition, rev string) (*core.DeployResult, error) {
	done, err := s.begin(env, "deploy")
	if err != nil {
		return nil, err
	}
	defer done()
	return s.core.Deploy(ctx, core.DeployRequest{Env: env, Definition: definition, Rev: rev}, confirmed, s.opEmit())
}

// PlanRollback returns what Rollback would do; nothing is applied.
func (s *Service) PlanRollback(ctx context.Context, env, to string) (*core.DeployPlan, error) {
	return s.core.PlanRollback(ctx, core.RollbackRequest{Env: env, To: to})
}

// Rollback takes env back to revision to (default: the last good
// deployment before the current one), its plan confirmed like Deploy's.
func (s *Service) Rollback(ctx context.Context, env, to string) (*core.DeployResult, error) {
	done, err := s.begin(env, "rollback")
	if err != nil {
		return nil, err
	}
	defer done()
	return s.core.Rollback(ctx, core.RollbackRequest{Env: env, To: to}, confirmed, s.opEmit())
}

// History returns env's recorded operations, newest first, filtered.
func (s *Service) History(ctx context.Context, env string, f HistoryFilter) ([]core.Deployment, error) {
	if env == "" {
		return nil, errors.New("no environment named")
	}
	if f.Limit <= 0 {
		f.Limit = DefaultHistory
	}
	ds, err := s.core.History(ctx, env, core.HistoryFilter{Kinds: f.Kinds, Status: f.Status, Limit: f.Limit})
	if ds == nil && err == nil {
		ds = []core.Deployment{}
	}
	return ds, err
}

// confirmed is the confirmation of a plan the user has already seen.
func confirmed(core.DeployPlan) bool { return true }

// ReviewTrust says what a definition (at rev, "" for the definitions
// folder) can do on this machine and whether the user trusts it. The UI
// asks before the first action on a definition and shows its review
// dialog when it is not trusted.
func (s *Service) ReviewTrust(ctx context.Context, definition, rev string) (*core.TrustReview, error) {
	return s.core.ReviewTrust(ctx, core.TrustRequest{Definition: definition, Rev: rev})
}

// Trust grants what the review the user saw (its digest) shows; the
// review returned says whether the definition is trusted now (a grant may
// let it read more, which shows more to grant).
func (s *Service) Trust(ctx context.Context, definition, rev, digest string) (*core.TrustReview, error) {
	if digest == "" {
		return nil, errors.New("trust: the digest of the list the user reviewed is required")
	}
	return s.core.Trust(ctx, core.TrustRequest{Definition: definition, Rev: rev, Digest: digest, How: "app"})
}

// RevokeTrust takes every grant of a definition back.
func (s *Service) RevokeTrust(ctx context.Context, definition, rev string) error {
	return s.core.RevokeTrust(ctx, core.TrustRequest{Definition: definition, Rev: rev, How: "app"})
}

// GetSettings returns the saved settings and those in effect.
func (s *Service) GetSettings() (settings.View, error) {
	if s.settings == nil {
		return settings.View{}, errors.New("settings are not available here")
	}
	return s.settings.Settings()
}

// SaveSettings saves the settings and applies them.
func (s *Service) SaveSettings(v settings.Settings) (settings.View, error) {
	if s.settings == nil {
		return settings.View{}, errors.New("settings are not available here")
	}
	return s.settings.SaveSettings(v)
}

// Watch pushes live state changes as EventChange until ctx ends: the
// engine's, the environments' and each environment's drift reports, from
// one core watch (WatchAll: one engine event stream and one fetch loop
// for both; it also heals environments whose policy says so).
func (s *Service) Watch(ctx context.Context) error {
	return s.core.WatchAll(ctx, core.DriftWatchOptions{}, s.change)
}

// change passes one change of Watch on.
func (s *Service) change(c core.Change) {
	if c.Kind == core.ChangeEnvironment || c.Kind == core.ChangeRemoved {
		// A prefetched listing may predate this change: list afresh.
		s.mu.Lock()
		s.early = nil
		s.mu.Unlock()
	}
	if c.Kind == core.ChangeDrift || c.Kind == core.ChangeRemoved {
		s.drift(c)
		return
	}
	s.emit(EventChange, c)
}

// SubscribeLogs starts following an environment's logs under ctx and
// returns the subscription's id; lines arrive as EventLog batches with that
// id. Beyond MaxLogStreams the oldest subscription is ended.
func (s *Service) SubscribeLogs(ctx context.Context, req LogRequest) (string, error) {
	if req.Env == "" {
		return "", errors.New("no environment named")
	}
	tail := req.Tail
	if tail == 0 {
		tail = DefaultTail
	}
	creq := core.LogsRequest{Env: req.Env, Follow: true, Tail: tail}
	if req.Service != "" {
		creq.Services = []string{req.Service}
	}
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.nextID++
	id := "logs-" + strconv.Itoa(s.nextID)
	s.logs[id] = cancel
	s.order = append(s.order, id)
	var evict []context.CancelFunc
	for len(s.order) > MaxLogStreams {
		old := s.order[0]
		s.order = s.order[1:]
		if c, ok := s.logs[old]; ok {
			evict = append(evict, c)
			delete(s.logs, old)
		}
	}
	s.mu.Unlock()
	for _, c := range evict {
		c()
	}
	go s.follow(ctx, id, creq)
	return id, nil
}

// UnsubscribeLogs ends a log subscription; an unknown id is not an error
// (it may have ended by itself).
func (s *Service) UnsubscribeLogs(id string) error {
	s.mu.Lock()
	cancel, ok := s.logs[id]
	delete(s.logs, id)
	for i, o := range s.order {
		if o == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	if ok {
		cancel()
	}
	return nil
}

// follow streams one subscription's lines in batches.
func (s *Service) follow(ctx context.Context, id string, req core.LogsRequest) {
	lines := make(chan core.LogLine, MaxBatch)
	errc := make(chan error, 1)
	go func() {
		errc <- s.core.Logs(ctx, req, func(l core.LogLine) {
			select {
			case lines <- l:
			case <-ctx.Done():
			}
		})
	}()
	tick := time.NewTicker(FlushEvery)
	defer tick.Stop()
	var batch []core.LogLine
	size := 0
	flush := func() {
		if len(batch) > 0 {
			s.emit(EventLog, LogBatch{ID: id, Lines: batch})
			batch, size = nil, 0
		}
	}
	add := func(l core.LogLine) {
		batch = append(batch, l)
		size += len(l.Text)
		if len(batch) >= MaxBatch || size >= MaxBatchBytes {
			flush()
		}
	}
	for {
		select {
		case l := <-lines:
			add(l)
		case <-tick.C:
			flush()
		case err := <-errc:
			// Drain what the reader queued before it returned.
		drain:
			for {
				select {
				case l := <-lines:
					add(l)
				default:
					break drain
				}
			}
			flush()
			end := LogBatch{ID: id, Lines: []core.LogLine{}, Done: true}
			if err != nil && ctx.Err() == nil {
				end.Error = err.Error()
			}
			s.emit(EventLog, end)
			s.UnsubscribeLogs(id)
			return
		}
	}
}

func (s *Service) opEmit() core.Emit {
	return func(ev core.Event) {
		if ev.Time.IsZero() {
			ev.Time = time.Now()
		}
		s.emit(EventOp, ev)
	}
}

// begin marks env busy with op; one operation per environment at a time.
func (s *Service) begin(env, op string) (func(), error) {
	if env == "" {
		return nil, errors.New("no environment named")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if running, ok := s.busy[env]; ok {
		return nil, fmt.Errorf("environment %q is busy: %s is running: %w", env, running, ErrBusy)
	}
	s.busy[env] = op
	return func() {
		s.mu.Lock()
		delete(s.busy, env)
		s.mu.Unlock()
	}, nil
}

// redacting is emit with the values of stored secrets masked in what it
// sends: the data goes out as JSON with every hidden value replaced.
func redacting(emit Emitter) Emitter {
	return func(name string, data any) {
		if !secret.Hiding() {
			emit(name, data)
			return
		}
		b, err := json.Marshal(data)
		if err != nil {
			emit(name, data)
			return
		}
		emit(name, json.RawMessage(secret.Redact(string(b))))
	}
}
