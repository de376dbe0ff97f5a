package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/spec"
)

// trustCore reviews and grants one definition, and refuses Up until it
// is trusted.
type trustCore struct {
	fakeCore
	trusted bool
	granted []core.TrustRequest
}

func (f *trustCore) review() *core.TrustReview {
	return &core.TrustReview{Repo: "path:/r", Definition: "shop", Digest: "d1", Trusted: f.trusted,
		Capabilities: []spec.Capability{{Kind: spec.CapDockerSocket, Subject: "/var/run/docker.sock (read-only)", Text: "mounts the Docker engine's socket"}}}
}

func (f *trustCore) ReviewTrust(ctx context.Context, req core.TrustRequest) (*core.TrustReview, error) {
	return f.review(), nil
}

func (f *trustCore) Trust(ctx context.Context, req core.TrustRequest) (*core.TrustReview, error) {
	f.granted = append(f.granted, req)
	f.trusted = true
	return f.review(), nil
}

func (f *trustCore) Up(ctx context.Context, req core.UpRequest, emit core.Emit) (*core.Result, error) {
	if !f.trusted {
		return nil, &core.UntrustedError{Review: f.review()}
	}
	return &core.Result{Env: req.Env}, nil
}

func TestTrustEndpoints(t *testing.T) {
	f := &trustCore{}
	h := newHandler(t.Context(), f, handlerConfig{token: testToken, assets: testAssets, hosts: []string{testHost}})

	// An action on an untrusted definition: 403 with the review.
	w := do(h, "POST", "/api/environments/shop/up", strings.NewReader(`{"definition":"shop"}`), bearer)
	var refused struct {
		Error string            `json:"error"`
		Trust *core.TrustReview `json:"trust"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &refused); err != nil || w.Code != http.StatusForbidden || refused.Trust == nil || refused.Trust.Digest != "d1" || !strings.Contains(refused.Error, "not trusted") {
		t.Fatalf("untrusted up: %d %s", w.Code, w.Body.String())
	}

	w = do(h, "GET", "/api/definitions/shop/trust", nil, bearer)
	var r core.TrustReview
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != http.StatusOK || r.Trusted || len(r.Capabilities) != 1 {
		t.Fatalf("review: %d %s", w.Code, w.Body.String())
	}
	// A grant needs the digest the user saw.
	if w := do(h, "POST", "/api/definitions/shop/trust", strings.NewReader(`{}`), bearer); w.Code == http.StatusOK || len(f.granted) != 0 {
		t.Fatalf("a grant without a digest: %d", w.Code)
	}
	w = do(h, "POST", "/api/definitions/shop/trust", strings.NewReader(`{"digest":"d1","rev":"abc"}`), bearer)
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != http.StatusOK || !r.Trusted {
		t.Fatalf("grant: %d %s", w.Code, w.Body.String())
	}
	if len(f.granted) != 1 || f.granted[0] != (core.TrustRequest{Definition: "shop", Rev: "abc", Digest: "d1", How: "app"}) {
		t.Errorf("granted %+v", f.granted)
	}
	if w := do(h, "POST", "/api/environments/shop/up", strings.NewReader(`{"definition":"shop"}`), bearer); w.Code != http.StatusOK {
		t.Fatalf("trusted up: %d %s", w.Code, w.Body.String())
	}
	// Without the token, nothing.
	if w := do(h, "POST", "/api/definitions/shop/trust", strings.NewReader(`{"digest":"d1"}`), nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("a grant without the token: %d", w.Code)
	}
}
