package core

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// goldenDB is a cloner whose golden copies are named after their seeds,
// with a list of the copies on the engine.
type goldenDB struct {
	fakeDB
	onEngine []dbclone.GoldenCopy
	busy     map[string]bool
	removed  []string
}

func (g *goldenDB) FindGolden(_ context.Context, src dbclone.Source, _ dbclone.Target) (dbclone.Volume, bool, error) {
	name := strings.TrimSuffix(src.Seed[strings.LastIndex(src.Seed, "/")+1:], ".sql")
	for _, c := range g.onEngine {
		if c.Volume == name {
			return dbclone.Volume{Name: name}, true, nil
		}
	}
	return dbclone.Volume{}, false, nil
}

func (g *goldenDB) GoldenCopies(context.Context) ([]dbclone.GoldenCopy, error) {
	return g.onEngine, nil
}

func (g *goldenDB) RemoveGoldenCopy(_ context.Context, name string) error {
	if g.busy[name] {
		return errors.New("volume is in use")
	}
	g.removed = append(g.removed, name)
	return nil
}

type fakeRecords struct {
	uses      []GoldenUse
	forgotten []string
}

func (r *fakeRecords) GoldenUses(context.Context) ([]GoldenUse, error) { return r.uses, nil }
func (r *fakeRecords) ForgetGolden(_ context.Context, v string) error {
	r.forgotten = append(r.forgotten, v)
	return nil
}

// TestPruneGolden: of the golden copies this installation used, those an
// environment or a definition clones from and those used recently stay;
// the rest go (not in a dry run); records of copies gone from the engine
// are dropped; copies it has no record of are left alone; and when an
// environment's needs cannot be told nothing is removed.
func TestPruneGolden(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	old, recent := now.Add(-30*24*time.Hour), now.Add(-10*time.Minute)
	withSeed := func(name, seed string) *spec.Project {
		p := dbProject()
		p.Name = name
		p.Databases[0].Source = &spec.DatabaseSource{Seed: "/defs/" + name + "/" + seed}
		return p
	}
	setup := func(defs fakeDefs) (*Berth, *goldenDB, *fakeRecords) {
		e := &fakeEngine{observed: map[string]reconcile.Observed{"shop": {Project: "shop"}}}
		db := &goldenDB{busy: map[string]bool{"g-busy": true}}
		for _, n := range []string{"g-shop", "g-blog", "g-old", "g-recent", "g-busy", "g-other"} {
			db.onEngine = append(db.onEngine, dbclone.GoldenCopy{Volume: n, Source: "seed " + n, Ready: true, Bytes: 1000})
		}
		recs := &fakeRecords{}
		for _, u := range []struct {
			v      string
			at     time.Time
			clones []GoldenClone
		}{{"g-shop", old, []GoldenClone{{"shop", "db"}}}, {"g-blog", old, nil}, {"g-old", old, []GoldenClone{{"removed-env", "db"}}},
			{"g-recent", recent, nil}, {"g-busy", old, nil}, {"g-gone", old, nil}} {
			recs.uses = append(recs.uses, GoldenUse{Volume: u.v, LastUsed: u.at, Clones: u.clones})
		}
		b := New(func(context.Context) (Engine, error) { return e, nil }, defs,
			WithDatabases(func(context.Context) (DatabaseEngine, error) { return db, nil }, &fakeCatalog{}),
			WithGoldenRecords(recs), WithWorkspaces(&fakeWorkspaces{}, fakeUsers{}, func() int { return 14 }, nil))
		b.now = func() time.Time { return now }
		return b, db, recs
	}
	names := func(es []GoldenEntry) string {
		var out []string
		for _, e := range es {
			out = append(out, e.Volume)
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	defs := fakeDefs{"shop": withSeed("shop", "g-shop.sql"), "blog": withSeed("blog", "g-blog.sql")}

	for _, dry := range []bool{true, false} {
		b, db, recs := setup(defs)
		res, err := b.PruneWorkspaces(context.Background(), PruneRequest{DryRun: dry, Golden: true})
		if err != nil {
			t.Fatal(err)
		}
		g := res.Golden
		if g == nil || g.Skipped != "" {
			t.Fatalf("dry %v: golden %+v", dry, g)
		}
		// A dry run cannot know that a copy is in use: removing it is what
		// the engine refuses.
		wantRemoved, wantKept, wantFreed := "g-old", "g-blog g-busy g-recent g-shop", int64(1000)
		if dry {
			wantRemoved, wantKept, wantFreed = "g-busy g-old", "g-blog g-recent g-shop", 2000
		}
		if names(g.Removed) != wantRemoved || names(g.Kept) != wantKept || g.Others != 1 || g.BytesFreed != wantFreed {
			t.Fatalf("dry %v: removed %q kept %q others %d freed %d", dry, names(g.Removed), names(g.Kept), g.Others, g.BytesFreed)
		}
		why := map[string]string{}
		for _, e := range g.Kept {
			why[e.Volume] = e.Kept
		}
		if why["g-shop"] != "shop: db; definition shop: db" || why["g-blog"] != "definition blog: db" ||
			!strings.Contains(why["g-recent"], "within the keep period") || !dry && !strings.Contains(why["g-busy"], "in use") {
			t.Fatalf("dry %v: why kept %q", dry, why)
		}
		if dry {
			if len(db.removed) != 0 || len(recs.forgotten) != 0 {
				t.Fatalf("a dry run removed %v and forgot %v", db.removed, recs.forgotten)
			}
			continue
		}
		sort.Strings(recs.forgotten)
		if strings.Join(db.removed, " ") != "g-old" || strings.Join(recs.forgotten, " ") != "g-gone g-old" {
			t.Fatalf("removed %v, forgot %v", db.removed, recs.forgotten)
		}
	}

	// An environment whose definition does not load here: what its latest
	// clone came from stays, and the result says why.
	b, db, _ := setup(fakeDefs{"blog": withSeed("blog", "g-blog.sql")})
	res, err := b.PruneWorkspaces(context.Background(), PruneRequest{Golden: true})
	if err != nil {
		t.Fatal(err)
	}
	g := res.Golden
	if g.Skipped != "" || len(g.Notes) != 1 || !strings.Contains(g.Notes[0], "shop: its sources cannot be told here") ||
		strings.Join(db.removed, " ") != "g-old" {
		t.Fatalf("with shop's definition missing: %+v, removed %v", g, db.removed)
	}
	for _, e := range g.Kept {
		if e.Volume == "g-shop" && e.Kept != "shop: db (its latest clone)" {
			t.Errorf("g-shop kept because %q", e.Kept)
		}
	}
}
