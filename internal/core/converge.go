package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// After a process is killed mid-operation (kill -9, a crash, the machine
// going down), what it started may still run or lie half done: its helper
// containers go on copying into a database's volume, a swap of data
// folders stops half way. The next operation on the environment, holding
// its lock, finds the interrupted record (acquire) and converges from
// there before anything starts: it removes the helpers first, then
// settles each database volume (a complete copy is swapped in, an
// incomplete one dropped: never both), and only then plans and applies.

// removeHelpers removes the helpers a killed or failed operation on env
// left (and the copy-on-write probe's volumes).
func (b *Berth) removeHelpers(ctx context.Context, env string, emit Emit) error {
	if b.dbs == nil {
		return nil
	}
	if _, err := b.eng(ctx); err != nil {
		return nil // no engine: nothing runs there to remove now; the next operation tries again
	}
	dbe, err := b.dbs(ctx)
	if err != nil {
		return err
	}
	n, err := dbe.RemoveHelpers(ctx, env)
	if err != nil {
		return fmt.Errorf("removing the helper containers an interrupted operation on %s left: %w", env, err)
	}
	if n > 0 {
		emit.send(Event{Env: env, Kind: EventWarning, Detail: fmt.Sprintf("removed %d helper container%s the last operation left behind", n, plural(n))})
	}
	return nil
}

// settleDatabases settles every existing database volume of p whose
// server is not running, and returns those left empty (a clone into them
// never completed: cloneNewDatabases clones into them again).
func (b *Berth) settleDatabases(ctx context.Context, p *spec.Project, o reconcile.Observed, emit Emit) (map[string]bool, error) {
	empty := map[string]bool{}
	if b.dbs == nil || len(p.Databases) == 0 {
		return empty, nil
	}
	exists := map[string]bool{}
	for _, v := range o.Volumes {
		exists[v.Name] = true
	}
	running := map[string]bool{}
	for _, c := range o.Containers {
		if c.State == "running" || c.State == "restarting" {
			running[c.Service] = true
		}
	}
	dbe, err := b.dbs(ctx)
	if err != nil {
		return nil, err
	}
	for i := range p.Databases {
		db := &p.Databases[i]
		if db.Volume == "" || !exists[db.Volume] {
			continue
		}
		if running[db.Service] {
			emit.send(Event{Env: p.Name, Kind: EventWarning, Detail: fmt.Sprintf("database %s runs: its volume is not checked for a copy the interrupted operation left", db.Service)})
			continue
		}
		t, err := dataTarget(p, db, o)
		if err != nil {
			return nil, err
		}
		s, err := dbe.Settle(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("database %s of %s: %w", db.Service, p.Name, err)
		}
		if s.Changed {
			emit.send(Event{Env: p.Name, Kind: EventWarning, Detail: fmt.Sprintf("database %s: settled the copy the interrupted operation left in %s", db.Service, db.Volume)})
		}
		if s.Empty {
			empty[db.Volume] = true
			emit.send(Event{Env: p.Name, Kind: EventWarning, Detail: fmt.Sprintf("database %s: %s is empty (the interrupted operation never completed its clone): cloning it again", db.Service, db.Volume)})
		}
	}
	return empty, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// restartServers marks the database servers that interrupted database
// operations had stopped for their copy (their records say the server ran
// before) to be started at the end of this operation's copy, as the
// interrupted one would have: starting them now would only have this
// operation stop them again, in the middle of their start.
func (b *Berth) restartServers(d *dbEnv, interrupted []Deployment) {
	for _, rec := range interrupted {
		if !strings.HasPrefix(rec.Kind, "db-") || len(rec.Detail) == 0 {
			continue
		}
		var det DBDetail
		if json.Unmarshal(rec.Detail, &det) != nil || !det.Running || d.p.Database(det.Service) == nil {
			continue
		}
		if d.restart == nil {
			d.restart = map[string]bool{}
		}
		d.restart[det.Service] = true
	}
}
