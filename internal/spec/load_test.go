package spec

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// projectJSON renders p for a golden file: absolute paths under dir become
// $DIR, and service hashes (which cover absolute bind mount paths) are
// masked; TestServiceHash covers them.
func projectJSON(t *testing.T, p *Project, dir string) []byte {
	t.Helper()
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	s := strings.ReplaceAll(string(b), abs, "$DIR")
	s = regexp.MustCompile(`"(hash|buildHash)": "[0-9a-f]{64}"`).ReplaceAllString(s, `"$1": "<sha256>"`)
	return []byte(s + "\n")
}

func unsetEnv(t *testing.T, names ...string) {
	for _, n := range names {
		t.Setenv(n, "")
		os.Unsetenv(n)
	}
}

func TestLoadShopFixture(t *testing.T) {
	unsetEnv(t, "SHOP_DB_PASSWORD", "SHOP_WEB_PORT", "UNSET_IN_TESTS")
	p, err := LoadDefinition(context.Background(), "testdata/shop", LoadOptions{Revision: "0123abc"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "shop.golden.json", projectJSON(t, p, "testdata/shop"))
}

// TestLoadShopExample loads the example definition shipped in
// environments/shop.
func TestLoadShopExample(t *testing.T) {
	dir := filepath.Join("..", "..", "environments", "shop")
	unsetEnv(t, "SHOP_DB_PASSWORD", "SHOP_WEB_PORT")
	p, err := LoadDefinition(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) > 0 {
		t.Errorf("the example should load without warnings: %v", p.Warnings)
	}
	golden(t, "environments-shop.golden.json", projectJSON(t, p, dir))
}

func TestLoadShopShape(t *testing.T) {
	unsetEnv(t, "SHOP_DB_PASSWORD", "SHOP_WEB_PORT", "UNSET_IN_TESTS")
	p, err := LoadDefinition(context.Background(), "testdata/shop", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata/shop")
	if p.Name != "shop" || p.Definition != "shop" || p.Dir != abs {
		t.Errorf("name %q definition %q dir %q", p.Name, p.Definition, p.Dir)
	}
	var names []string
	for _, s := range p.Services {
		names = append(names, s.Name)
	}
	// admin is left out: its profile is not enabled
	if got := strings.Join(names, ","); got != "api,cache,db,debug,web,worker" {
		t.Errorf("services %s", got)
	}
	api := p.Service("api")
	if api.Image != "shop-api" || api.Build == nil || api.Build.Context != filepath.Join(abs, "api") || api.BuildHash == "" {
		t.Errorf("api image %q build %+v buildHash %q", api.Image, api.Build, api.BuildHash)
	}
	if _, ok := api.Environment["UNSET_IN_TESTS"]; ok {
		t.Error("a variable without a value is kept")
	}
	if api.Environment["PGHOST"] != "db" {
		t.Error("env_file not read")
	}
	// same context, but api has a build arg: the hashes differ
	if w := p.Service("worker"); w.Replicas != 2 || w.BuildHash == "" || w.BuildHash == api.BuildHash {
		t.Errorf("worker replicas %d, build hash %q (api's %q)", w.Replicas, w.BuildHash, api.BuildHash)
	}
	db := p.Service("db")
	if db.Mounts[1].Type != MountVolume || db.Mounts[1].Source != "db-data" {
		t.Errorf("db volume mount %+v", db.Mounts[1])
	}
	if db.Mounts[0].Type != MountBind || db.Mounts[0].Source != filepath.Join(abs, "db", "init") || !db.Mounts[0].ReadOnly {
		t.Errorf("db bind mount %+v", db.Mounts[0])
	}
	if hc := db.Healthcheck; hc == nil || *hc.Interval != 3*time.Second || *hc.Retries != 20 {
		t.Errorf("db healthcheck %+v", hc)
	}
	if n := p.Network("default"); n == nil || n.Name != "shop_default" {
		t.Errorf("default network %+v", n)
	}
	if n := p.Network("back"); n == nil || !n.Internal || n.Name != "shop_back" {
		t.Errorf("back network %+v", n)
	}
	if v := p.Volume("db-data"); v == nil || v.Name != "shop_db-data" {
		t.Errorf("volume %+v", v)
	}
	if len(p.Databases) != 1 || p.Databases[0] != (Database{Service: "db", Engine: EnginePostgres,
		VolumeKey: "db-data", Volume: "shop_db-data", DataDir: DefaultPGData}) {
		t.Errorf("databases %+v", p.Databases)
	}
	if p.Health.TimeoutOrDefault() != 90*time.Second || p.Drift.PolicyFor("api") != DriftHeal || p.Drift.PolicyFor("db") != DriftWarn {
		t.Errorf("health %+v drift %+v", p.Health, p.Drift)
	}
}

func TestLoadOptions(t *testing.T) {
	unsetEnv(t, "SHOP_DB_PASSWORD", "SHOP_WEB_PORT", "UNSET_IN_TESTS")
	ctx := context.Background()

	t.Run("as another environment", func(t *testing.T) {
		p, err := LoadDefinition(ctx, "testdata/shop", LoadOptions{Name: "shop-pr42"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "shop-pr42" || p.Definition != "shop" {
			t.Errorf("name %q definition %q", p.Name, p.Definition)
		}
		if p.Service("api").Image != "shop-pr42-api" || p.Network("back").Name != "shop-pr42_back" || p.Volume("db-data").Name != "shop-pr42_db-data" {
			t.Errorf("names do not follow the environment: %s %s %s", p.Service("api").Image, p.Network("back").Name, p.Volume("db-data").Name)
		}
	})
	t.Run("invalid environment name", func(t *testing.T) {
		_, err := LoadDefinition(ctx, "testdata/shop", LoadOptions{Name: "Shop PR"})
		if err == nil || !strings.Contains(err.Error(), `invalid name "Shop PR"`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("extra profiles", func(t *testing.T) {
		p, err := LoadDefinition(ctx, "testdata/shop", LoadOptions{Profiles: []string{"admin"}})
		if err != nil {
			t.Fatal(err)
		}
		if p.Service("admin") == nil || p.Service("debug") == nil {
			t.Error("profiles of the manifest and of the options should both be enabled")
		}
		if strings.Join(p.Profiles, ",") != "debug,admin" {
			t.Errorf("profiles %v", p.Profiles)
		}
	})
	t.Run("local settings override the granted host environment", func(t *testing.T) {
		p, err := LoadDefinition(ctx, "testdata/shop", LoadOptions{
			HostEnv:     map[string]string{"SHOP_WEB_PORT": "8181", "SHOP_DB_PASSWORD": "from-host"},
			Environment: map[string]string{"SHOP_DB_PASSWORD": "local"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Service("db").Environment["POSTGRES_PASSWORD"]; got != "local" {
			t.Errorf("POSTGRES_PASSWORD = %q, want local", got)
		}
		if got := p.Service("web").Ports[0].HostPort; got != "8181" {
			t.Errorf("host port = %q, want 8181", got)
		}
	})
	t.Run("the process environment is never read", func(t *testing.T) {
		t.Setenv("SHOP_WEB_PORT", "8181")
		t.Setenv("SHOP_DB_PASSWORD", "from-os")
		p, err := LoadDefinition(ctx, "testdata/shop", LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Service("web").Ports[0].HostPort; got != "8080" {
			t.Errorf("host port = %q: the process environment was read", got)
		}
		if got := p.Service("db").Environment["POSTGRES_PASSWORD"]; got == "from-os" {
			t.Error("POSTGRES_PASSWORD came from the process environment")
		}
	})
	t.Run("the granted host environment overrides .env", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"berth.yaml":   "name: t\n",
			".env":         "SHOP_TEST_TAG=from-dotenv\nSHOP_TEST_OTHER=dotenv\n",
			"compose.yaml": "services:\n  api:\n    image: x:${SHOP_TEST_TAG}\n    command: [\"${SHOP_TEST_OTHER}\"]\n",
		})
		p, err := LoadDefinition(ctx, dir, LoadOptions{HostEnv: map[string]string{"SHOP_TEST_TAG": "from-host"}})
		if err != nil {
			t.Fatal(err)
		}
		api := p.Service("api")
		if api.Image != "x:from-host" || api.Command[0] != "dotenv" {
			t.Errorf("image %q command %v", api.Image, api.Command)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := LoadDefinition(ctx, "testdata/shop", LoadOptions{}); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
	})
}

// TestLoadNormalises covers the forms Compose allows for the same thing.
func TestLoadNormalises(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"berth.yaml": "name: norm\ncompose: [base.yaml, override.yaml]\n",
		"base.yaml": `services:
  api:
    image: x
    ports:
      - "8000-8002:80"
      - "9000"
    networks: [b, a]
    cap_add: [SYS_TIME, NET_ADMIN]
    extra_hosts: ["b.local:10.0.0.2", "a.local=10.0.0.1"]
    volumes: [./z:/z, ./a:/a]
    depends_on:
      opt:
        condition: service_started
        required: false
  opt:
    image: y
    profiles: [opt]
  ext:
    image: z
    network_mode: none
networks:
  a:
  b:
    name: custom-b
  c:
    external: true
volumes:
  v:
    external: true
  w:
    name: named-w
`,
		"override.yaml": "services:\n  api:\n    environment:\n      FROM_OVERRIDE: \"1\"\n    scale: 3\n",
	})
	p, err := LoadDefinition(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	api := p.Service("api")
	if api.Replicas != 3 || api.Environment["FROM_OVERRIDE"] != "1" {
		t.Errorf("override not merged: replicas %d env %v", api.Replicas, api.Environment)
	}
	if len(api.DependsOn) != 0 {
		t.Errorf("optional dependency on a disabled service kept: %v", api.DependsOn)
	}
	wantPorts := []Port{
		{HostPort: "8000-8002", ContainerPort: 80, Protocol: "tcp"},
		{ContainerPort: 9000, Protocol: "tcp"},
	}
	if len(api.Ports) != 2 || api.Ports[0] != wantPorts[0] || api.Ports[1] != wantPorts[1] {
		t.Errorf("ports %+v", api.Ports)
	}
	if api.Networks[0].Network != "a" || api.Networks[1].Network != "b" {
		t.Errorf("networks not sorted: %+v", api.Networks)
	}
	if strings.Join(api.CapAdd, ",") != "NET_ADMIN,SYS_TIME" {
		t.Errorf("cap_add %v", api.CapAdd)
	}
	if strings.Join(api.ExtraHosts, ",") != "a.local:10.0.0.1,b.local:10.0.0.2" {
		t.Errorf("extra_hosts %v", api.ExtraHosts)
	}
	if api.Mounts[0].Target != "/a" || api.Mounts[0].Source != filepath.Join(dir, "a") || !api.Mounts[0].CreateHostPath {
		t.Errorf("mounts %+v", api.Mounts)
	}
	if p.Network("default") != nil {
		t.Error("no enabled service uses the default network")
	}
	if n := p.Network("b"); n.Name != "custom-b" {
		t.Errorf("network b %+v", n)
	}
	if n := p.Network("c"); n.Name != "c" || !n.External {
		t.Errorf("network c %+v", n)
	}
	if v := p.Volume("v"); v.Name != "v" || !v.External {
		t.Errorf("volume v %+v", v)
	}
	if v := p.Volume("w"); v.Name != "named-w" {
		t.Errorf("volume w %+v", v)
	}
	if len(p.Service("ext").Networks) != 0 {
		t.Error("network_mode service attached to networks")
	}
	if got := p.Service("ext").NetworkMode; got != "none" {
		t.Errorf("network_mode = %q", got)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("warnings %v", p.Warnings)
	}
}
