package store

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
)

func TestEnvSettings(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if es, err := s.EnvSettings(ctx, "shop"); err != nil || es.Variant != "" || es.Ports != nil {
		t.Fatalf("none kept: %+v %v", es, err)
	}
	want := EnvSettings{Variant: "review", Ports: json.RawMessage(`{"web/80/tcp/8080":18080}`)}
	if err := s.SaveEnvSettings(ctx, "shop", want); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveEnvSettings(ctx, "shop", EnvSettings{Variant: "dev", Profiles: []string{"debug"}, Ports: want.Ports}); err != nil {
		t.Fatal(err)
	}
	es, err := s.EnvSettings(ctx, "shop")
	if err != nil || es.Variant != "dev" || len(es.Profiles) != 1 || string(es.Ports) != string(want.Ports) {
		t.Fatalf("kept %+v %v", es, err)
	}
	if err := s.SaveEnvSettings(ctx, "shop", EnvSettings{Ports: json.RawMessage("{")}); err == nil {
		t.Fatal("invalid JSON kept")
	}
	if err := s.ForgetEnvSettings(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if es, _ := s.EnvSettings(ctx, "shop"); es.Variant != "" {
		t.Fatalf("forgotten settings read back: %+v", es)
	}
}
