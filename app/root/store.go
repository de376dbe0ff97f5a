package root

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/store"
)

// storeAdapter adapts the SQLite store to core.Store; the file is opened
// on first use.
type storeAdapter struct {
	mu      sync.Mutex
	dataDir string
	err     error // why there is no data folder
	s       *store.Store
	// engine names the engine whose records are read and written (nil:
	// none, tests): see engineid.go.
	engine func(ctx context.Context) (id, host string, err error)
}

// on is s seen from the engine in use; a nil s stays nil.
func (a *storeAdapter) on(ctx context.Context, s *store.Store) (*store.Store, error) {
	if s == nil || a.engine == nil {
		return s, nil
	}
	id, host, err := a.engine(ctx)
	if err != nil {
		return nil, err
	}
	return s.On(ctx, id, host), nil
}

// scoped is get, on the engine in use.
func (a *storeAdapter) scoped(ctx context.Context) (*store.Store, error) {
	s, err := a.get()
	if err != nil {
		return nil, err
	}
	return a.on(ctx, s)
}

// scopedExisting is existing, on the engine in use.
func (a *storeAdapter) scopedExisting(ctx context.Context) (*store.Store, error) {
	s, err := a.existing()
	if err != nil || s == nil {
		return nil, err
	}
	return a.on(ctx, s)
}

func (a *storeAdapter) get() (*store.Store, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.s != nil {
		return a.s, nil
	}
	if a.err != nil {
		return nil, a.err
	}
	s, err := store.Open(filepath.Join(a.dataDir, "berth.db"))
	if err != nil {
		return nil, err
	}
	a.s = s
	return s, nil
}

// existing is the store when it exists; reads go through it, so that
// reading (berth ls, history) never creates the file: with none there is
// nothing recorded.
func (a *storeAdapter) existing() (*store.Store, error) {
	a.mu.Lock()
	none := a.s == nil && a.err == nil
	a.mu.Unlock()
	if none {
		if _, err := os.Stat(filepath.Join(a.dataDir, "berth.db")); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	return a.get()
}

func (a *storeAdapter) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.s != nil {
		a.s.Close()
		a.s = nil
	}
}

func (a *storeAdapter) Begin(ctx context.Context, d core.Deployment) (int64, error) {
	s, err := a.scoped(ctx)
	if err != nil {
		return 0, err
	}
	name, email := gitIdentity(os.Getenv)
	return s.Begin(ctx, store.Deployment{Kind: d.Kind, Env: d.Env, Definition: d.Definition, Variant: d.Variant, Revision: d.Revision,
		PreviousRevision: d.PreviousRevision, Plan: d.Plan, Detail: d.Detail, Who: store.Who{GitName: name, GitEmail: email}})
}

func (a *storeAdapter) Finish(ctx context.Context, id int64, o core.Outcome) error {
	s, err := a.get()
	if err != nil {
		return err
	}
	return s.Finish(ctx, id, store.Outcome{Status: o.Status, Error: o.Error, ImageDigests: o.ImageDigests, SnapshotIDs: o.SnapshotIDs, Detail: o.Detail})
}

func (a *storeAdapter) History(ctx context.Context, env string, f core.HistoryFilter) ([]core.Deployment, error) {
	s, err := a.scopedExisting(ctx)
	if err != nil || s == nil {
		return nil, err
	}
	ds, err := s.History(ctx, env, store.Filter{Kinds: f.Kinds, Status: f.Status, Limit: f.Limit})
	return deployments(ds), err
}

func (a *storeAdapter) Unfinished(ctx context.Context, env string) ([]core.Deployment, error) {
	s, err := a.scopedExisting(ctx)
	if err != nil || s == nil {
		return nil, err
	}
	ds, err := s.Unfinished(ctx, env)
	return deployments(ds), err
}

func (a *storeAdapter) MarkInterrupted(ctx context.Context, id int64) error {
	s, err := a.get()
	if err != nil {
		return err
	}
	return s.MarkInterrupted(ctx, id)
}

func (a *storeAdapter) AddSnapshot(ctx context.Context, sn core.DBSnapshot) (int64, error) {
	s, err := a.scoped(ctx)
	if err != nil {
		return 0, err
	}
	return s.AddSnapshot(ctx, store.Snapshot{Name: sn.Name, Env: sn.Env, Service: sn.Service, Volume: sn.Volume, Size: sn.Size,
		Created: sn.Created, DeploymentID: sn.DeploymentID})
}

func (a *storeAdapter) Snapshots(ctx context.Context, env string) ([]core.DBSnapshot, error) {
	s, err := a.scoped(ctx)
	if err != nil {
		return nil, err
	}
	sns, err := s.Snapshots(ctx, env)
	out := make([]core.DBSnapshot, len(sns))
	for i, sn := range sns {
		out[i] = core.DBSnapshot(sn)
	}
	return out, err
}

func (a *storeAdapter) RemoveSnapshot(ctx context.Context, id int64) error {
	s, err := a.scoped(ctx)
	if err != nil {
		return err
	}
	return s.RemoveSnapshot(ctx, id)
}

// useGolden records that a golden copy is being used (for berth gc). A
// record that cannot be written only means gc leaves that copy alone.
func (a *storeAdapter) useGolden(ctx context.Context, v dbclone.Volume, t dbclone.Target) {
	if s, err := a.scoped(ctx); err == nil {
		_ = s.UseGolden(ctx, v.Name, v.Labels[dbclone.LabelSource], t.Env, t.Service)
	}
}

func (a *storeAdapter) GoldenUses(ctx context.Context) ([]core.GoldenUse, error) {
	s, err := a.scopedExisting(ctx)
	if err != nil || s == nil {
		return nil, err
	}
	us, err := s.GoldenUses(ctx)
	out := make([]core.GoldenUse, len(us))
	for i, u := range us {
		out[i] = core.GoldenUse{Volume: u.Volume, Source: u.Source, FirstUsed: u.FirstUsed, LastUsed: u.LastUsed}
		for _, c := range u.Clones {
			out[i].Clones = append(out[i].Clones, core.GoldenClone(c))
		}
	}
	return out, err
}

func (a *storeAdapter) ForgetGolden(ctx context.Context, volume string) error {
	s, err := a.scoped(ctx)
	if err != nil {
		return err
	}
	return s.ForgetGolden(ctx, volume)
}

// TrustRecords is the store's decisions about a definition.
func (a *storeAdapter) TrustRecords(ctx context.Context, repo, def string) ([]core.TrustDecision, error) {
	s, err := a.existing()
	if err != nil || s == nil {
		return nil, err
	}
	rs, err := s.TrustRecords(ctx, repo, def)
	if err != nil {
		return nil, err
	}
	out := make([]core.TrustDecision, len(rs))
	for i, r := range rs {
		out[i] = trustDecision(r)
	}
	return out, nil
}

// RecordTrust records a decision with who made it.
func (a *storeAdapter) RecordTrust(ctx context.Context, d core.TrustDecision) error {
	s, err := a.get()
	if err != nil {
		return err
	}
	caps, err := json.Marshal(d.Capabilities)
	if err != nil {
		return err
	}
	name, email := gitIdentity(os.Getenv)
	_, err = s.RecordTrust(ctx, store.TrustRecord{Repo: d.Repo, Definition: d.Definition, Decision: d.Decision, Digest: d.Digest,
		Capabilities: caps, How: d.How, Who: store.Who{GitName: name, GitEmail: email}})
	return err
}

func (a *storeAdapter) InUse(ctx context.Context) ([]core.RevisionUse, error) {
	s, err := a.get()
	if err != nil {
		return nil, err
	}
	us, err := s.InUse(ctx)
	out := make([]core.RevisionUse, len(us))
	for i, u := range us {
		out[i] = core.RevisionUse{Env: u.Env, Definition: u.Definition, Revision: u.Revision, Why: u.Why}
	}
	return out, err
}

func deployments(ds []store.Deployment) []core.Deployment {
	out := make([]core.Deployment, len(ds))
	for i, d := range ds {
		out[i] = core.Deployment{ID: d.ID, Kind: d.Kind, Env: d.Env, Definition: d.Definition, Variant: d.Variant, Revision: d.Revision,
			PreviousRevision: d.PreviousRevision, Who: core.Who(d.Who), Plan: d.Plan, StartedAt: d.StartedAt,
			FinishedAt: d.FinishedAt, Duration: d.Duration, Status: d.Status, Error: d.Error, ImageDigests: d.ImageDigests, PID: d.Process.PID,
			SnapshotIDs: d.SnapshotIDs, Detail: d.Detail, Engine: d.Engine}
	}
	return out
}

// EnvSettings is what the store keeps of an environment.
func (a *storeAdapter) EnvSettings(ctx context.Context, env string) (core.EnvSettings, error) {
	s, err := a.scopedExisting(ctx)
	if err != nil || s == nil {
		return core.EnvSettings{}, err
	}
	es, err := s.EnvSettings(ctx, env)
	if err != nil {
		return core.EnvSettings{}, err
	}
	out := core.EnvSettings{Variant: es.Variant, Profiles: es.Profiles}
	if len(es.Ports) > 0 {
		if err := json.Unmarshal(es.Ports, &out.Ports); err != nil {
			return out, fmt.Errorf("settings of %s: ports: %w", env, err)
		}
	}
	return out, nil
}

// SaveEnvSettings keeps an environment's settings.
func (a *storeAdapter) SaveEnvSettings(ctx context.Context, env string, es core.EnvSettings) error {
	s, err := a.scoped(ctx)
	if err != nil {
		return err
	}
	out := store.EnvSettings{Variant: es.Variant, Profiles: es.Profiles}
	if len(es.Ports) > 0 {
		if out.Ports, err = json.Marshal(es.Ports); err != nil {
			return err
		}
	}
	return s.SaveEnvSettings(ctx, env, out)
}

// ForgetEnvSettings drops an environment's settings.
func (a *storeAdapter) ForgetEnvSettings(ctx context.Context, env string) error {
	s, err := a.scopedExisting(ctx)
	if err != nil || s == nil {
		return err
	}
	return s.ForgetEnvSettings(ctx, env)
}
