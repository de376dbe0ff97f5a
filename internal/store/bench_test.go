package store

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

var benchPlan = json.RawMessage(`{"ops":[{"kind":"recreate","resource":"container shop-web-1","cause":"configuration changed"},{"kind":"start","resource":"container shop-web-1","cause":"container created"}]}`)

// BenchmarkBeginFinish records one operation from start to end.
func BenchmarkBeginFinish(b *testing.B) {
	ctx := context.Background()
	s, _ := openTemp(b)
	digests := map[string]string{"web": "sha256:0123456789abcdef", "db": "sha256:fedcba9876543210"}
	for b.Loop() {
		id, err := s.Begin(ctx, Deployment{Kind: KindDeploy, Env: "shop", Revision: "0123456789abcdef0123456789abcdef01234567", Plan: benchPlan})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Finish(ctx, id, Outcome{Status: StatusSucceeded, ImageDigests: digests}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHistory100 reads the newest 100 of 2,000 records of an
// environment (among 4,000 in all).
func BenchmarkHistory100(b *testing.B) {
	ctx := context.Background()
	s, _ := openTemp(b)
	tx, err := s.db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := range 4000 {
		env := []string{"shop", "blog"}[i%2]
		if _, err := tx.Exec(`INSERT INTO deployments (kind, env, revision, plan, started_at, finished_at, duration_ms, status, image_digests, heartbeat_at)
			VALUES ('deploy', ?, ?, ?, ?, ?, 1500, 'succeeded', '{"web":"sha256:abc"}', ?)`,
			env, fmt.Sprint("rev", i), string(benchPlan), int64(i)*1000, int64(i)*1000+1500, int64(i)*1000); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		got, err := s.History(ctx, "shop", Filter{Limit: 100})
		if err != nil || len(got) != 100 {
			b.Fatal(len(got), err)
		}
	}
}
