package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestGoldenUses: a golden copy's first use stays, its last use moves
// forward only, and a forgotten one is gone; a file made by the first
// schema gains the table on open with its deployments intact.
func TestGoldenUses(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	clock := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }
	if err := s.UseGolden(ctx, "g1", "seed a.sql", "shop", "db"); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(48 * time.Hour)
	if err := s.UseGolden(ctx, "g2", "seed b.sql", "blog", "db"); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Hour)
	if err := s.UseGolden(ctx, "g1", "seed a.sql (renamed)", "", ""); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(-30 * time.Hour) // a clock that went back
	if err := s.UseGolden(ctx, "g1", "seed a.sql (renamed)", "", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.UseGolden(ctx, "", "x", "", ""); err == nil {
		t.Error("a use without a volume was recorded")
	}
	got, err := s.GoldenUses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Volume != "g2" || got[1].Volume != "g1" {
		t.Fatalf("uses %+v, want g2 then g1", got)
	}
	g1 := got[1]
	if !g1.FirstUsed.Equal(time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)) || !g1.LastUsed.Equal(time.Date(2026, 11, 3, 11, 0, 0, 0, time.UTC)) || g1.Source != "seed a.sql (renamed)" {
		t.Errorf("g1 %+v", g1)
	}
	if len(g1.Clones) != 1 || g1.Clones[0] != (GoldenClone{"shop", "db"}) || len(got[0].Clones) != 1 || got[0].Clones[0] != (GoldenClone{"blog", "db"}) {
		t.Errorf("clones: g1 %v, g2 %v", g1.Clones, got[0].Clones)
	}
	// blog's database is cloned from g1 now: g2 is no longer its source.
	if err := s.UseGolden(ctx, "g1", "seed a.sql (renamed)", "blog", "db"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GoldenUses(ctx); len(got[0].Clones) != 0 || fmt.Sprint(got[1].Clones) != "[{blog db} {shop db}]" {
		t.Errorf("after blog moved to g1: %+v", got)
	}
	if err := s.ForgetGolden(ctx, "g2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GoldenUses(ctx); len(got) != 1 || got[0].Volume != "g1" {
		t.Errorf("after forgetting g2: %+v", got)
	}
}

func TestUpgradeFromFirstSchema(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	id, err := s.Begin(ctx, Deployment{Kind: KindUp, Env: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	// Back to the first schema, as a file written by an older Berth.
	for _, q := range []string{"DROP TABLE golden_copies", "DROP TABLE golden_clones", "DROP TABLE trust", "DROP TABLE env_settings", "ALTER TABLE deployments DROP COLUMN detail", "ALTER TABLE deployments DROP COLUMN variant", "DROP INDEX deployments_engine_env", "ALTER TABLE deployments DROP COLUMN engine", "ALTER TABLE deployments DROP COLUMN engine_endpoint", "DELETE FROM schema_version WHERE version > 1"} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if v, err := s2.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("schema version %d (%v), want %d", v, err, len(migrations))
	}
	if err := s2.UseGolden(ctx, "g", "seed", "shop", "db"); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.RecordTrust(ctx, TrustRecord{Repo: "r", Definition: "shop", Decision: TrustGranted, Digest: "d"}); err != nil {
		t.Fatal(err)
	}
	if d, err := s2.Get(ctx, id); err != nil || d.Env != "shop" {
		t.Errorf("the deployment after the upgrade: %+v, %v", d, err)
	}
}
