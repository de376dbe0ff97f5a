package engine

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/spec"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func ptr[T any](v T) *T { return &v }

// testProject is a desired state with one service of every shape the
// translation handles.
func testProject() *spec.Project {
	return &spec.Project{
		Name:         "shop",
		Definition:   "shop",
		Dir:          "/defs/environments/shop",
		ComposeFiles: []string{"/defs/environments/shop/compose.yaml", "/defs/environments/shop/compose.override.yaml"},
		Revision:     "0123456789abcdef0123456789abcdef01234567",
		Networks: []spec.Network{
			{Key: "back", Name: "shop_back", Hash: "nb"},
			{Key: "front", Name: "shop_front", Hash: "nf"},
		},
		Volumes: []spec.Volume{{Key: "data", Name: "shop_data", Hash: "vd"}},
		Services: []spec.Service{
			{
				Name:        "api",
				Image:       "shop-api:latest",
				Replicas:    2,
				DependsOn:   []spec.Dependency{{Service: "db", Condition: spec.ConditionHealthy, Required: true, Restart: true}, {Service: "migrate", Condition: spec.ConditionCompleted, Required: true}},
				Entrypoint:  []string{"/bin/api"},
				Command:     []string{"serve", "--port", "8080"},
				Environment: map[string]string{"B": "2", "A": "1", "EMPTY": ""},
				Labels:      map[string]string{"team": "shop", "com.docker.compose.project": "ignored"},
				Ports: []spec.Port{
					{HostIP: "127.0.0.1", HostPort: "8080", ContainerPort: 8080, Protocol: "tcp"},
					{HostPort: "9000-9010", ContainerPort: 9000, Protocol: "tcp"},
					{ContainerPort: 5353, Protocol: "udp"},
					{HostIP: "::1", HostPort: "8081", ContainerPort: 8080},
				},
				Mounts: []spec.Mount{
					{Type: spec.MountBind, Source: "/defs/environments/shop/config", Target: "/config", ReadOnly: true, CreateHostPath: true},
					{Type: spec.MountVolume, Source: "data", Target: "/data"},
					{Type: spec.MountBind, Source: "/srv/static", Target: "/static"},
					{Type: spec.MountTmpfs, Target: "/tmp/scratch"},
					{Type: spec.MountVolume, Target: "/var/cache"},
				},
				Networks: []spec.ServiceNetwork{
					{Network: "back", Aliases: []string{"backend"}},
					{Network: "front", IPv4Address: "172.30.0.10"},
				},
				Healthcheck: &spec.Healthcheck{
					Test:        []string{"CMD", "/bin/api", "health"},
					Interval:    ptr(5 * time.Second),
					Timeout:     ptr(2 * time.Second),
					StartPeriod: ptr(10 * time.Second),
					Retries:     ptr(uint64(3)),
				},
				Restart:         "on-failure:3",
				Init:            ptr(true),
				User:            "1000:1000",
				WorkingDir:      "/app",
				Hostname:        "api-host",
				Tmpfs:           []string{"/run:size=64m", "/tmp"},
				ExtraHosts:      []string{"db.local:10.0.0.5"},
				CapAdd:          []string{"NET_ADMIN"},
				CapDrop:         []string{"ALL"},
				ReadOnly:        true,
				Privileged:      false,
				Tty:             true,
				StdinOpen:       true,
				StopSignal:      "SIGINT",
				StopGracePeriod: ptr(20 * time.Second),
				Hash:            "cafe",
			},
			{Name: "min", Image: "busybox", Replicas: 1, Hash: "beef"},
			{
				Name: "runtime", Image: "busybox", Replicas: 1, Hash: "abba",
				NetworkMode: "service:min", Pid: "service:min", Ipc: "shareable", Uts: "host", Cgroup: "private",
				DomainName: "corp.example", ShmSize: 256 << 20,
				Devices: []spec.Device{{Source: "/dev/null", Target: "/dev/token0", Permissions: "rw"}},
				Ulimits: map[string]spec.Ulimit{"nproc": {Soft: 512, Hard: 512}, "nofile": {Soft: 1024, Hard: 2048}},
				Sysctls: map[string]string{"net.core.somaxconn": "1024"},
				DNS:     []string{"9.9.9.9"}, DNSSearch: []string{"corp.example"}, DNSOptions: []string{"ndots:2"},
				Logging: &spec.Logging{Driver: "json-file", Options: map[string]string{"max-size": "1m"}},
				Runtime: "runc", SecurityOpt: []string{"no-new-privileges:true"}, GroupAdd: []string{"audio"},
				Expose: []string{"9000/tcp", "9001/udp"},
				Resources: &spec.Resources{MemoryLimit: 256 << 20, MemoryReservation: 64 << 20, NanoCPUs: 5e8, CPUShares: 512,
					CpusetCpus: "0", PidsLimit: 100, OomScoreAdj: 300,
					GPUs: []spec.DeviceRequest{{Driver: "nvidia", Count: -1, Capabilities: []string{"gpu"}}}},
				Restart: "on-failure:3",
				Mounts: []spec.Mount{
					{Type: spec.MountBind, Source: "/defs/environments/shop/conf", Target: "/conf", ReadOnly: true, Propagation: "rprivate"},
					{Type: spec.MountBind, Source: "/defs/environments/shop/html", Target: "/html", ReadOnly: true, CreateHostPath: true, SELinux: "z"},
					{Type: spec.MountTmpfs, Target: "/scratch", TmpfsSize: 4 << 20, TmpfsMode: 0o700},
					{Type: spec.MountVolume, Source: "data", Target: "/data", NoCopy: true},
				},
			},
			{Name: "reset", Image: "busybox", Replicas: 1, Entrypoint: []string{}, Healthcheck: &spec.Healthcheck{Disable: true}, Restart: "unless-stopped", Hash: "f00d"},
		},
	}
}

// TestBuildCreateRequestGolden renders the Engine API requests for each
// service, for an engine that takes one network at create (1.41) and one
// that takes them all (1.44).
func TestBuildCreateRequestGolden(t *testing.T) {
	p := testProject()
	cases := []struct {
		name, service, api, imageID string
		number                      int
	}{
		{"api-1.41", "api", "1.41", "sha256:1111", 2},
		{"api-1.44", "api", "1.44", "sha256:1111", 1},
		{"min", "min", "1.41", "", 1},
		{"runtime", "runtime", "1.41", "sha256:3333", 1},
		{"reset", "reset", "1.51", "sha256:2222", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			shared := map[string]string{"min": "0123456789ab"}
			req, err := buildCreateRequest(p, p.Service(c.service), c.number, "", c.imageID, c.api, shared)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(req, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "create", c.name+".json"), append(got, '\n'))
		})
	}
}

func TestBuildCreateRequestErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *spec.Service)
		want   string
	}{
		{"start interval on old engine", func(s *spec.Service) {
			s.Healthcheck.StartInterval = ptr(time.Second)
		}, "service api: healthcheck start_interval needs Docker Engine API 1.44 (Docker 25) or newer, and this engine speaks API 1.41"},
		{"restart", func(s *spec.Service) { s.Restart = "sometimes" }, `service api: restart policy "sometimes" is not one of`},
		{"on-failure count", func(s *spec.Service) { s.Restart = "on-failure:x" }, `restart policy "on-failure:x"`},
		{"volume", func(s *spec.Service) { s.Mounts[1].Source = "nope" }, `service api: volume "nope" mounted at /data is not declared`},
		{"network", func(s *spec.Service) { s.Networks[0].Network = "nope" }, `service api: network "nope" is not declared`},
		{"mount type", func(s *spec.Service) { s.Mounts[0].Type = "npipe" }, `mount type "npipe"`},
		{"no image", func(s *spec.Service) { s.Image = "" }, "service api: no image"},
		{"subpath on old engine", func(s *spec.Service) { s.Mounts[1].Subpath = "uploads" },
			"service api: volume subpath (at /data) needs Docker Engine API 1.45 (Docker 26) or newer, and this engine speaks API 1.41"},
		{"shared namespace without its container", func(s *spec.Service) { s.NetworkMode, s.Networks = "service:db", nil },
			"service api: network_mode service:db: service db has no container to share with"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := testProject()
			s := p.Service("api")
			c.mutate(s)
			_, err := buildCreateRequest(p, s, 1, "", "", "1.41", nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want it to contain %q", err, c.want)
			}
		})
	}
	// The same start_interval is fine on a newer engine.
	p := testProject()
	s := p.Service("api")
	s.Healthcheck.StartInterval = ptr(time.Second)
	req, err := buildCreateRequest(p, s, 1, "", "", "1.44", nil)
	if err != nil {
		t.Fatal(err)
	}
	if req.Config.Healthcheck.StartInterval != time.Second {
		t.Fatalf("start interval = %v", req.Config.Healthcheck.StartInterval)
	}
}

func TestRestartPolicy(t *testing.T) {
	for in, want := range map[string]string{"": ":0", "no": "no:0", "always": "always:0", "unless-stopped": "unless-stopped:0", "on-failure": "on-failure:0", "on-failure:5": "on-failure:5"} {
		rp, err := restartPolicy(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if got := string(rp.Name) + ":" + itoa(rp.MaximumRetryCount); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// golden compares got with the file, or rewrites it under -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (run with -update if the change is intended)\n--- got\n%s", path, got)
	}
}
