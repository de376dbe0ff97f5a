package core

import (
	"context"
	"strconv"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
)

// DBList lists env's databases with their source, golden copy and
// snapshots.
func (b *Berth) DBList(ctx context.Context, env string) ([]DBInfo, error) {
	d, err := b.dbEnvironment(ctx, env)
	if err != nil {
		return nil, err
	}
	var snaps []DBSnapshot
	if b.snaps != nil {
		if snaps, err = b.snaps.Snapshots(ctx, env); err != nil {
			return nil, err
		}
	}
	vols := map[string]bool{}
	for _, v := range d.o.Volumes {
		vols[v.Name] = true
	}
	out := []DBInfo{}
	for i := range d.p.Databases {
		db := &d.p.Databases[i]
		info := DBInfo{Env: env, Service: db.Service, Engine: db.Engine, Volume: db.Volume, Exists: vols[db.Volume], Snapshots: []DBSnapshot{}}
		if db.Source != nil {
			src := *db.Source
			if src.Seed != "" {
				src.Seed = relTo(d.p.Dir, src.Seed)
			}
			info.Source = sourceText(&src)
		}
		if t, accounts, err := targetOf(d.p, db, d.o); err == nil {
			info.Container = t.Container
			info.Strategy, _ = d.dbe.Strategy(ctx, t.Image, t.Env)
			if k := db.Source.Kind(); accounts == nil && (k == "seed" || k == "url") {
				if src, err := b.source(ctx, d.p, db, nil); err == nil {
					if g, ok, err := d.dbe.FindGolden(ctx, src, t); err == nil && ok {
						info.Golden = goldenInfo(g)
					}
				}
			}
		}
		for _, s := range snaps {
			if s.Service == db.Service {
				info.Snapshots = append(info.Snapshots, s)
			}
		}
		out = append(out, info)
	}
	return out, nil
}

func goldenInfo(v dbclone.Volume) *DBGolden {
	g := &DBGolden{Volume: v.Name, Source: v.Labels[dbclone.LabelSource]}
	g.Size, _ = strconv.ParseInt(v.Labels[dbclone.LabelSize], 10, 64)
	g.LoadedAt, _ = time.Parse(time.RFC3339, v.Labels[dbclone.LabelLoadedAt])
	return g
}
