package core

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/berthdev/berth/internal/spec"
)

// A definitions repo is other people's code, and Berth runs it with the
// engine's socket. Before a definition's first plan, up, deploy or clone
// the user sees what it can do on this machine (its capabilities) and
// grants it; the grant is recorded per repo, definition and digest of the
// capability list, and a revision whose list differs asks again. A load
// reads from the user's environment only the variables, and outside the
// definition's folder only the files, that a grant names.

// Errors callers tell apart (errors.Is).
var (
	// ErrUntrusted: the definition's capabilities are not trusted (yet):
	// an *UntrustedError carries what it asks for.
	ErrUntrusted = errors.New("not trusted")
	// ErrRefused: the settings refuse a capability the definition asks for.
	ErrRefused = errors.New("refused by the settings")
)

// Trust decisions, as recorded.
const (
	TrustGranted = "granted"
	TrustRevoked = "revoked"
)

// TrustDecision is one recorded decision of the user about a definition
// of a repo.
type TrustDecision struct {
	ID         int64  `json:"id"`
	Repo       string `json:"repo"`
	Definition string `json:"definition"`
	Decision   string `json:"decision"`
	Digest     string `json:"digest,omitempty"`
	// Capabilities is the list granted.
	Capabilities []spec.Capability `json:"capabilities,omitempty"`
	How          string            `json:"how,omitempty"`
	// Who decided (Git identity or OS user and host), as the store says.
	Who       string    `json:"who,omitempty"`
	DecidedAt time.Time `json:"decidedAt"`
}

// TrustStore keeps the user's trust decisions.
type TrustStore interface {
	// TrustRecords returns the decisions about a definition that still
	// count, newest first: the grants since the latest revoke, and that
	// revoke.
	TrustRecords(ctx context.Context, repo, definition string) ([]TrustDecision, error)
	// RecordTrust adds a decision; the store fills in who.
	RecordTrust(ctx context.Context, d TrustDecision) error
}

// TrustSettings are what the composition root says about trust: the
// store, how to read the user's environment, the variables no definition
// may read, the capabilities the settings refuse, and the folders no
// definition may touch.
type TrustSettings struct {
	Store TrustStore
	// Getenv reads one variable of the user's environment (os.LookupEnv).
	Getenv func(string) (string, bool)
	// Reserved names variables no definition may read besides BERTH_* and
	// COMPOSE_* (the one holding the repo token).
	Reserved func() []string
	// Refuse names capability kinds (or "outside") the settings refuse.
	Refuse func() []string
	// Forbid are folders no definition may read or mount (Berth's data).
	Forbid []string
	// DigestKey keys the digests of secrets' contents in configuration
	// hashes (spec.LoadOptions.DigestKey).
	DigestKey []byte
}

// WithTrust gives core the trust decisions and what loads may read.
// Without it nothing is asked and nothing of the user's environment is
// read.
func WithTrust(t TrustSettings) Option { return func(b *Berth) { b.trust = t } }

// Identified is what a definitions source says of the repo it reads, for
// trust decisions: "path:<repo root>", "url:<URL without credentials>",
// "dir:<folder>".
type Identified interface {
	Identity(ctx context.Context) string
}

// TrustReview is what a definition can do on this machine and whether
// the user trusts it.
type TrustReview struct {
	Repo       string `json:"repo"`
	Definition string `json:"definition"`
	// Revision is the commit it was read at; empty for the definitions
	// folder.
	Revision     string            `json:"revision,omitempty"`
	Capabilities []spec.Capability `json:"capabilities"`
	Digest       string            `json:"digest"`
	// Trusted: the user granted this list (or it is empty).
	Trusted bool `json:"trusted"`
	// Granted is the newest grant still in force, nil when none.
	Granted *TrustDecision `json:"granted,omitempty"`
	// Revoked: the latest decision was a revoke.
	Revoked bool `json:"revoked,omitempty"`
	// New and Gone compare the list with the newest grant's.
	New  []spec.Capability `json:"new,omitempty"`
	Gone []spec.Capability `json:"gone,omitempty"`
	// Refused are the capabilities the settings refuse: no grant runs
	// them.
	Refused []spec.Capability `json:"refused,omitempty"`
	// Blocked are files outside the definition's folder it needs and may
	// not read before a grant.
	Blocked []string `json:"blocked,omitempty"`
}

// Lines renders the review as plan lines: every capability, marked new
// when the newest grant did not have it, and what is gone.
func (r *TrustReview) Lines() []string {
	var out []string
	isNew := map[string]bool{}
	for _, c := range r.New {
		isNew[c.Key()] = true
	}
	for _, c := range r.Capabilities {
		switch {
		case slices.ContainsFunc(r.Refused, func(x spec.Capability) bool { return x.Key() == c.Key() }):
			out = append(out, "refused: "+c.String())
		case r.Granted != nil && isNew[c.Key()]:
			out = append(out, "new: "+c.String())
		default:
			out = append(out, c.String())
		}
	}
	for _, c := range r.Gone {
		out = append(out, "gone: "+c.Text)
	}
	return out
}

// UntrustedError is an action refused because the definition's
// capabilities are not trusted; it Is ErrUntrusted.
type UntrustedError struct{ Review *TrustReview }

func (e *UntrustedError) Error() string {
	r := e.Review
	what := fmt.Sprintf("definition %q", r.Definition)
	if r.Revision != "" {
		what += " at " + shortRev(r.Revision)
	}
	var b strings.Builder
	switch {
	case r.Revoked:
		fmt.Fprintf(&b, "%s: trust was revoked; it can do %d things on this machine", what, len(r.Capabilities))
	case r.Granted != nil:
		fmt.Fprintf(&b, "%s asks for more than was granted (%d new)", what, len(r.New))
	default:
		fmt.Fprintf(&b, "%s is not trusted yet; it can do %d things on this machine", what, len(r.Capabilities))
	}
	b.WriteString(":")
	for _, l := range r.Lines() {
		b.WriteString("\n  " + l)
	}
	fmt.Fprintf(&b, "\nreview and grant it with `berth trust %s`, or pass --trust", r.Definition)
	return b.String()
}

func (e *UntrustedError) Is(target error) bool { return target == ErrUntrusted }

// RefusedError is a definition the settings refuse; it Is ErrRefused.
type RefusedError struct{ Review *TrustReview }

func (e *RefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "definition %q asks for what the settings refuse (refuse: %s):", e.Review.Definition, strings.Join(refusedKinds(e.Review.Refused), ", "))
	for _, c := range e.Review.Refused {
		b.WriteString("\n  " + c.String())
	}
	return b.String()
}

func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func refusedKinds(cs []spec.Capability) []string {
	var out []string
	for _, c := range cs {
		if !slices.Contains(out, c.Kind) {
			out = append(out, c.Kind)
		}
	}
	return out
}

// TrustAsk asks the user whether to grant what a review shows; it
// returns true to grant.
type TrustAsk func(ctx context.Context, r *TrustReview) bool

type trustAskKey struct{}

type trustAsker struct {
	ask TrustAsk
	how string
}

// AskTrust returns ctx carrying how to ask the user for trust during the
// operations run with it: the CLI asks on the terminal ("prompt") or
// grants what --trust allows ("--trust"). Without one, an untrusted
// definition fails with an *UntrustedError, which the apps show in their
// review dialog.
func AskTrust(ctx context.Context, ask TrustAsk, how string) context.Context {
	return context.WithValue(ctx, trustAskKey{}, trustAsker{ask, how})
}

// loaded is a definition loaded for an environment with what the user
// granted: the project, the repo it came from and the variables of the
// user's environment it may read (a database URL among them).
type loaded struct {
	p       *spec.Project
	repo    string
	hostEnv map[string]string
}

// grants are what the decisions in force let a definition read.
type grants struct {
	env   []string
	paths []string
	// digests are the granted capability lists' digests.
	digests map[string]bool
	newest  *TrustDecision
	revoked bool
	repo    string
}

func (b *Berth) grants(ctx context.Context, repo, def string) (grants, error) {
	g := grants{digests: map[string]bool{}}
	if b.trust.Store == nil {
		return g, nil
	}
	recs, err := b.trust.Store.TrustRecords(ctx, repo, def)
	if err != nil {
		return g, err
	}
	for i, r := range recs {
		if r.Decision == TrustRevoked {
			g.revoked = i == 0
			break
		}
		if g.newest == nil {
			g.newest = &recs[i]
		}
		g.digests[r.Digest] = true
		g.env = append(g.env, spec.EnvVars(r.Capabilities)...)
		g.paths = append(g.paths, spec.Paths(r.Capabilities)...)
	}
	return g, nil
}

// reserved are the variables no definition may read, beyond spec's own.
func (b *Berth) reserved() []string {
	if b.trust.Reserved == nil {
		return nil
	}
	return b.trust.Reserved()
}

// hostEnv reads the granted variables from the user's environment.
func (b *Berth) hostEnv(names []string) map[string]string {
	env := map[string]string{}
	if b.trust.Getenv == nil {
		return env
	}
	reserved := b.reserved()
	for _, n := range names {
		if slices.Contains(reserved, n) {
			continue
		}
		if v, ok := b.trust.Getenv(n); ok {
			env[n] = v
		}
	}
	return env
}

// identity is the repo identity of the definitions folder (at == nil) or
// of the definitions repo.
func (b *Berth) identity(ctx context.Context, at *Revision) string {
	var src any = b.defs
	if at != nil {
		src = b.revs
	}
	if id, ok := src.(Identified); ok {
		return id.Identity(ctx)
	}
	return ""
}

// loadOptions are the options a load of def as env runs with: the
// variables and outside files the grants in force name, never Berth's
// data folder.
func (b *Berth) loadOptions(ctx context.Context, env, def string, at *Revision) (spec.LoadOptions, grants, error) {
	repo := b.identity(ctx, at)
	g, err := b.grants(ctx, repo, def)
	if err != nil {
		return spec.LoadOptions{}, g, err
	}
	g.repo = repo
	es := b.loadSettings(ctx, env)
	_, optional := ctx.Value(secretsOptionalKey{}).(bool)
	return spec.LoadOptions{SecretsOptional: optional, Name: env, HostEnv: b.hostEnv(g.env), Reserved: b.reserved(), Granted: g.paths, Forbid: b.trust.Forbid,
		DigestKey: b.trust.DigestKey, Variant: es.Variant, Profiles: es.Profiles, PortMap: es.Ports, Secret: b.secretLookup(env, def)}, g, nil
}

// load loads def as env from the definitions folder (at == nil) or
// materialised at a revision, with what the user granted (loadOptions).
func (b *Berth) load(ctx context.Context, env, def string, at *Revision) (*loaded, grants, error) {
	opts, g, err := b.loadOptions(ctx, env, def, at)
	if err != nil {
		return nil, g, err
	}
	l := &loaded{repo: g.repo, hostEnv: opts.HostEnv}
	if at == nil {
		p, err := b.defs.Load(ctx, def, opts)
		if err != nil {
			return nil, g, err
		}
		l.p = p
		return l, g, nil
	}
	dir, err := b.revs.Materialise(ctx, *at, def)
	if err != nil {
		return nil, g, fmt.Errorf("definition %q at %s: %w", def, at.Short, err)
	}
	opts.Revision = at.Hash
	opts.LocalDir = b.checkoutDir(ctx, def) // local files the revision lacks come from there
	p, err := spec.LoadDefinition(ctx, dir, opts)
	if err != nil {
		var ms *spec.MissingSecretsError
		if errors.As(err, &ms) {
			ms.Definition = def // the workspace's folder is named by its tree
		}
		return nil, g, fmt.Errorf("definition %q at %s: %w", def, at.Short, err)
	}
	p.Definition = def
	l.p = p
	return l, g, nil
}

// loadGranted is load for reading what runs (drift, status): no trust is
// asked, but a load that needed a file it was not granted is refused,
// since what it describes is incomplete.
func (b *Berth) loadGranted(ctx context.Context, env, def string, at *Revision) (*spec.Project, error) {
	l, g, err := b.load(ctx, env, def, at)
	if err != nil {
		return nil, err
	}
	if len(l.p.Blocked) > 0 {
		return nil, &UntrustedError{Review: b.review(l, def, g)}
	}
	return l.p, nil
}

// untrusted is the error for p, loaded as def, needing more than granted.
func (b *Berth) untrusted(ctx context.Context, p *spec.Project, def string, at *Revision) error {
	repo := b.identity(ctx, at)
	g, err := b.grants(ctx, repo, def)
	if err != nil {
		return err
	}
	return &UntrustedError{Review: b.review(&loaded{p: p, repo: repo}, def, g)}
}

// review compares what p can do with the grants in force and the
// settings.
func (b *Berth) review(l *loaded, def string, g grants) *TrustReview {
	p := l.p
	caps := p.Capabilities
	if caps == nil {
		caps = []spec.Capability{}
	}
	r := &TrustReview{Repo: l.repo, Definition: def, Revision: p.Revision, Capabilities: caps,
		Digest: spec.CapabilityDigest(caps), Granted: g.newest, Revoked: g.revoked, Blocked: p.Blocked}
	r.Trusted = (len(caps) == 0 || g.digests[r.Digest]) && len(p.Blocked) == 0
	if g.newest != nil {
		had := map[string]bool{}
		for _, c := range g.newest.Capabilities {
			had[c.Key()] = true
		}
		now := map[string]bool{}
		for _, c := range caps {
			now[c.Key()] = true
			if !had[c.Key()] {
				r.New = append(r.New, c)
			}
		}
		for _, c := range g.newest.Capabilities {
			if !now[c.Key()] {
				r.Gone = append(r.Gone, c)
			}
		}
	}
	var refuse []string
	if b.trust.Refuse != nil {
		refuse = b.trust.Refuse()
	}
	for _, c := range caps {
		for _, name := range refuse {
			if c.Matches(name) {
				r.Refused = append(r.Refused, c)
				break
			}
		}
	}
	return r
}

// loadTrusted is load for an action: the definition's capabilities must
// be trusted, or granted now through ctx's asker; the settings' refusals
// hold whatever is granted. A grant reloads (it may let the load read
// more, which may show more to grant); at most a few rounds.
func (b *Berth) loadTrusted(ctx context.Context, env, def string, at *Revision) (*loaded, error) {
	asker, _ := ctx.Value(trustAskKey{}).(trustAsker)
	asked := map[string]bool{}
	for round := 0; ; round++ {
		l, g, err := b.load(ctx, env, def, at)
		if err != nil {
			return nil, err
		}
		r := b.review(l, def, g)
		if len(r.Refused) > 0 {
			return nil, &RefusedError{Review: r}
		}
		if r.Trusted {
			return l, nil
		}
		if b.trust.Store == nil {
			// Nothing records trust (a bare core): nothing is asked, and
			// nothing outside the folder was read.
			if len(r.Blocked) > 0 {
				return nil, &UntrustedError{Review: r}
			}
			return l, nil
		}
		if asker.ask == nil || asked[r.Digest] || round >= 4 || !asker.ask(ctx, r) {
			return nil, &UntrustedError{Review: r}
		}
		asked[r.Digest] = true
		if err := b.grant(ctx, r, asker.how); err != nil {
			return nil, err
		}
	}
}

func (b *Berth) grant(ctx context.Context, r *TrustReview, how string) error {
	return b.trust.Store.RecordTrust(ctx, TrustDecision{Repo: r.Repo, Definition: r.Definition, Decision: TrustGranted,
		Digest: r.Digest, Capabilities: r.Capabilities, How: how})
}

// TrustRequest names a definition to review: from the definitions folder,
// or at a revision of the definitions repo (Rev).
type TrustRequest struct {
	Definition string `json:"definition"`
	Rev        string `json:"rev,omitempty"`
	// Digest, for Trust, is the digest of the list the user saw: the
	// grant is refused when the definition now asks for something else.
	Digest string `json:"digest,omitempty"`
	// How is recorded with the grant ("app", "berth trust").
	How string `json:"how,omitempty"`
}

// ReviewTrust says what a definition can do on this machine and whether
// the user trusts it, without asking or changing anything.
func (b *Berth) ReviewTrust(ctx context.Context, req TrustRequest) (*TrustReview, error) {
	at, err := b.trustRevision(ctx, req)
	if err != nil {
		return nil, err
	}
	l, g, err := b.load(withSecretsOptional(ctx), req.Definition, req.Definition, at)
	if err != nil {
		return nil, err
	}
	return b.review(l, req.Definition, g), nil
}

// Trust grants what a definition can do, as ReviewTrust shows it; with
// req.Digest, only when that is still what it asks for. A grant that lets
// the load read more (outside files, variables) may show more: the review
// returned says whether the definition is now trusted.
func (b *Berth) Trust(ctx context.Context, req TrustRequest) (*TrustReview, error) {
	if b.trust.Store == nil {
		return nil, errors.New("no store: trust cannot be recorded")
	}
	r, err := b.ReviewTrust(ctx, req)
	if err != nil {
		return nil, err
	}
	if req.Digest != "" && req.Digest != r.Digest {
		return r, fmt.Errorf("definition %q changed since it was reviewed (it now asks for something else): review it again", req.Definition)
	}
	if len(r.Refused) > 0 {
		return r, &RefusedError{Review: r}
	}
	if !r.Trusted {
		if err := b.grant(ctx, r, cmp.Or(req.How, "berth trust")); err != nil {
			return nil, err
		}
	}
	return b.ReviewTrust(ctx, TrustRequest{Definition: req.Definition, Rev: req.Rev})
}

// RevokeTrust revokes every grant of a definition: its next action asks
// again.
func (b *Berth) RevokeTrust(ctx context.Context, req TrustRequest) error {
	if b.trust.Store == nil {
		return errors.New("no store: trust cannot be recorded")
	}
	at, err := b.trustRevision(ctx, req)
	if err != nil {
		return err
	}
	return b.trust.Store.RecordTrust(ctx, TrustDecision{Repo: b.identity(ctx, at), Definition: req.Definition,
		Decision: TrustRevoked, How: cmp.Or(req.How, "berth trust")})
}

func (b *Berth) trustRevision(ctx context.Context, req TrustRequest) (*Revision, error) {
	if req.Definition == "" {
		return nil, errors.New("no definition named")
	}
	if err := spec.ValidateName(req.Definition); err != nil {
		return nil, fmt.Errorf("definition name: %w", err)
	}
	if req.Rev == "" {
		return nil, nil
	}
	if err := b.needRepo(); err != nil {
		return nil, err
	}
	rev, err := b.revs.Resolve(ctx, req.Rev)
	if err != nil {
		return nil, err
	}
	return &rev, nil
}

// DecodeCapabilities reads a capability list recorded as JSON (for the
// store adapter).
func DecodeCapabilities(raw []byte) []spec.Capability {
	var caps []spec.Capability
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &caps)
	}
	return caps
}

type secretsOptionalKey struct{}

// withSecretsOptional is ctx for a load that only reviews what a
// definition can do: it goes on while required secrets are not set.
func withSecretsOptional(ctx context.Context) context.Context {
	return context.WithValue(ctx, secretsOptionalKey{}, true)
}
