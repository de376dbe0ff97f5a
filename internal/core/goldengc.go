package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// GoldenCopies is what a clean-up of golden copies asks of the cloner.
type GoldenCopies interface {
	GoldenCopies(ctx context.Context) ([]dbclone.GoldenCopy, error)
	RemoveGoldenCopy(ctx context.Context, name string) error
}

// GoldenRecords is the store's record of the golden copies this
// installation used (loaded, cloned or reset from), and when it last did.
type GoldenRecords interface {
	GoldenUses(ctx context.Context) ([]GoldenUse, error)
	ForgetGolden(ctx context.Context, volume string) error
}

// GoldenUse is a golden copy this installation used.
type GoldenUse struct {
	Volume    string
	Source    string
	FirstUsed time.Time
	LastUsed  time.Time
	// Clones are the databases whose latest clone from a golden copy came
	// from this one.
	Clones []GoldenClone
}

// GoldenClone is an environment's database service.
type GoldenClone struct{ Env, Service string }

// WithGoldenRecords lets berth gc clean up golden copies: r records which
// ones this installation used and when.
func WithGoldenRecords(r GoldenRecords) Option {
	return func(b *Berth) { b.goldenRecs = r }
}

// GoldenPrune is what a clean-up of golden copies removed (or would
// remove) and kept.
type GoldenPrune struct {
	Removed    []GoldenEntry `json:"removed"`
	Kept       []GoldenEntry `json:"kept"`
	BytesFreed int64         `json:"bytesFreed"`
	// Others counts the golden copies on the engine that this installation
	// has no record of using (another installation's, or loaded before
	// Berth kept records): left alone.
	Others int `json:"others,omitempty"`
	// Notes say what could not be told (an environment whose definition
	// does not load here: what its last clone came from is kept).
	Notes []string `json:"notes,omitempty"`
	// Skipped says why golden copies were not looked at (no engine, or a
	// build without databases); nothing was removed then.
	Skipped string `json:"skipped,omitempty"`
}

// GoldenEntry is one golden copy.
type GoldenEntry struct {
	Volume   string    `json:"volume"`
	Source   string    `json:"source"`
	LastUsed time.Time `json:"lastUsed"`
	Bytes    int64     `json:"bytes,omitempty"`
	// Kept says why it stays.
	Kept string `json:"kept,omitempty"`
}

// pruneGolden removes the golden copies this installation used that
// nothing needs any more: it keeps those the databases of every
// environment (on the engine or in the records) clone from at the revision
// each runs (else what their latest clones came from), those of every
// definition in the definitions folder (the next new environment's), and
// those used since `since` (at least within the last hour: a clone may be
// between loading one and copying it). Golden copies it has no record of
// are left alone.
//
// Its length is the list of reasons to keep a copy, each a few lines,
// gathered into one set before anything is removed.
func (b *Berth) pruneGolden(ctx context.Context, dryRun bool, since time.Time) *GoldenPrune {
	res := &GoldenPrune{Removed: []GoldenEntry{}, Kept: []GoldenEntry{}}
	if b.dbs == nil || b.goldenRecs == nil {
		res.Skipped = "this build has no database cloner"
		return res
	}
	dbe, err := b.dbs(ctx)
	if err != nil {
		res.Skipped = "the engine is not reachable: " + err.Error()
		return res
	}
	gc, ok := dbe.(GoldenCopies)
	if !ok {
		res.Skipped = "this database cloner cannot list its golden copies"
		return res
	}
	copies, err := gc.GoldenCopies(ctx)
	if err != nil {
		res.Skipped = "listing golden copies: " + err.Error()
		return res
	}
	uses, err := b.goldenRecs.GoldenUses(ctx)
	if err != nil {
		res.Skipped = err.Error()
		return res
	}
	onEngine := map[string]dbclone.GoldenCopy{}
	for _, g := range copies {
		onEngine[g.Volume] = g
	}
	recorded := map[string]bool{}
	var candidates []GoldenUse
	for _, u := range uses {
		recorded[u.Volume] = true
		if _, ok := onEngine[u.Volume]; !ok {
			if !dryRun {
				_ = b.goldenRecs.ForgetGolden(ctx, u.Volume) // removed by hand, or by another clean-up
			}
			continue
		}
		candidates = append(candidates, u)
	}
	for _, g := range copies {
		if !recorded[g.Volume] {
			res.Others++
		}
	}
	if len(candidates) == 0 {
		return res
	}
	keep, notes, err := b.neededGolden(ctx, dbe, uses)
	if err != nil {
		res.Skipped = err.Error()
		return res
	}
	res.Notes = notes
	for _, u := range candidates {
		g := onEngine[u.Volume]
		e := GoldenEntry{Volume: u.Volume, Source: cmp.Or(g.Source, u.Source), LastUsed: u.LastUsed, Bytes: g.Bytes}
		switch {
		case keep[u.Volume] != "":
			e.Kept = keep[u.Volume]
		case u.LastUsed.After(since):
			e.Kept = "used " + u.LastUsed.Local().Format(time.DateTime) + ", within the keep period"
		}
		if e.Kept == "" && !dryRun {
			if err := gc.RemoveGoldenCopy(ctx, u.Volume); err != nil {
				e.Kept = "could not be removed: " + err.Error()
			} else {
				_ = b.goldenRecs.ForgetGolden(ctx, u.Volume)
			}
		}
		if e.Kept != "" {
			res.Kept = append(res.Kept, e)
			continue
		}
		res.Removed = append(res.Removed, e)
		res.BytesFreed += g.Bytes
	}
	return res
}

// neededGolden maps the golden copies that environments and definitions
// clone from to who needs them: for each environment (on the engine or in
// the records) those of its sources at the revision it runs, or when they
// cannot be told here (its definition does not load) those its latest
// clones came from (recorded in uses); for each definition in the
// definitions folder those of its sources. notes say which environments'
// sources could not be told.
func (b *Berth) neededGolden(ctx context.Context, dbe DatabaseEngine, uses []GoldenUse) (keep map[string]string, notes []string, err error) {
	keep = map[string]string{}
	need := func(volume, who string) { addReason(keep, volume, who) }
	envs := map[string]bool{}
	if e, err := b.eng(ctx); err == nil {
		obs, err := e.Environments(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot tell which environments exist, so no golden copy was removed: %w", err)
		}
		for _, o := range obs {
			envs[o.Project] = true
		}
	}
	if b.revUsers != nil {
		ru, err := b.revUsers.InUse(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot tell which environments exist, so no golden copy was removed: %w", err)
		}
		for _, u := range ru {
			envs[u.Env] = true
		}
	}
	names := make([]string, 0, len(envs))
	for n := range envs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, env := range names {
		p, err := b.desiredOf(ctx, env)
		if err == nil {
			err = b.goldenOf(ctx, dbe, p, func(v dbclone.Volume, service string) { need(v.Name, env+": "+service) })
		}
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: its sources cannot be told here (%v); what its latest clone came from is kept", env, err))
			for _, u := range uses {
				for _, c := range u.Clones {
					if c.Env == env {
						need(u.Volume, env+": "+c.Service+" (its latest clone)")
					}
				}
			}
		}
	}
	// The definitions as they are now: the next environment made from one
	// clones from its golden copy. One that does not load needs none.
	defs, err := b.defs.List(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot list the definitions, so no golden copy was removed: %w", err)
	}
	for _, d := range defs {
		if d.Error != "" {
			continue
		}
		l, _, err := b.load(ctx, d.Name, d.Name, nil)
		if err != nil {
			continue
		}
		p := l.p
		p.Definition = cmp.Or(p.Definition, d.Name)
		_ = b.goldenOf(ctx, dbe, p, func(v dbclone.Volume, service string) { need(v.Name, "definition "+d.Name+": "+service) })
	}
	return keep, notes, nil
}

// goldenOf calls found with the loaded golden copy of each of p's
// databases whose source has one (seeds and URLs).
func (b *Berth) goldenOf(ctx context.Context, dbe DatabaseEngine, p *spec.Project, found func(v dbclone.Volume, service string)) error {
	for i := range p.Databases {
		db := &p.Databases[i]
		if k := db.Source.Kind(); k != "seed" && k != "url" {
			continue
		}
		t, accounts, err := targetOf(p, db, reconcile.Observed{})
		if err != nil {
			if errors.Is(err, ErrNoDatabases) {
				continue
			}
			return err
		}
		if accounts != nil {
			continue // no golden copy can be loaded for it
		}
		src, err := b.source(ctx, p, db, nil)
		if err != nil {
			return err
		}
		v, ok, err := dbe.FindGolden(ctx, src, t)
		if err != nil {
			// a URL variable not set here, a seed that fails its check:
			// no golden copy can be told for it
			if errors.Is(err, dbclone.ErrSource) {
				continue
			}
			return err
		}
		if ok {
			found(v, db.Service)
		}
	}
	return nil
}
