package core

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/berthdev/berth/internal/secret"
	"github.com/berthdev/berth/internal/spec"
)

// Secrets are values a definition needs that never enter Git: set per
// user, kept in the OS keyring or an encrypted file (the composition root
// chooses), declared by name in berth.yaml and looked up on every load,
// so that up, deploy and rollback at any revision get them. A value is
// looked up for the environment first, then for its definition; every
// value read is hidden (secret.Hide) from what Berth prints or records.

// WithSecrets gives core the secret store.
func WithSecrets(s secret.Store) Option { return func(b *Berth) { b.secrets = s } }

// EnvSettings are what an environment keeps from one up to the next.
type EnvSettings struct {
	Variant  string
	Profiles []string
	// Ports maps a published port (PortKey) to the host port it moved to.
	Ports map[string]int
}

// EnvSettingsStore keeps environments' settings.
type EnvSettingsStore interface {
	EnvSettings(ctx context.Context, env string) (EnvSettings, error)
	SaveEnvSettings(ctx context.Context, env string, s EnvSettings) error
	ForgetEnvSettings(ctx context.Context, env string) error
}

// WithEnvSettings gives core the store of environments' settings.
func WithEnvSettings(s EnvSettingsStore) Option { return func(b *Berth) { b.envSettings = s } }

// settingsOf returns env's kept settings (zero when none or no store).
func (b *Berth) settingsOf(ctx context.Context, env string) EnvSettings {
	if b.envSettings == nil {
		return EnvSettings{}
	}
	es, err := b.envSettings.EnvSettings(ctx, env)
	if err != nil {
		b.logfOr("reading the settings of %s: %v", env, err)
	}
	return es
}

func (b *Berth) logfOr(format string, args ...any) {
	if b.logf != nil {
		b.logf(format, args...)
	}
}

type loadAsKey struct{}

// withLoadAs returns ctx asking the loads of its operation for env to run
// with es (a variant, profiles or ports other than those it keeps).
func withLoadAs(ctx context.Context, env string, es EnvSettings) context.Context {
	return context.WithValue(ctx, loadAsKey{}, loadAs{env, es})
}

type loadAs struct {
	env string
	es  EnvSettings
}

// loadSettings are the settings a load of env runs with: those the
// operation asks for, else those env keeps.
func (b *Berth) loadSettings(ctx context.Context, env string) EnvSettings {
	if la, ok := ctx.Value(loadAsKey{}).(loadAs); ok && la.env == env {
		return la.es
	}
	return b.settingsOf(ctx, env)
}

// secretLookup looks a secret up for env, then for def, hiding each value
// found.
func (b *Berth) secretLookup(env, def string) func(string) (string, bool, error) {
	if b.secrets == nil {
		return nil
	}
	return func(name string) (string, bool, error) {
		refs := []secret.Ref{{Scope: secret.ScopeEnvironment, Owner: env, Name: name}, {Scope: secret.ScopeDefinition, Owner: def, Name: name}}
		for _, r := range refs {
			if r.Owner == "" {
				continue
			}
			v, ok, err := b.secrets.Get(r)
			if err != nil {
				return "", false, err
			}
			if ok {
				secret.Hide(v)
				return v, true, nil
			}
		}
		return "", false, nil
	}
}

// SecretRequest names a secret to set or remove: for a definition (every
// environment made from it) or one environment.
type SecretRequest struct {
	// Owner is a definition or an environment name.
	Owner string
	// Environment: Owner is an environment, even where a definition has
	// that name.
	Environment bool
	Name        string
}

// ErrNoSecretStore: Berth has no secret store.
var ErrNoSecretStore = errors.New("no secret store")

// secretRef resolves req: a definition's secret when a definition has
// that name and the request does not say environment, else an
// environment's (which must exist or have been up).
func (b *Berth) secretRef(ctx context.Context, req SecretRequest) (secret.Ref, error) {
	if b.secrets == nil {
		return secret.Ref{}, ErrNoSecretStore
	}
	if err := spec.ValidateName(req.Owner); err != nil {
		return secret.Ref{}, err
	}
	r := secret.Ref{Scope: secret.ScopeEnvironment, Owner: req.Owner, Name: req.Name}
	if !req.Environment {
		if _, ok := b.definitionNamed(ctx, req.Owner); ok {
			r.Scope = secret.ScopeDefinition
		}
	}
	return r, r.Check()
}

// DefinitionFolders is a Definitions that says where one definition's
// folder is without reading every manifest.
type DefinitionFolders interface {
	// Folder is definition's folder, if it exists.
	Folder(definition string) (string, bool)
}

// checkoutDir is the folder of def in the definitions folder (the user's
// checkout), "" when there is none. It is asked on every load at a
// revision, so it reads one folder, not every manifest.
func (b *Berth) checkoutDir(ctx context.Context, def string) string {
	if f, ok := b.defs.(DefinitionFolders); ok {
		dir, _ := f.Folder(def)
		return dir
	}
	if d, ok := b.definitionNamed(ctx, def); ok {
		return d.Dir
	}
	return ""
}

// definitionNamed finds a definition of the definitions folder.
func (b *Berth) definitionNamed(ctx context.Context, name string) (*Definition, bool) {
	defs, err := b.defs.List(ctx)
	if err != nil {
		return nil, false
	}
	for i := range defs {
		if defs[i].Name == name {
			return &defs[i], true
		}
	}
	return nil, false
}

// SecretSet says what a set stored.
type SecretSet struct {
	Ref secret.Ref `json:"ref"`
	// Where the value is kept.
	Where string `json:"where"`
	// Warnings: the definition does not declare it, or the value is too
	// short to be masked in output.
	Warnings []string `json:"warnings,omitempty"`
}

// SetSecret stores a secret's value.
func (b *Berth) SetSecret(ctx context.Context, req SecretRequest, value string) (*SecretSet, error) {
	r, err := b.secretRef(ctx, req)
	if err != nil {
		return nil, err
	}
	if value == "" {
		return nil, fmt.Errorf("secret %s: the value is empty (remove it with berth secret rm instead)", r.Name)
	}
	if err := b.secrets.Set(r, value); err != nil {
		return nil, err
	}
	secret.Hide(value)
	out := &SecretSet{Ref: r, Where: b.secrets.Where()}
	if len(value) < secret.MinHidden {
		out.Warnings = append(out.Warnings, fmt.Sprintf("the value is shorter than %d characters: Berth cannot mask it in output", secret.MinHidden))
	}
	if r.Scope == secret.ScopeDefinition {
		if d, ok := b.definitionNamed(ctx, r.Owner); ok && !slices.ContainsFunc(d.Secrets, func(s SecretStatus) bool { return s.Name == r.Name }) {
			out.Warnings = append(out.Warnings, fmt.Sprintf("definition %q does not declare %s in %s (yet): it is not used until it does", r.Owner, r.Name, spec.ManifestFile))
		}
	}
	return out, nil
}

// RemoveSecret removes a secret; it reports whether one was set.
func (b *Berth) RemoveSecret(ctx context.Context, req SecretRequest) (bool, error) {
	r, err := b.secretRef(ctx, req)
	if err != nil {
		return false, err
	}
	return b.secrets.Delete(r)
}

// SecretStatus is one secret: declared by a definition, stored, or both.
type SecretStatus struct {
	Scope       string `json:"scope"`
	Owner       string `json:"owner"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Declared: the definition's berth.yaml names it (scope definition).
	Declared bool `json:"declared"`
	Required bool `json:"required"`
	Set      bool `json:"set"`
}

// SecretListing is what `berth secret ls` shows: never a value.
type SecretListing struct {
	Where   string         `json:"where"`
	Secrets []SecretStatus `json:"secrets"`
}

// ListSecrets lists the secrets that owner (a definition or environment;
// "" for all) declares or has stored.
func (b *Berth) ListSecrets(ctx context.Context, owner string) (*SecretListing, error) {
	if b.secrets == nil {
		return nil, ErrNoSecretStore
	}
	refs, err := b.secrets.List()
	if err != nil {
		return nil, err
	}
	out := &SecretListing{Where: b.secrets.Where(), Secrets: []SecretStatus{}}
	stored := map[secret.Ref]bool{}
	for _, r := range refs {
		stored[r] = true
	}
	defs, _ := b.defs.List(ctx)
	for _, d := range defs {
		if owner != "" && d.Name != owner {
			continue
		}
		for _, s := range d.Secrets {
			r := secret.Ref{Scope: secret.ScopeDefinition, Owner: d.Name, Name: s.Name}
			s.Set = stored[r]
			out.Secrets = append(out.Secrets, s)
			delete(stored, r)
		}
	}
	for _, r := range refs {
		if !stored[r] || (owner != "" && r.Owner != owner) {
			continue
		}
		out.Secrets = append(out.Secrets, SecretStatus{Scope: r.Scope, Owner: r.Owner, Name: r.Name, Set: true})
	}
	return out, nil
}

// markSecretsSet fills in which of the definitions' declared secrets are
// set for the definition (one look at the store, and none when no
// definition declares one).
func (b *Berth) markSecretsSet(defs []Definition) {
	if b.secrets == nil || !slices.ContainsFunc(defs, func(d Definition) bool { return len(d.Secrets) > 0 }) {
		return
	}
	refs, err := b.secrets.List()
	if err != nil {
		b.logfOr("listing secrets: %v", err)
		return
	}
	for i := range defs {
		for j := range defs[i].Secrets {
			s := &defs[i].Secrets[j]
			s.Set = slices.Contains(refs, secret.Ref{Scope: secret.ScopeDefinition, Owner: defs[i].Name, Name: s.Name})
		}
	}
}
