package spec

import (
	"context"
	"strings"
	"testing"
)

// TestUnsupportedKeysWarn loads a definition full of keys Berth does not
// act on and checks that each gives one warning with file, line and field
// (testdata/unsupported.golden), and that the load still succeeds.
func TestUnsupportedKeysWarn(t *testing.T) {
	p, err := LoadDefinition(context.Background(), "testdata/unsupported", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, w := range p.Warnings {
		b.WriteString(w.String())
		b.WriteByte('\n')
	}
	golden(t, "unsupported.golden", []byte(b.String()))

	for _, w := range p.Warnings {
		if strings.Contains(w.Field, "x-") {
			t.Errorf("extension key warned about: %s", w)
		}
		if strings.HasPrefix(w.Field, "services.debug") {
			t.Errorf("service left out by profiles warned about: %s", w)
		}
		if w.Line == 0 {
			t.Errorf("warning without a line: %s", w)
		}
	}
	api := p.Service("api")
	if api.PullPolicy != "missing" {
		t.Errorf("pull_policy daily became %q, want missing", api.PullPolicy)
	}
	if api.Replicas != 2 {
		t.Errorf("replicas = %d, want 2", api.Replicas)
	}
	for _, m := range api.Mounts {
		if m.Type != MountBind && m.Type != MountVolume && m.Type != MountTmpfs {
			t.Errorf("mount of unsupported type kept: %+v", m)
		}
	}
}

// TestSupportedKeysAreSilent loads a definition using every key Berth
// supports, in every form, and expects no warning.
func TestSupportedKeysAreSilent(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"berth.yaml":     "name: full\n",
		"api/Dockerfile": "FROM scratch\n",
		"api.env":        "A=1\n",
		"compose.yaml": `name: full
x-common: &common
  restart: unless-stopped
services:
  api:
    <<: *common
    image: example/api
    build:
      context: ./api
      dockerfile: Dockerfile
      args: {V: "1"}
      target: prod
      labels: {a: b}
    pull_policy: build
    deploy: {replicas: 2}
    depends_on:
      db: {condition: service_healthy, required: true, restart: true}
    command: serve
    entrypoint: ["/bin/api"]
    environment: [A=1, B]
    env_file:
      - api.env
      - {path: local.env, required: false, format: raw}
    labels: [team=a]
    ports:
      - 80
      - "8000-8001:8000-8001"
      - "127.0.0.1:9000:9000/udp"
      - {target: 81, published: "8081", host_ip: 0.0.0.0, protocol: tcp, mode: ingress}
    volumes:
      - data:/data
      - ./conf:/conf:ro
      - /anon
      - type: bind
        source: ./src
        target: /src
        read_only: true
        bind: {create_host_path: true}
      - {type: tmpfs, target: /tmp}
      - {type: volume, source: data, target: /more}
    networks:
      front: {aliases: [a], ipv4_address: 172.30.0.10}
      back:
    healthcheck:
      test: ["CMD", "true"]
      interval: 5s
      timeout: 1s
      retries: 3
      start_period: 1s
      start_interval: 1s
    init: true
    user: "1000"
    working_dir: /app
    hostname: api
    tmpfs: [/run]
    extra_hosts: ["host.docker.internal:host-gateway"]
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    read_only: true
    privileged: false
    tty: true
    stdin_open: true
    stop_signal: SIGINT
    stop_grace_period: 3s
    expose: ["8080"]
  db:
    image: postgres
    scale: 1
    depends_on: [cache]
    networks: [back]
    healthcheck: {disable: true}
  cache:
    image: redis
    profiles: [cache, default]
    networks: [back]
  off:
    image: x
    profiles: [off]
networks:
  front:
    driver: bridge
    ipam: {config: [{subnet: 172.30.0.0/16}]}
    labels: {a: b}
    internal: false
  back:
    name: shared-back
    external: true
volumes:
  data:
    driver: local
    labels: [a=b]
    name: full-data
    external: false
`,
	})
	// ipam is needed for ipv4_address but is not supported: one warning
	p, err := LoadDefinition(context.Background(), dir, LoadOptions{Profiles: []string{"cache"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Warnings) != 1 || p.Warnings[0].Field != "networks.front.ipam" {
		t.Errorf("warnings: %v", p.Warnings)
	}
}
