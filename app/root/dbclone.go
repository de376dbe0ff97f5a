package root

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/engine"
	"github.com/berthdev/berth/internal/spec"
)

// databases hands core the database cloner of the connected engine: one
// dbclone.Cloner per engine connection, so that its probe of the volume
// store (copy-on-write or not) is made once.
func (s *engineSource) databases(ctx context.Context) (core.DatabaseEngine, error) {
	if _, err := s.get(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.e
	a.dbOnce.Do(func() {
		cl := dbclone.New(a.e.DBClone())
		cl.Used = s.goldenUsed
		cl.SeedLimit = seedLimit(os.Getenv)
		a.db = &databaseEngine{Cloner: cl, e: a.e}
	})
	return a.db, nil
}

// seedLimit is the most a compressed seed may unpack to, from
// BERTH_SEED_LIMIT_GIB (whole GiB); 0, the default
// (dbclone.DefaultSeedLimit), when unset or not a positive count, which is
// said on standard error.
func seedLimit(getenv func(string) string) int64 {
	v := strings.TrimSpace(getenv("BERTH_SEED_LIMIT_GIB"))
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > 1<<20 {
		logf("BERTH_SEED_LIMIT_GIB %q is not a positive whole number of GiB: using the default, %d GiB", v, dbclone.DefaultSeedLimit>>30)
		return 0
	}
	return n << 30
}

// databaseEngine is the cloner plus the engine's project volumes.
type databaseEngine struct {
	*dbclone.Cloner
	e *engine.Engine
}

func (d *databaseEngine) CreateProjectVolume(ctx context.Context, p *spec.Project, key string) error {
	return d.e.CreateProjectVolume(ctx, p, key)
}

// dbState is kept on the engine adapter, next to the connection it uses.
type dbState struct {
	dbOnce sync.Once
	db     *databaseEngine
}
