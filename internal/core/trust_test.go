package core

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/spec"
)

// fakeTrust keeps trust decisions in memory, as the store does.
type fakeTrust struct {
	mu  sync.Mutex
	all []TrustDecision
}

func (f *fakeTrust) TrustRecords(_ context.Context, repo, def string) ([]TrustDecision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []TrustDecision
	for i := len(f.all) - 1; i >= 0; i-- {
		d := f.all[i]
		if d.Repo != repo || d.Definition != def {
			continue
		}
		out = append(out, d)
		if d.Decision == TrustRevoked {
			break
		}
	}
	return out, nil
}

func (f *fakeTrust) RecordTrust(_ context.Context, d TrustDecision) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	d.ID = int64(len(f.all) + 1)
	d.DecidedAt = time.Now()
	f.all = append(f.all, d)
	return nil
}

func (f *fakeTrust) grants() []TrustDecision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]TrustDecision{}, f.all...)
}

// identifiedRevs is fakeRevs naming its repo.
type identifiedRevs struct{ *fakeRevs }

func (identifiedRevs) Identity(context.Context) string { return "path:/repo" }

const trustCompose = `services:
  app:
    image: berth-test/probe:latest
    ports: ["8080:80"]
    environment:
      WHO: ${WHO:-nobody}
      TOKEN: ${BERTH_REPO_TOKEN:-none}
      GH: ${GH_TOKEN:-none}
`

func trustFixture(t *testing.T) (*Berth, *healthEngine, *fakeTrust, *[]string) {
	b, e, _, _ := deployFixture(t)
	revs := b.revs.(*fakeRevs)
	revs.revs["plain"] = trustCompose
	revs.revs["same"] = trustCompose + "    labels: {x: y}\n"
	revs.revs["more"] = strings.Replace(trustCompose, "    ports:", "    privileged: true\n    ports:", 1)
	b.revs = identifiedRevs{revs}
	tr := &fakeTrust{}
	var refuse []string
	b.trust = TrustSettings{
		Store: tr,
		Getenv: func(k string) (string, bool) {
			v, ok := map[string]string{"WHO": "ada", "BERTH_REPO_TOKEN": "secret-token", "GH_TOKEN": "gh-secret"}[k]
			return v, ok
		},
		Reserved: func() []string { return []string{"GH_TOKEN"} },
		Refuse:   func() []string { return refuse },
		Forbid:   b.trust.Forbid,
	}
	return b, e, tr, &refuse
}

// asker answers trust questions and counts them.
type asker struct {
	mu      sync.Mutex
	answer  bool
	reviews []*TrustReview
}

func (a *asker) ask(_ context.Context, r *TrustReview) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reviews = append(a.reviews, r)
	return a.answer
}

func TestTrustFirstUseAndRevisions(t *testing.T) {
	b, e, tr, refuse := trustFixture(t)
	ctx := context.Background()

	// No one to ask: refused, nothing applied, nothing recorded.
	_, err := b.Deploy(ctx, DeployRequest{Env: "web", Rev: "plain"}, yes, nil)
	var ue *UntrustedError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUntrusted) {
		t.Fatalf("first deploy without an asker: %v", err)
	}
	for _, want := range []string{"not trusted yet", "publishes port 80/tcp of app", "reads $WHO", "asks for $BERTH_REPO_TOKEN, which Berth never gives", "berth trust web"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q:\n%s", want, err)
		}
	}
	if len(e.applied) != 0 || len(tr.grants()) != 0 {
		t.Fatal("an untrusted definition changed something")
	}

	// Asked, the user says no: the same.
	no := &asker{}
	if _, err := b.Deploy(AskTrust(ctx, no.ask, "prompt"), DeployRequest{Env: "web", Rev: "plain"}, yes, nil); !errors.Is(err, ErrUntrusted) || len(no.reviews) != 1 {
		t.Fatalf("declined: %v (%d asks)", err, len(no.reviews))
	}

	// Granted: deployed, and the grant recorded with how and the list.
	ok := &asker{answer: true}
	if _, err := b.Deploy(AskTrust(ctx, ok.ask, "prompt"), DeployRequest{Env: "web", Rev: "plain"}, yes, nil); err != nil {
		t.Fatal(err)
	}
	g := tr.grants()
	if len(g) != 1 || g[0].Repo != "path:/repo" || g[0].Definition != "web" || g[0].How != "prompt" || g[0].Digest != ok.reviews[0].Digest || len(g[0].Capabilities) == 0 {
		t.Fatalf("grants %+v", g)
	}
	// Interpolation read the granted variable, never Berth's own nor the
	// reserved one.
	env := e.lastApplied(t).Service("app").Environment
	if env["WHO"] != "ada" || env["TOKEN"] != "none" || env["GH"] != "none" {
		t.Errorf("container environment %v", env)
	}

	// Another revision asking for the same: not asked again.
	if _, err := b.Deploy(AskTrust(ctx, ok.ask, "prompt"), DeployRequest{Env: "web", Rev: "same"}, yes, nil); err != nil || len(ok.reviews) != 1 {
		t.Fatalf("same capabilities: %v (%d asks)", err, len(ok.reviews))
	}

	// A revision adding a capability: asked again, with what is new.
	no2 := &asker{}
	_, err = b.Deploy(AskTrust(ctx, no2.ask, "prompt"), DeployRequest{Env: "web", Rev: "more"}, yes, nil)
	if !errors.Is(err, ErrUntrusted) || len(no2.reviews) != 1 {
		t.Fatalf("more: %v", err)
	}
	r := no2.reviews[0]
	if len(r.New) != 1 || r.New[0].Kind != spec.CapPrivileged || !strings.Contains(strings.Join(r.Lines(), "\n"), "new: runs app privileged") {
		t.Errorf("the review of the new revision: new %v, lines %v", r.New, r.Lines())
	}
	if !strings.Contains(err.Error(), "asks for more than was granted (1 new)") {
		t.Errorf("error: %v", err)
	}

	// The settings refuse privileged: refused, even with a yes.
	*refuse = []string{spec.CapPrivileged}
	_, err = b.Deploy(AskTrust(ctx, ok.ask, "prompt"), DeployRequest{Env: "web", Rev: "more"}, yes, nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "refuse: privileged") || len(ok.reviews) != 1 {
		t.Fatalf("refused by policy: %v", err)
	}
	*refuse = nil

	// Revoked: asked again, even for what was granted.
	if err := b.RevokeTrust(ctx, TrustRequest{Definition: "web", Rev: "plain"}); err != nil {
		t.Fatal(err)
	}
	_, err = b.Deploy(ctx, DeployRequest{Env: "web", Rev: "plain"}, yes, nil)
	if !errors.As(err, &ue) || !ue.Review.Revoked || !strings.Contains(err.Error(), "trust was revoked") {
		t.Fatalf("after a revoke: %v", err)
	}
}

func TestTrustReviewAndGrant(t *testing.T) {
	b, _, tr, _ := trustFixture(t)
	ctx := context.Background()
	r, err := b.ReviewTrust(ctx, TrustRequest{Definition: "web", Rev: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Trusted || r.Granted != nil || r.Digest == "" || len(r.Capabilities) != 4 {
		t.Fatalf("review %+v", r)
	}
	// A grant of a list other than the one shown is refused.
	if _, err := b.Trust(ctx, TrustRequest{Definition: "web", Rev: "plain", Digest: "stale"}); err == nil || !strings.Contains(err.Error(), "changed since it was reviewed") {
		t.Fatalf("stale digest: %v", err)
	}
	got, err := b.Trust(ctx, TrustRequest{Definition: "web", Rev: "plain", Digest: r.Digest, How: "app"})
	if err != nil || !got.Trusted || got.Granted == nil || got.Granted.How != "app" {
		t.Fatalf("trust: %+v %v", got, err)
	}
	if n := len(tr.grants()); n != 1 {
		t.Fatalf("%d records", n)
	}
	// Trusting again records nothing more.
	if _, err := b.Trust(ctx, TrustRequest{Definition: "web", Rev: "plain"}); err != nil || len(tr.grants()) != 1 {
		t.Fatalf("again: %v, %d records", err, len(tr.grants()))
	}
	// A definition that asks for nothing is trusted without a grant.
	b.defs = fakeDefs{"bare": {Services: []spec.Service{{Name: "a", Image: "x", Replicas: 1}}}}
	if r, err := b.ReviewTrust(ctx, TrustRequest{Definition: "bare"}); err != nil || !r.Trusted {
		t.Fatalf("bare: %+v %v", r, err)
	}
}

// lastApplied is the project of the newest apply.
func (e *healthEngine) lastApplied(t *testing.T) *spec.Project {
	t.Helper()
	if len(e.projects) == 0 {
		t.Fatal("nothing applied")
	}
	return e.projects[len(e.projects)-1]
}
