package store

import (
	"context"
	"testing"
)

// Two engines' records of environments of one name keep apart; records
// from before engines were recorded go to the first engine that asks.
func TestRecordsPerEngine(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	legacy, err := s.Begin(ctx, Deployment{Kind: KindUp, Env: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, legacy, Outcome{Status: StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	a := s.On(ctx, "ENGINE-A", "unix:///var/run/docker.sock")
	b := s.On(ctx, "ENGINE-B", "ssh://deploy@build")
	idB, err := b.Begin(ctx, Deployment{Kind: KindDeploy, Env: "shop", Revision: "r2"})
	if err != nil {
		t.Fatal(err)
	}
	ha, _ := a.History(ctx, "shop", Filter{})
	hb, _ := b.History(ctx, "shop", Filter{})
	if len(ha) != 1 || ha[0].ID != legacy || ha[0].Engine != "unix:///var/run/docker.sock" {
		t.Fatalf("engine A's history: %+v (want the record from before, claimed by A)", ha)
	}
	if len(hb) != 1 || hb[0].ID != idB || hb[0].Engine != "ssh://deploy@build" {
		t.Fatalf("engine B's history: %+v", hb)
	}
	if _, err := a.Get(ctx, idB); err == nil {
		t.Fatal("engine A reads engine B's deployment")
	}
	if u, _ := a.Unfinished(ctx, ""); len(u) != 0 {
		t.Fatalf("engine A sees B's running record as its own: %+v", u)
	}

	for _, st := range []*Store{a, b} {
		if _, err := st.AddSnapshot(ctx, Snapshot{Name: "before", Env: "shop", Service: "db", Volume: "v-" + st.engine}); err != nil {
			t.Fatalf("a snapshot of one name on each engine: %v", err)
		}
		if err := st.UseGolden(ctx, "golden", "seed.sql", "shop", "db"); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveEnvSettings(ctx, "shop", EnvSettings{Variant: "v-" + st.engine}); err != nil {
			t.Fatal(err)
		}
	}
	for _, st := range []*Store{a, b} {
		sns, _ := st.Snapshots(ctx, "shop")
		if len(sns) != 1 || sns[0].Volume != "v-"+st.engine {
			t.Errorf("%s snapshots: %+v", st.engine, sns)
		}
		es, _ := st.EnvSettings(ctx, "shop")
		if es.Variant != "v-"+st.engine {
			t.Errorf("%s settings: %+v", st.engine, es)
		}
		gs, _ := st.GoldenUses(ctx)
		if len(gs) != 1 || len(gs[0].Clones) != 1 {
			t.Errorf("%s golden copies: %+v", st.engine, gs)
		}
	}
	if err := a.ForgetGolden(ctx, "golden"); err != nil {
		t.Fatal(err)
	}
	if gs, _ := b.GoldenUses(ctx); len(gs) != 1 {
		t.Errorf("forgetting A's golden copy took B's: %+v", gs)
	}
	// Workspaces are this machine's: in use by either engine.
	if u, _ := a.InUse(ctx); len(u) == 0 {
		t.Errorf("workspaces in use: none, want B's deploy of r2")
	}
}
