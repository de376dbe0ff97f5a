package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
	"github.com/berthdev/berth/internal/testenv"
)

// TestIntegrationLiveNoDriftWhenFresh brings up a project that uses many
// Compose fields, two images with their own ENV, CMD, ENTRYPOINT, labels
// and stop signal, and checks that the engine's live details show no
// drift; then changes a container in place and sees exactly that.
func TestIntegrationLiveNoDriftWhenFresh(t *testing.T) {
	e := testEngine(t)
	img := probeImage(t, e)
	testenv.Image(t, "nginx:1.27")
	name := uniqueProject(t, e)
	ctx := testCtx(t, 3*time.Minute)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "conf"), 0o755)
	os.WriteFile(filepath.Join(dir, "conf", "app.conf"), []byte("a=1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "berth.yaml"), []byte("name: live\ncompose: [compose.yaml]\n"), 0o644)
	port := freePort(t)
	compose := fmt.Sprintf(`services:
  web:
    image: %s
    environment:
      API_URL: http://api
      EMPTY: ""
    labels:
      team: a
    ports:
      - "127.0.0.1:%d:8080"
      - "8081"
    volumes:
      - ./conf/app.conf:/conf/app.conf:ro
      - data:/data
      - /anon
    tmpfs: [/scratch]
    healthcheck:
      test: ["CMD", "/probe", "health"]
      interval: 1s
    restart: unless-stopped
    init: true
    stop_grace_period: 3s
    networks:
      back:
      front:
        aliases: [www]
  side:
    image: %s
    command: ["sleep"]
    networks: [back]
  proxy:
    image: nginx:1.27
    hostname: proxy
    working_dir: /srv
    entrypoint: ["/bin/sh", "-c", "sleep 3600"]
    networks: [front]
volumes:
  data:
networks:
  back:
  front:
`, img, port, img)
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose), 0o644)
	p, err := spec.LoadDefinition(ctx, dir, spec.LoadOptions{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := e.Observe(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := reconcile.Up(p, obs)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Apply(ctx, p, plan, ApplyOptions{Wait: true, WaitTimeout: time.Minute}, func(reconcile.Progress) {}); err != nil {
		t.Fatal(err)
	}
	live, err := e.Live(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if items := drift.Diff(p, live); len(items) != 0 {
		t.Fatalf("a fresh environment drifts:\n%s", render(items))
	}

	// docker update, a network disconnected, a foreign container attached.
	web := name + "-web-1"
	if _, err := e.cli.ContainerUpdate(ctx, web, container.UpdateConfig{Resources: container.Resources{Memory: 256 << 20, MemorySwap: -1}}); err != nil {
		t.Fatal(err)
	}
	if err := e.cli.NetworkDisconnect(ctx, name+"_front", web, false); err != nil {
		t.Fatal(err)
	}
	if live, err = e.Live(ctx, p); err != nil {
		t.Fatal(err)
	}
	got := render(drift.Diff(p, live))
	for _, want := range []string{
		`web /deploy/resources/limits/memory added: (none) -> "256m"`,
		`web /networks/front removed: "` + name + `_front" -> (none)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("want %s in\n%s", want, got)
		}
	}
}

func render(items []drift.Item) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(it.String() + "\n")
	}
	return b.String()
}
