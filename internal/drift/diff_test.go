package drift

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// shop is a desired state: web (probe-like image, env, port, health
// check, bind mount), db (a volume, a command), both on back; web on
// front too.
func shop() *spec.Project {
	sec := time.Second
	return &spec.Project{
		Name: "shop", Definition: "shop", Dir: "/ws/shop",
		Networks: []spec.Network{{Key: "back", Name: "shop_back"}, {Key: "front", Name: "shop_front"}},
		Volumes:  []spec.Volume{{Key: "data", Name: "shop_data"}},
		Services: []spec.Service{
			{Name: "db", Image: "postgres:15", Replicas: 1, Hash: "h-db",
				Command:  []string{"postgres", "-c", "fsync=off"},
				Mounts:   []spec.Mount{{Type: spec.MountVolume, Source: "data", Target: "/var/lib/postgresql/data"}},
				Networks: []spec.ServiceNetwork{{Network: "back"}}},
			{Name: "web", Image: "probe:1", Replicas: 1, Hash: "h-web",
				Environment: map[string]string{"API_URL": "http://api", "TZ": "UTC"},
				Labels:      map[string]string{"team": "a"},
				Ports:       []spec.Port{{HostPort: "8080", ContainerPort: 8080, Protocol: "tcp"}},
				Mounts:      []spec.Mount{{Type: spec.MountBind, Source: "/ws/shop/conf", Target: "/conf", ReadOnly: true}},
				Healthcheck: &spec.Healthcheck{Test: []string{"CMD", "/probe", "health"}, Interval: &sec},
				Restart:     "unless-stopped",
				Networks:    []spec.ServiceNetwork{{Network: "back"}, {Network: "front", Aliases: []string{"www"}}}},
		},
	}
}

// deployed is what the engine reports right after Berth brought shop up:
// the image's ENV, CMD, labels and health check merged in, generated
// hostnames and aliases, Compose and Berth labels.
func deployed(p *spec.Project) Live {
	l := Live{Project: p.Name, Images: map[string]string{"postgres:15": "sha256:pg", "probe:1": "sha256:probe"}}
	pgImg := ImageConfig{Env: []string{"PATH=/usr/bin", "PGDATA=/var/lib/postgresql/data"}, Entrypoint: []string{"docker-entrypoint.sh"},
		Cmd: []string{"postgres"}, StopSignal: "SIGINT", Labels: map[string]string{"maintainer": "pg"}}
	probeImg := ImageConfig{Env: []string{"PATH=/usr/bin"}, Entrypoint: []string{"/probe"}, Cmd: []string{"serve"},
		Labels:      map[string]string{"dev.berth.image-key": "k", "org.version": "1"},
		Healthcheck: &Health{Test: []string{"CMD", "/probe", "health"}, Interval: int64(30 * time.Second), Retries: 3}}
	berth := func(svc, hash string) map[string]string {
		return map[string]string{reconcile.LabelProject: "shop", reconcile.LabelService: svc, reconcile.LabelNumber: "1",
			reconcile.LabelConfigHash: hash, reconcile.LabelManaged: "true", reconcile.LabelRevision: "abc"}
	}
	dbLabels := berth("db", "h-db")
	dbLabels["maintainer"] = "pg"
	webLabels := berth("web", "h-web")
	webLabels["team"], webLabels["org.version"], webLabels["dev.berth.image-key"] = "a", "1", "k"
	l.Containers = []Container{
		{ID: "aaaaaaaaaaaaaaaa1", Name: "shop-db-1", Project: "shop", Service: "db", Number: 1, Managed: true, ConfigHash: "h-db",
			State: "running", Image: "postgres:15", ImageID: "sha256:pg",
			Env: pgImg.Env, Entrypoint: pgImg.Entrypoint, Cmd: []string{"postgres", "-c", "fsync=off"}, Labels: dbLabels,
			Hostname: "aaaaaaaaaaaa", StopSignal: "SIGINT", Restart: "no",
			Mounts:   []Mount{{Type: "volume", Source: "shop_data", Target: "/var/lib/postgresql/data"}},
			Networks: map[string]Endpoint{"shop_back": {Aliases: []string{"db", "aaaaaaaaaaaa"}}}, ImageConfig: pgImg},
		{ID: "bbbbbbbbbbbbbbbb2", Name: "shop-web-1", Project: "shop", Service: "web", Number: 1, Managed: true, ConfigHash: "h-web",
			State: "running", Image: "probe:1", ImageID: "sha256:probe",
			Env: []string{"API_URL=http://api", "PATH=/usr/bin", "TZ=UTC"}, Entrypoint: []string{"/probe"}, Cmd: []string{"serve"},
			Labels: webLabels, Hostname: "bbbbbbbbbbbb", Restart: "unless-stopped",
			Healthcheck: &Health{Test: []string{"CMD", "/probe", "health"}, Interval: int64(time.Second), Retries: 3},
			Ports:       []Port{{HostPort: "8080", ContainerPort: 8080, Protocol: "tcp"}},
			Mounts:      []Mount{{Type: "bind", Source: "/ws/shop/conf", Target: "/conf", ReadOnly: true}},
			Networks: map[string]Endpoint{"shop_back": {Aliases: []string{"web", "bbbbbbbbbbbb"}},
				"shop_front": {Aliases: []string{"web", "www", "bbbbbbbbbbbb"}}},
			ImageConfig: probeImg},
	}
	l.Networks = []Network{
		{ID: "n1", Name: "shop_back", Key: "back", Managed: true, Attached: []Attached{{"aaaaaaaaaaaaaaaa1", "shop-db-1"}, {"bbbbbbbbbbbbbbbb2", "shop-web-1"}}},
		{ID: "n2", Name: "shop_front", Key: "front", Managed: true, Attached: []Attached{{"bbbbbbbbbbbbbbbb2", "shop-web-1"}}},
	}
	return l
}

func web(l *Live) *Container { return &l.Containers[1] }

func TestRuntimeGolden(t *testing.T) {
	tests := []struct {
		name   string
		desire func(p *spec.Project)
		change func(l *Live)
	}{
		{name: "in-sync"},
		{name: "env-changed-by-hand", change: func(l *Live) {
			// recreated by hand under the same name: no Berth labels, another value
			c := web(l)
			c.ID, c.Hostname, c.Managed, c.ConfigHash, c.Project = "cccccccccccccccc3", "cccccccccccc", false, "", ""
			c.Labels = map[string]string{"team": "a", "org.version": "1", "dev.berth.image-key": "k"}
			c.Env = []string{"API_URL=http://other", "PATH=/usr/bin", "TZ=UTC", "DEBUG=1"}
			c.Networks = map[string]Endpoint{"shop_back": {Aliases: []string{"cccccccccccc"}}}
			l.Networks[0].Attached[1] = Attached{c.ID, c.Name}
			l.Networks[1].Attached = nil
		}},
		{name: "stopped-and-missing", change: func(l *Live) {
			l.Containers[1].State, l.Containers[1].ExitCode = "exited", 137
			l.Containers = l.Containers[1:]
			l.Networks[0].Attached = l.Networks[0].Attached[1:]
		}},
		{name: "docker-update", change: func(l *Live) {
			c := web(l)
			c.Resources = Resources{Memory: 256 << 20, NanoCPUs: 5e8}
			c.Restart = "always"
		}},
		{name: "network-disconnected-and-foreign", change: func(l *Live) {
			delete(web(l).Networks, "shop_front")
			l.Networks[1].Attached = nil
			l.Networks[0].Attached = append(l.Networks[0].Attached, Attached{"dddddddddddd4", "intruder"})
		}},
		{name: "image-tag-moved", change: func(l *Live) { l.Images["probe:1"] = "sha256:newprobe" }},
		{name: "declared-limits-updated", desire: func(p *spec.Project) {
			// a service with declared limits and runtime settings, deployed
			// as declared (the engine's own defaults beside them)...
			w := p.Service("web")
			w.Resources = &spec.Resources{MemoryLimit: 256 << 20, NanoCPUs: 5e8, PidsLimit: 100}
			w.Ulimits = map[string]spec.Ulimit{"nofile": {Soft: 1024, Hard: 2048}}
			w.Sysctls = map[string]string{"net.core.somaxconn": "1024"}
			w.Logging = &spec.Logging{Driver: "json-file", Options: map[string]string{"max-size": "1m"}}
			w.ShmSize = 128 << 20
			w.Expose = []string{"9000/tcp"}
			w.CapAdd = []string{"NET_ADMIN"}
		}, change: func(l *Live) {
			c := web(l)
			c.Resources = Resources{Memory: 256 << 20, MemorySwap: 512 << 20, NanoCPUs: 5e8, PidsLimit: 100}
			c.Settings = Settings{Ulimits: []string{"nofile=1024:2048"}, Sysctls: map[string]string{"net.core.somaxconn": "1024"},
				LogDriver: "json-file", LogOptions: map[string]string{"max-size": "1m"}, ShmSize: 128 << 20,
				IpcMode: "private", CgroupnsMode: "host", Runtime: "runc", ExposedPorts: []string{"8080/tcp", "9000/tcp"}}
			c.CapAdd = []string{"CAP_NET_ADMIN"}
			// ...then docker update --memory 512m --pids-limit 200: changed, not added
			c.Resources.Memory, c.Resources.MemorySwap, c.Resources.PidsLimit = 512<<20, 1<<30, 200
		}},
		{name: "shared-namespace", desire: func(p *spec.Project) {
			w := p.Service("web")
			w.NetworkMode, w.Networks, w.Ports, w.Pid = "service:db", nil, nil, "service:db"
		}, change: func(l *Live) {
			c := web(l)
			c.Settings.NetworkMode = "container:" + l.Containers[0].ID
			c.Settings.PidMode = "container:" + l.Containers[0].ID[:12]
			c.Hostname = "aaaaaaaaaaaa" // the db's: it is in its namespace
			c.Ports = nil
			c.Networks = map[string]Endpoint{}
			l.Networks[1].Attached = nil
			l.Networks[0].Attached = l.Networks[0].Attached[:1]
		}},
		{name: "shared-namespace-moved", desire: func(p *spec.Project) {
			w := p.Service("web")
			w.NetworkMode, w.Networks, w.Ports = "service:db", nil, nil
		}, change: func(l *Live) {
			c := web(l)
			c.Settings.NetworkMode = "host"
			c.Ports = nil
			c.Networks = map[string]Endpoint{"host": {}}
			l.Networks[1].Attached = nil
			l.Networks[0].Attached = l.Networks[0].Attached[:1]
		}},
		{name: "ports-mounts-command", change: func(l *Live) {
			c := web(l)
			c.Ports = []Port{{HostPort: "9090", ContainerPort: 8080, Protocol: "tcp"}}
			c.Mounts = append(c.Mounts, Mount{Type: "bind", Source: "/tmp", Target: "/tmp"})
			c.Cmd = []string{"sleep"}
			l.Containers[0].Cmd = []string{"postgres"}
		}},
		{name: "outdated-and-extra", change: func(l *Live) {
			l.Containers[0].ConfigHash = "h-old"
			extra := l.Containers[1]
			extra.ID, extra.Name, extra.Number = "eeeeeeeeeeee5", "shop-web-2", 2
			l.Containers = append(l.Containers, extra)
		}},
		{name: "ignore-rules-and-policies", desire: func(p *spec.Project) {
			p.Drift = &spec.DriftSettings{Policy: spec.DriftHeal,
				Services: map[string]spec.DriftServiceSettings{"db": {Policy: spec.DriftIgnore}},
				Ignore:   []spec.DriftIgnoreRule{{Service: "web", Path: "/environment/TZ"}, {Path: "/deploy/resources"}}}
		}, change: func(l *Live) {
			c := web(l)
			c.Env = []string{"API_URL=http://other", "PATH=/usr/bin", "TZ=Europe/Paris"}
			c.Resources.Memory = 1 << 30
			l.Containers[0].State = "paused"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := shop()
			if tt.desire != nil {
				tt.desire(p)
			}
			l := deployed(p)
			if tt.change != nil {
				tt.change(&l)
			}
			res := Runtime(p, l)
			heal := Heal(reconcile.Plan{Project: p.Name}, res.Items)
			var b strings.Builder
			for _, it := range res.Items {
				b.WriteString(it.String())
				if it.Policy != "" {
					b.WriteString("  [" + it.Policy + "]")
				}
				b.WriteByte('\n')
			}
			if res.Ignored > 0 {
				b.WriteString("ignored: " + itoa(res.Ignored) + "\n")
			}
			b.WriteString("--- heal (beyond the planner)\n")
			b.WriteString(heal.Render())
			check(t, tt.name, b.String())
			if tt.name == "in-sync" && len(res.Items) != 0 {
				t.Fatalf("a freshly deployed environment drifts: %v", res.Items)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func check(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".drift")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestMergeCommand(t *testing.T) {
	img := ImageConfig{Entrypoint: []string{"/probe"}, Cmd: []string{"serve"}}
	tests := []struct {
		name         string
		ep, cmd      []string
		wantEP, want string
	}{
		{"image's", nil, nil, `["/probe"]`, `["serve"]`},
		{"command only", nil, []string{"sleep"}, `["/probe"]`, `["sleep"]`},
		{"entrypoint drops the image's command", []string{"/bin/sh"}, nil, `["/bin/sh"]`, ``},
		{"empty entrypoint", []string{}, nil, ``, ``},
		{"empty command keeps entrypoint", nil, []string{}, `["/probe"]`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, cmd := mergeCommand(tt.ep, tt.cmd, img)
			if got := deref(list(ep)); got != tt.wantEP {
				t.Errorf("entrypoint %s, want %s", got, tt.wantEP)
			}
			if got := deref(list(cmd)); got != tt.want {
				t.Errorf("command %s, want %s", got, tt.want)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestIgnoreRulePrefix(t *testing.T) {
	d := &spec.DriftSettings{Ignore: []spec.DriftIgnoreRule{{Path: "/environment/TZ"}, {Service: "db", Path: "/labels/"}}}
	tests := []struct {
		it   Item
		want bool
	}{
		{Item{Service: "web", Path: "/environment/TZ"}, true},
		{Item{Service: "web", Path: "/environment/TZZ"}, false},
		{Item{Service: "db", Path: "/labels/x"}, true},
		{Item{Service: "web", Path: "/labels/x"}, false},
	}
	for _, tt := range tests {
		if got := ignored(d, tt.it); got != tt.want {
			t.Errorf("%+v: ignored %v, want %v", tt.it, got, tt.want)
		}
	}
}
