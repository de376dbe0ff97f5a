package root

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/gitsrc"
	"github.com/berthdev/berth/internal/settings"
	"github.com/berthdev/berth/internal/spec"
	"github.com/berthdev/berth/internal/store"
)

// trustSettings are core's trust settings: decisions in the store, the
// user's environment read one granted variable at a time, the repo
// token's variable never, the settings' refusals, and Berth's own folders
// out of every definition's reach.
func (r *Root) trustSettings(dataDir string, lookup func(string) (string, bool)) core.TrustSettings {
	forbid := []string{dataDir}
	if d, err := settings.Dir(); err == nil {
		forbid = append(forbid, d)
	}
	return core.TrustSettings{
		Store:     r.store,
		Getenv:    lookup,
		Reserved:  r.reservedVars,
		Refuse:    r.refused,
		Forbid:    forbid,
		DigestKey: digestKey(dataDir),
	}
}

// digestKey is the key of the state folder that digests of secrets are
// keyed with (digest.key, 32 random bytes, mode 0600), made on first use.
// Without a usable state folder it is a key of this process: hashes then
// change from one run to the next, and containers using secrets are
// recreated, which is safe.
func digestKey(dataDir string) []byte {
	if dataDir != "" {
		p := filepath.Join(dataDir, "digest.key")
		if b, err := os.ReadFile(p); err == nil && len(b) == 32 {
			return b
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err == nil && os.MkdirAll(dataDir, 0o700) == nil {
			// Written aside, then linked into place: the first process to
			// link wins, and every process reads the key that won.
			tmp := fmt.Sprintf("%s.%d.tmp", p, os.Getpid())
			if os.WriteFile(tmp, key, 0o600) == nil {
				_ = os.Link(tmp, p)
				_ = os.Remove(tmp)
			}
			if b, err := os.ReadFile(p); err == nil && len(b) == 32 {
				return b
			}
		}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return key
}

// reservedVars are the variables no definition may read besides BERTH_*:
// the one the settings name for the repo token.
func (r *Root) reservedVars() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return []string{cmp.Or(r.saved.RepoTokenEnv, defaultTokenEnv)}
}

// refused are the capability kinds the settings refuse.
func (r *Root) refused() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.saved.Refuse)
}

// checkRefuse checks the settings' refusals name known capabilities.
func checkRefuse(s settings.Settings) error {
	for _, k := range s.Refuse {
		if k != spec.CapOutside && !slices.Contains(spec.CapabilityKinds, k) {
			return fmt.Errorf("refuse: unknown capability %q: use %s or %s", k, strings.Join(spec.CapabilityKinds, ", "), spec.CapOutside)
		}
	}
	return nil
}

// Identity names the repo the definitions folder is in, for trust
// decisions: "path:<repo root>" when it is in a Git repo, else
// "dir:<folder>" (symlinks evaluated).
func (d *definitions) Identity(context.Context) string {
	dir := d.folder()
	d.mu.Lock()
	if d.ids == nil {
		d.ids = map[string]string{}
	}
	id, ok := d.ids[dir]
	d.mu.Unlock()
	if ok {
		return id
	}
	real := realPath(dir)
	id = "dir:" + real
	if root, err := gitsrc.FindRepo(real); err == nil {
		root = realPath(root)
		if rel, err := filepath.Rel(root, real); err == nil && filepath.IsLocal(rel) || rel == "." {
			id = "path:" + root
		}
	}
	d.mu.Lock()
	d.ids[dir] = id
	d.mu.Unlock()
	return id
}

func realPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return abs
}

// normalURL is a repo URL as one identity: credentials dropped, scheme
// and host lower-case, no trailing ".git" or "/"; git@host:path becomes
// ssh://host/path.
func normalURL(raw string) string {
	if scpURL.MatchString(raw) && !strings.Contains(raw, "://") {
		at := strings.Index(raw, "@")
		host, path, _ := strings.Cut(raw[at+1:], ":")
		raw = "ssh://" + host + "/" + strings.TrimPrefix(path, "/")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return gitsrc.Redact(raw)
	}
	u.User = nil
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

func trustDecision(r store.TrustRecord) core.TrustDecision {
	who := r.Who.OSUser
	if r.Who.GitName != "" {
		who = r.Who.GitName
		if r.Who.GitEmail != "" {
			who += " <" + r.Who.GitEmail + ">"
		}
	}
	if r.Who.Host != "" {
		who += " on " + r.Who.Host
	}
	return core.TrustDecision{ID: r.ID, Repo: r.Repo, Definition: r.Definition, Decision: r.Decision, Digest: r.Digest,
		Capabilities: core.DecodeCapabilities(r.Capabilities), How: r.How, Who: who, DecidedAt: r.DecidedAt}
}
