package root

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/engine"
)

// Records (deployments, snapshots, golden copies, settings) and locks
// belong to one engine, named by its ID. An engine that does not answer
// has no ID to ask for; the last ID seen at its address, kept in
// engines.json in the data folder, stands in, so that history and
// snapshots stay readable while it is away.

// identity names the engine the source points at: its ID and the
// address it is reached at.
func (s *engineSource) identity(ctx context.Context) (id, host string, err error) {
	// The connection in hand, when there is one: every store read asks,
	// and a ping each time would cost a round trip (over ssh, a login).
	s.mu.Lock()
	a := s.e
	s.mu.Unlock()
	if a == nil {
		var src core.Engine
		if src, err = s.get(ctx); err == nil {
			a = src.(*engineAdapter)
		}
	}
	if a != nil {
		host = a.e.Endpoint().Host
		if id, err = a.e.ID(ctx); err == nil {
			s.ids.remember(host, id)
			return id, host, nil
		}
	}
	s.mu.Lock()
	opts := s.opts
	s.mu.Unlock()
	if ep, derr := engine.Describe(opts); derr == nil {
		if known := s.ids.lookup(ep.Host); known != "" {
			return known, ep.Host, nil
		}
	}
	// What needs the engine's name fails as the engine does: unreachable.
	return "", "", mark(err, core.ErrEngine)
}

// engineIDs is engines.json: address -> the engine ID last seen there.
type engineIDs struct {
	mu   sync.Mutex
	path string // "": not kept
	m    map[string]string
}

func (k *engineIDs) load() {
	if k.m != nil {
		return
	}
	k.m = map[string]string{}
	if k.path == "" {
		return
	}
	if b, err := os.ReadFile(k.path); err == nil {
		_ = json.Unmarshal(b, &k.m)
	}
}

func (k *engineIDs) lookup(host string) string {
	if k == nil {
		return ""
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.load()
	return k.m[host]
}

func (k *engineIDs) remember(host, id string) {
	if k == nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.load()
	if k.m[host] == id || k.path == "" {
		k.m[host] = id
		return
	}
	k.m[host] = id
	b, err := json.MarshalIndent(k.m, "", "  ")
	if err != nil {
		return
	}
	tmp := k.path + ".tmp"
	if os.WriteFile(tmp, b, 0o600) == nil {
		_ = os.Rename(tmp, k.path)
	}
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9:_-]{1,128}$`)

// engineDir is the folder of an engine's own files (its locks) in the data
// folder. The ID comes from the engine: anything but a plain ID is hashed.
func engineDir(dataDir, id string) string {
	name := id
	if !safeID.MatchString(id) {
		sum := sha256.Sum256([]byte(id))
		name = "id-" + hex.EncodeToString(sum[:8])
	}
	return filepath.Join(dataDir, "engines", fmt.Sprint(filepathSafe(name)))
}

// filepathSafe turns the colons of Docker's IDs into dashes.
func filepathSafe(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == ':' {
			out[i] = '-'
		}
	}
	return string(out)
}
