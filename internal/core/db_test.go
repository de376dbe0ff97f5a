package core

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// fakeDB records what core asks of the cloner, in order.
type fakeDB struct {
	calls     []string
	goldenErr error
	strategy  string
}

func (f *fakeDB) Golden(_ context.Context, src dbclone.Source, _ dbclone.Target, _ func(dbclone.Progress)) (dbclone.Volume, bool, error) {
	f.calls = append(f.calls, "golden "+string(src.Kind))
	return dbclone.Volume{Name: "golden"}, true, f.goldenErr
}

func (f *fakeDB) Clone(_ context.Context, src dbclone.Source, t dbclone.Target, _ func(dbclone.Progress)) (dbclone.Result, error) {
	f.calls = append(f.calls, "clone "+string(src.Kind)+" -> "+t.Volume)
	return dbclone.Result{Strategy: f.strategy}, nil
}

func (f *fakeDB) Snapshot(_ context.Context, t dbclone.Target, name string, _ func(dbclone.Progress)) (dbclone.Volume, dbclone.Result, error) {
	f.calls = append(f.calls, "snapshot "+t.Volume+" "+name)
	return dbclone.Volume{Name: "snap-" + name}, dbclone.Result{Strategy: f.strategy, Bytes: 42}, nil
}

func (f *fakeDB) Restore(_ context.Context, from string, t dbclone.Target, _ func(dbclone.Progress)) (dbclone.Result, error) {
	f.calls = append(f.calls, "restore "+from+" -> "+t.Volume)
	return dbclone.Result{Strategy: f.strategy}, nil
}

func (f *fakeDB) RemoveHelpers(_ context.Context, env string) (int, error) {
	f.calls = append(f.calls, "remove helpers of "+env)
	return 0, nil
}

func (f *fakeDB) Settle(_ context.Context, t dbclone.Target) (dbclone.Settled, error) {
	f.calls = append(f.calls, "settle "+t.Volume)
	return dbclone.Settled{}, nil
}

func (f *fakeDB) StartServer(_ context.Context, t dbclone.Target) error {
	f.calls = append(f.calls, "start "+t.Container)
	return nil
}

func (f *fakeDB) RemoveSnapshot(_ context.Context, v string) error {
	f.calls = append(f.calls, "rm "+v)
	return nil
}

func (f *fakeDB) Strategy(context.Context, string, string) (string, error) { return f.strategy, nil }

func (f *fakeDB) FindGolden(context.Context, dbclone.Source, dbclone.Target) (dbclone.Volume, bool, error) {
	return dbclone.Volume{}, false, nil
}

func (f *fakeDB) CreateProjectVolume(_ context.Context, p *spec.Project, key string) error {
	f.calls = append(f.calls, "create volume "+p.Volume(key).Name)
	return nil
}

type fakeCatalog struct{ snaps []DBSnapshot }

func (c *fakeCatalog) AddSnapshot(_ context.Context, s DBSnapshot) (int64, error) {
	s.ID = int64(len(c.snaps) + 1)
	c.snaps = append(c.snaps, s)
	return s.ID, nil
}

func (c *fakeCatalog) Snapshots(_ context.Context, env string) ([]DBSnapshot, error) {
	var out []DBSnapshot
	for _, s := range c.snaps {
		if env == "" || s.Env == env {
			out = append(out, s)
		}
	}
	return out, nil
}

func (c *fakeCatalog) RemoveSnapshot(_ context.Context, id int64) error { return nil }

func dbProject() *spec.Project {
	return &spec.Project{Name: "shop", Dir: "/defs/shop",
		Services: []spec.Service{{Name: "db", Image: "postgres:15", Replicas: 1, Hash: "h",
			Environment: map[string]string{"POSTGRES_USER": "shop", "POSTGRES_PASSWORD": "pw"}}},
		Volumes: []spec.Volume{{Key: "data", Name: "shop_data"}},
		Databases: []spec.Database{{Service: "db", Engine: spec.EnginePostgres, VolumeKey: "data", Volume: "shop_data", DataDir: spec.DefaultPGData,
			Source: &spec.DatabaseSource{Seed: "/defs/shop/seed.sql"}}}}
}

// TestUpClonesNewDatabaseFirst: a database whose volume does not exist is
// verified (golden copy), its volume made and filled before the plan is
// applied; a source that cannot be read stops Up before anything exists.
func TestUpClonesNewDatabaseFirst(t *testing.T) {
	e := &fakeEngine{observed: map[string]reconcile.Observed{}}
	db := &fakeDB{strategy: dbclone.StrategyReflink}
	b := New(func(context.Context) (Engine, error) { return e, nil }, fakeDefs{"shop": dbProject()},
		WithDatabases(func(context.Context) (DatabaseEngine, error) { return db, nil }, &fakeCatalog{}))
	if _, err := b.Up(context.Background(), UpRequest{Env: "shop"}, nil); err != nil {
		t.Fatal(err)
	}
	want := "golden seed | create volume shop_data | clone seed -> shop_data"
	if got := strings.Join(db.calls, " | "); got != want || len(e.applied) != 1 {
		t.Fatalf("calls %q (applied %d), want %q then the plan", got, len(e.applied), want)
	}

	// The volume exists now: a second Up clones nothing.
	e.observed["shop"] = reconcile.Observed{Project: "shop", Volumes: []reconcile.Object{{Name: "shop_data", Managed: true}}}
	db.calls = nil
	if _, err := b.Up(context.Background(), UpRequest{Env: "shop"}, nil); err != nil || len(db.calls) != 0 {
		t.Fatalf("second up: %v, calls %v", err, db.calls)
	}

	// A seed that cannot be read: nothing is created or applied.
	e2 := &fakeEngine{observed: map[string]reconcile.Observed{}}
	bad := &fakeDB{goldenErr: dbclone.ErrSource}
	b2 := New(func(context.Context) (Engine, error) { return e2, nil }, fakeDefs{"shop": dbProject()},
		WithDatabases(func(context.Context) (DatabaseEngine, error) { return bad, nil }, &fakeCatalog{}))
	_, err := b2.Up(context.Background(), UpRequest{Env: "shop"}, nil)
	if !errors.Is(err, dbclone.ErrSource) || strings.Join(bad.calls, "|") != "golden seed" {
		t.Fatalf("up with a bad seed: %v, calls %v", err, bad.calls)
	}
	for _, plan := range e2.applied { // only the clean-up of a failed first up
		for _, op := range plan.Ops {
			if op.Kind == reconcile.OpCreateContainer || op.Kind == reconcile.OpCreateVolume {
				t.Errorf("up with a bad seed applied %s %s", op.Kind, op.Resource)
			}
		}
	}
}

func TestDeploySnapshotsModes(t *testing.T) {
	o := reconcile.Observed{Project: "shop", Volumes: []reconcile.Object{{Name: "shop_data", Managed: true}},
		Containers: []reconcile.Container{{Name: "shop-db-1", Service: "db", Managed: true}}}
	for _, c := range []struct {
		mode, strategy string
		want           int
	}{
		{"", dbclone.StrategyReflink, 1},
		{"", dbclone.StrategyCopy, 0},
		{DeploySnapshotsAlways, dbclone.StrategyCopy, 1},
		{DeploySnapshotsNever, dbclone.StrategyReflink, 0},
	} {
		db := &fakeDB{strategy: c.strategy}
		cat := &fakeCatalog{}
		b := New(nil, nil, WithDatabases(func(context.Context) (DatabaseEngine, error) { return db, nil }, cat), WithDeploySnapshots(c.mode))
		b.now = func() time.Time { return time.Unix(0, 0) }
		ids := b.snapshotsBeforeDeploy(context.Background(), dbProject(), o, 7, nil)
		if len(ids) != c.want {
			t.Errorf("mode %q on a %s store: %d snapshots, want %d (calls %v)", c.mode, c.strategy, len(ids), c.want, db.calls)
		}
		if c.want == 1 && (cat.snaps[0].Name != "deploy-7" || cat.snaps[0].DeploymentID != 7 || cat.snaps[0].Size != 42 ||
			db.calls[0] != "snapshot shop_data deploy-7") {
			t.Errorf("mode %q: catalogued %+v, calls %v", c.mode, cat.snaps, db.calls)
		}
	}
}

// TestDataSnapshots: the data of revision A is the snapshot taken by the
// newest deployment that left A.
func TestDataSnapshots(t *testing.T) {
	st := &fakeStore{}
	cat := &fakeCatalog{}
	b := New(nil, nil, WithStore(st), WithDatabases(nil, cat))
	ctx := context.Background()
	for _, d := range []struct {
		rev, prev string
		snap      string
	}{{"A", "", ""}, {"B", "A", "s-old"}, {"A", "B", "s-b"}, {"B", "A", "s-new"}} {
		id, _ := st.Begin(ctx, Deployment{Kind: KindDeploy, Env: "shop", Revision: d.rev, PreviousRevision: d.prev})
		o := Outcome{Status: StatusSucceeded}
		if d.snap != "" {
			sid, _ := cat.AddSnapshot(ctx, DBSnapshot{Name: d.snap, Env: "shop", Service: "db", DeploymentID: id})
			o.SnapshotIDs = []int64{sid}
		}
		st.Finish(ctx, id, o)
		st.ds[id-1].SnapshotIDs = o.SnapshotIDs
	}
	got, err := b.DataSnapshots(ctx, "shop", "A")
	if err != nil || len(got) != 1 || got[0].Name != "s-new" {
		t.Fatalf("data of A: %+v %v, want s-new", got, err)
	}
	if got, _ := b.DataSnapshots(ctx, "shop", "C"); len(got) != 0 {
		t.Fatalf("data of C: %+v, want none", got)
	}
}
