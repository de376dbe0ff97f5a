package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestTrustRecords: grants accumulate; a revoke ends every grant before
// it; grants after a revoke count again; the latest decision of each
// definition is listed; bad records are refused.
func TestTrustRecords(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	caps := json.RawMessage(`[{"kind":"env-var","subject":"X"}]`)
	grant := func(repo, def, digest string) {
		t.Helper()
		if _, err := s.RecordTrust(ctx, TrustRecord{Repo: repo, Definition: def, Decision: TrustGranted, Digest: digest, Capabilities: caps, How: "prompt", Who: Who{GitName: "Ada"}}); err != nil {
			t.Fatal(err)
		}
	}
	grant("path:/r", "shop", "d1")
	grant("path:/r", "shop", "d2")
	grant("path:/r", "blog", "b1")
	grant("url:example/x", "shop", "x1")
	got, err := s.TrustRecords(ctx, "path:/r", "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Digest != "d2" || got[1].Digest != "d1" || got[0].How != "prompt" || got[0].Who.GitName != "Ada" || got[0].Who.OSUser == "" || string(got[0].Capabilities) != string(caps) {
		t.Fatalf("records %+v", got)
	}
	if _, err := s.RecordTrust(ctx, TrustRecord{Repo: "path:/r", Definition: "shop", Decision: TrustRevoked, How: "berth trust"}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.TrustRecords(ctx, "path:/r", "shop")
	if len(got) != 1 || got[0].Decision != TrustRevoked {
		t.Fatalf("after a revoke: %+v", got)
	}
	grant("path:/r", "shop", "d3")
	got, _ = s.TrustRecords(ctx, "path:/r", "shop")
	if len(got) != 2 || got[0].Digest != "d3" || got[1].Decision != TrustRevoked {
		t.Fatalf("a grant after a revoke: %+v", got)
	}
	if other, _ := s.TrustRecords(ctx, "path:/r", "blog"); len(other) != 1 || other[0].Digest != "b1" {
		t.Errorf("another definition was touched: %+v", other)
	}
	latest, err := s.TrustDecisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range latest {
		keys = append(keys, r.Repo+" "+r.Definition+" "+r.Decision+" "+r.Digest)
	}
	want := []string{"path:/r blog granted b1", "path:/r shop granted d3", "url:example/x shop granted x1"}
	if len(keys) != len(want) {
		t.Fatalf("latest %v", keys)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Errorf("latest[%d] = %s, want %s", i, keys[i], want[i])
		}
	}
	for _, bad := range []TrustRecord{
		{Definition: "shop", Decision: TrustGranted, Digest: "d"},
		{Repo: "r", Decision: TrustGranted, Digest: "d"},
		{Repo: "r", Definition: "shop", Decision: TrustGranted},
		{Repo: "r", Definition: "shop", Decision: "maybe"},
	} {
		if _, err := s.RecordTrust(ctx, bad); err == nil {
			t.Errorf("recorded %+v", bad)
		}
	}
}
