package api

// Databases and drift: the Databases view (clones, snapshots, restore,
// reset) and the Drift view (check, heal, adopt, discard, pause).

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/spec"
)

// Databases lists env's databases with their source, golden copy,
// strategy and snapshots.
func (s *Service) Databases(ctx context.Context, env string) ([]core.DBInfo, error) {
	if env == "" {
		return nil, errors.New("no environment named")
	}
	dbs, err := s.core.DBList(ctx, env)
	if dbs == nil && err == nil {
		dbs = []core.DBInfo{}
	}
	return dbs, err
}

// DBClone replaces a database of env (service; "" : its only one) with a
// copy of a source (from: "" for the manifest's, else seed:PATH, url:VAR,
// env:NAME or snapshot:NAME), pushing progress events.
func (s *Service) DBClone(ctx context.Context, env, service, from string) (*core.DBResult, error) {
	done, err := s.begin(env, "db clone")
	if err != nil {
		return nil, err
	}
	defer done()
	src, err := spec.ParseDatabaseSource(from)
	if err != nil {
		return nil, err
	}
	return s.core.DBClone(ctx, core.DBCloneRequest{Env: env, Service: service, From: src}, s.opEmit())
}

// DBSnapshot takes a snapshot of a database of env, named name (""
// : a name from the time).
func (s *Service) DBSnapshot(ctx context.Context, env, service, name string) (*core.DBResult, error) {
	done, err := s.begin(env, "db snapshot")
	if err != nil {
		return nil, err
	}
	defer done()
	return s.core.DBSnapshot(ctx, core.DBSnapshotRequest{Env: env, Service: service, Name: name}, s.opEmit())
}

// DBRestore puts a snapshot of env (name or id) back into its database.
// The UI has asked the user first: the database's content is replaced.
func (s *Service) DBRestore(ctx context.Context, env, snapshot string) (*core.DBResult, error) {
	if snapshot == "" {
		return nil, errors.New("no snapshot named")
	}
	done, err := s.begin(env, "db restore")
	if err != nil {
		return nil, err
	}
	defer done()
	return s.core.DBRestore(ctx, core.DBRestoreRequest{Env: env, Snapshot: snapshot}, s.opEmit())
}

// DBReset puts the golden copy of the manifest's source back into a
// database of env; the user confirmed it in the UI.
func (s *Service) DBReset(ctx context.Context, env, service string) (*core.DBResult, error) {
	done, err := s.begin(env, "db reset")
	if err != nil {
		return nil, err
	}
	defer done()
	return s.core.DBReset(ctx, core.DBResetRequest{Env: env, Service: service}, s.opEmit())
}

// DBRemove removes a snapshot of env (name or id).
func (s *Service) DBRemove(ctx context.Context, env, snapshot string) error {
	if snapshot == "" {
		return errors.New("no snapshot named")
	}
	done, err := s.begin(env, "db rm")
	if err != nil {
		return err
	}
	defer done()
	return s.core.DBRemove(ctx, core.DBRemoveRequest{Env: env, Snapshot: snapshot})
}

// Check reports env's drift now; the report also goes out as an
// EventChange (ChangeDrift) so that every open view agrees.
func (s *Service) Check(ctx context.Context, env string) (*core.DriftReport, error) {
	if env == "" {
		return nil, errors.New("no environment named")
	}
	r, err := s.core.Check(ctx, env)
	if err != nil {
		return nil, err
	}
	s.drift(core.Change{Time: r.CheckedAt, Kind: core.ChangeDrift, Env: env, Drift: r})
	return r, nil
}

// DriftReports returns the last drift report of each environment the
// watcher (Watch) has checked, sorted by environment; a page opened after
// the watcher's first pass starts from these.
func (s *Service) DriftReports() []core.DriftReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]core.DriftReport, 0, len(s.reports))
	for _, r := range s.reports {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Env < out[j].Env })
	return out
}

// PlanSync returns what Sync would do: the plan and the workspace files it
// would put back.
func (s *Service) PlanSync(ctx context.Context, env string) (*core.SyncResult, error) {
	if env == "" {
		return nil, errors.New("no environment named")
	}
	return s.core.PlanSync(ctx, env)
}

// Sync heals env: workspace files back to the deployed commit, containers
// back to the desired state. The UI has shown the plan (PlanSync) and the
// user confirmed it, so a destructive plan is applied.
func (s *Service) Sync(ctx context.Context, env string) (*core.SyncResult, error) {
	done, err := s.begin(env, "heal")
	if err != nil {
		return nil, err
	}
	defer done()
	res, err := s.core.Sync(ctx, env, false, confirmed, s.opEmit())
	if err == nil && res != nil && res.After != nil {
		s.drift(core.Change{Time: res.After.CheckedAt, Kind: core.ChangeDrift, Env: env, Drift: res.After})
	}
	return res, err
}

// Discard puts env's edited workspace files back to the deployed commit
// and returns what it put back; the user confirmed it in the UI.
func (s *Service) Discard(ctx context.Context, env string) ([]core.FileChange, error) {
	done, err := s.begin(env, "discard")
	if err != nil {
		return nil, err
	}
	defer done()
	fs, err := s.core.Discard(ctx, env, s.opEmit())
	if fs == nil && err == nil {
		fs = []core.FileChange{}
	}
	return fs, err
}

// Adopt turns env's drift into a commit on a new branch of the
// definitions repo (branch "" : a name from the environment and the
// time), never pushed; the environment is not changed.
func (s *Service) Adopt(ctx context.Context, env, branch string) (*core.AdoptResult, error) {
	done, err := s.begin(env, "adopt")
	if err != nil {
		return nil, err
	}
	defer done()
	return s.core.Adopt(ctx, core.AdoptRequest{Env: env, Branch: branch})
}

// HealingPause says until when automatic healing of an environment is
// paused (zero: it is not).
type HealingPause struct {
	Env   string    `json:"env"`
	Until time.Time `json:"until,omitzero"`
}

// MaxPause is the longest healing pause the UI may ask for.
const MaxPause = 24 * 60

// PauseHealing stops automatic healing of env for minutes (0 resumes it).
func (s *Service) PauseHealing(env string, minutes int) (HealingPause, error) {
	if env == "" {
		return HealingPause{}, errors.New("no environment named")
	}
	if minutes < 0 || minutes > MaxPause {
		return HealingPause{}, errors.New("pause healing for 0 (resume) to 1440 minutes")
	}
	return HealingPause{Env: env, Until: s.core.PauseHealing(env, time.Duration(minutes)*time.Minute)}, nil
}

// HealingPaused says until when healing of env is paused.
func (s *Service) HealingPaused(env string) (HealingPause, error) {
	if env == "" {
		return HealingPause{}, errors.New("no environment named")
	}
	return HealingPause{Env: env, Until: s.core.HealingPausedUntil(env)}, nil
}

// drift keeps the last report of an environment and pushes the change.
func (s *Service) drift(c core.Change) {
	s.mu.Lock()
	switch {
	case c.Kind == core.ChangeDrift && c.Drift != nil:
		s.reports[c.Env] = c.Drift
	case c.Kind == core.ChangeRemoved:
		delete(s.reports, c.Env)
	}
	s.mu.Unlock()
	s.emit(EventChange, c)
}
