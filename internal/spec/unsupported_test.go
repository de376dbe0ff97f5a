package spec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnsupportedKeysWarn loads a definition full of keys Berth does not
// act on, whose manifest says compose: {unsupported: warn}, and checks
// that each gives one warning with file, line and field
// (testdata/unsupported.golden), included and extended files too, and
// that the load still succeeds.
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
	for _, want := range []string{"included.yaml:4: services.sidecar.blkio_config", "base.yaml:4: services.base.storage_opt"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no warning %q: keys of included and extended files are checked like the main file's", want)
		}
	}
	// of a file only extended, only the extended service is loaded and checked
	for _, w := range p.Warnings {
		if strings.HasSuffix(w.File, "base.yaml") && !strings.HasPrefix(w.Field, "services.base") {
			t.Errorf("%s: a part of an extended file that is not loaded is checked", w)
		}
	}
}

// TestUnsupportedKeysRefused loads the same definition without
// unsupported: warn: every key Berth does not act on is an error naming
// file, line and field, and the load fails; the notes stay warnings.
func TestUnsupportedKeysRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/unsupported")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "berth.yaml"), []byte("name: legacy\ncompose: [compose.yaml, compose.override.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadDefinition(context.Background(), dir, LoadOptions{})
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("load: %v, want errors", err)
	}
	got := map[string]bool{}
	for _, e := range errs {
		if e.Line == 0 {
			t.Errorf("error without a line: %v", e)
		}
		if !strings.Contains(e.Message, "unsupported: warn") {
			t.Errorf("error does not say how to read past it: %v", e)
		}
		got[filepath.Base(e.File)+":"+e.Field] = true
	}
	for _, want := range []string{
		"compose.yaml:services.api.external_links", "compose.yaml:services.api.mac_address", "compose.yaml:services.api.pull_policy",
		"compose.yaml:services.api.networks.front.priority", "compose.yaml:services.api.volumes[2]",
		"compose.override.yaml:services.api.develop.watch[0].action", "included.yaml:services.sidecar.blkio_config", "base.yaml:services.base.storage_opt",
	} {
		if !got[want] {
			t.Errorf("no error for %s; got %v", want, errs)
		}
	}
	for k := range got {
		if strings.Contains(k, "services.debug") || strings.Contains(k, "container_name") || strings.Contains(k, "placement") || strings.Contains(k, "version") {
			t.Errorf("%s refused: a disabled service or a note is not an error", k)
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
    privileged: false
    tty: true
    stdin_open: true
    stop_signal: SIGINT
    stop_grace_period: 3s
    expose: ["8080", "9000/udp"]
    domainname: example.test
    shm_size: 64m
    devices: ["/dev/null:/dev/xnull:rw"]
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    sysctls: {net.core.somaxconn: 1024}
    dns: [1.1.1.1]
    dns_search: example.test
    dns_opt: [ndots:2]
    logging: {driver: json-file, options: {max-size: 1m}}
    platform: linux/amd64
    runtime: runc
    security_opt: [no-new-privileges:true]
    group_add: [audio]
    mem_limit: 256m
    mem_reservation: 64m
    memswap_limit: 512m
    cpu_shares: 512
    cpuset: "0"
    pids_limit: 100
    oom_score_adj: 100
    secrets: [token, {source: token, target: other, uid: "1000", gid: "1000", mode: 0400}]
    configs: [app, {source: inline, target: /etc/inline.conf}]
    links: [db:database]
  sidecar:
    image: example/sidecar
    network_mode: service:db
    pid: service:db
    ipc: shareable
    deploy:
      resources:
        limits: {cpus: "0.25", memory: 128m, pids: 50}
        reservations: {memory: 32m}
      restart_policy: {condition: on-failure, max_attempts: 3}
    depends_on: {db: {condition: service_started, restart: true}}
    volumes:
      - {type: volume, source: data, target: /sub, volume: {nocopy: true, subpath: sub}}
      - {type: tmpfs, target: /scratch, tmpfs: {size: 1m, mode: 0o1777}}
      - {type: bind, source: ./src, target: /p, bind: {propagation: rprivate, selinux: z}}
  db:
    image: postgres
    container_name: the-db
    scale: 1
    depends_on: [cache]
    networks: [back]
    healthcheck: {disable: true}
  cache:
    image: redis
    read_only: true
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
    driver_opts: {type: none}
    labels: [a=b]
    name: full-data
    external: false
secrets:
  token: {file: ./token.txt}
configs:
  app: {file: ./app.conf}
  inline: {content: "port: 8080"}
`,
		"token.txt": "s3cret",
		"app.conf":  "a=1",
	})
	p, err := LoadDefinition(context.Background(), dir, LoadOptions{Profiles: []string{"cache"}})
	if err != nil {
		t.Fatal(err)
	}
	// the container_name note says it is kept as an alias
	if len(p.Warnings) != 1 || p.Warnings[0].Field != "services.db.container_name" {
		t.Errorf("warnings: %v", p.Warnings)
	}
}
