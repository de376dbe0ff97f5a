package core

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/spec"
)

// source resolves a source: from (nil for the manifest's) for db of p.
func (b *Berth) source(ctx context.Context, p *spec.Project, db *spec.Database, from *spec.DatabaseSource) (dbclone.Source, error) {
	var ds spec.DatabaseSource
	switch {
	case from == nil:
		if db.Source == nil || db.Source.Kind() == "" {
			return dbclone.Source{}, fmt.Errorf("database %s of %s has no source in %s: give one (seed:PATH, url:VAR, env:NAME, snapshot:NAME)", db.Service, p.Name, spec.ManifestFile)
		}
		ds = *db.Source
	case from.Kind() == "":
		return dbclone.Source{}, errors.New("an empty database source")
	default:
		ds = *from
		if ds.Seed != "" && !filepath.IsAbs(ds.Seed) {
			ds.Seed = filepath.Join(p.Dir, ds.Seed)
		}
	}
	switch ds.Kind() {
	case "seed":
		return dbclone.Source{Kind: dbclone.SourceSeed, Seed: ds.Seed, SHA256: ds.SHA256, Name: "seed " + relTo(p.Dir, ds.Seed)}, nil
	case "url":
		// The manifest's variable is read only when granted (the load's
		// HostEnv); one the user names with --from is read because the
		// user asked.
		url := p.HostEnv[ds.URL]
		if from != nil && b.trust.Getenv != nil && !slices.Contains(b.reserved(), ds.URL) {
			url, _ = b.trust.Getenv(ds.URL)
		}
		return dbclone.Source{Kind: dbclone.SourceURL, URL: url, URLName: ds.URL, Name: "the database at $" + ds.URL}, nil
	case "env":
		if ds.Env == p.Name {
			return dbclone.Source{}, fmt.Errorf("environment %q cannot be cloned from itself", p.Name)
		}
		e, err := b.eng(ctx)
		if err != nil {
			return dbclone.Source{}, err
		}
		o, err := e.ObserveProject(ctx, ds.Env)
		if err != nil {
			return dbclone.Source{}, err
		}
		op, err := b.desiredOf(ctx, ds.Env)
		if err != nil {
			return dbclone.Source{}, fmt.Errorf("source environment %q: %w", ds.Env, err)
		}
		odb := op.Database(db.Service)
		if odb == nil && len(op.Databases) == 1 {
			odb = &op.Databases[0]
		}
		if odb == nil || odb.Volume == "" {
			return dbclone.Source{}, fmt.Errorf("source environment %q has no database %s with a data volume: %w", ds.Env, db.Service, ErrNotFound)
		}
		t, err := dataTarget(op, odb, o)
		if err != nil {
			return dbclone.Source{}, err
		}
		return dbclone.Source{Kind: dbclone.SourceEnv, Volume: t.Volume, Container: t.Container, Name: "environment " + ds.Env}, nil
	case "snapshot":
		sn, err := b.findSnapshot(ctx, "", ds.Snapshot)
		if err != nil {
			return dbclone.Source{}, err
		}
		return dbclone.Source{Kind: dbclone.SourceSnapshot, Volume: sn.Volume, Name: "snapshot " + sn.Name + " of " + sn.Env}, nil
	}
	return dbclone.Source{}, errors.New("empty source")
}
