package spec

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeProject100 writes a definition with n services: images and builds,
// ports, named and bind volumes, environment with interpolation, health
// checks, dependencies and two networks.
func writeProject100(tb testing.TB, dir string, n int) {
	tb.Helper()
	var b strings.Builder
	b.WriteString("services:\n")
	for i := range n {
		fmt.Fprintf(&b, "  svc%03d:\n", i)
		if i%10 == 0 {
			b.WriteString("    build:\n      context: ./app\n      args: {VERSION: \"1\"}\n")
		} else {
			fmt.Fprintf(&b, "    image: example/svc%03d:1.0\n", i)
		}
		fmt.Fprintf(&b, `    command: ["run", "--port", "8080"]
    restart: unless-stopped
    environment:
      SERVICE: svc%03d
      LOG_LEVEL: ${LOG_LEVEL:-info}
      DATABASE_URL: postgres://app@db:5432/app
    ports: ["%d:8080"]
    volumes:
      - data%03d:/data
      - ./conf:/etc/app:ro
    depends_on:
      base:
        condition: service_healthy
    healthcheck:
      test: ["CMD", "app", "health"]
      interval: 5s
      timeout: 2s
      retries: 3
    networks: [front, back]
`, i, 20000+i, i)
	}
	b.WriteString(`  base:
    image: postgres:15
    healthcheck:
      test: ["CMD", "pg_isready"]
    networks: [back]
networks:
  front:
  back:
volumes:
`)
	for i := range n {
		fmt.Fprintf(&b, "  data%03d:\n", i)
	}
	files := map[string]string{
		"berth.yaml":     "name: big\n",
		"compose.yaml":   b.String(),
		"app/Dockerfile": "FROM scratch\nCOPY . /\n",
		"app/main.go":    "package main\n",
		"conf/app.conf":  "x=1\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func TestProject100Loads(t *testing.T) {
	dir := t.TempDir()
	writeProject100(t, dir, 100)
	p, err := LoadDefinition(context.Background(), dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Services) != 101 || len(p.Warnings) != 0 {
		t.Errorf("%d services, warnings %v", len(p.Services), p.Warnings)
	}
}

// BenchmarkLoad100 measures LoadDefinition on a 100-service definition;
// compare with BenchmarkComposeGoOnly for Berth's own cost.
func BenchmarkLoad100(b *testing.B) {
	dir := b.TempDir()
	writeProject100(b, dir, 100)
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := LoadDefinition(ctx, dir, LoadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkComposeGoOnly measures compose-go loading the same files with
// the same options, and nothing else.
func BenchmarkComposeGoOnly(b *testing.B) {
	dir := b.TempDir()
	writeProject100(b, dir, 100)
	ctx := context.Background()
	files := []string{filepath.Join(dir, "compose.yaml")}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := loadCompose(ctx, dir, files, "big", nil, nil, nil, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU adds the process CPU time per operation (cpu-ns/op) to a
// benchmark's results: call it right before the loop, defer its result.
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		if used := processCPU() - start; used > 0 && b.N > 0 {
			b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkPositionIndex100 measures what Berth adds on the side of the
// load: parsing the file for positions and walking it for unsupported keys
// (done in parallel with compose-go by LoadDefinition).
func BenchmarkPositionIndex100(b *testing.B) {
	dir := b.TempDir()
	writeProject100(b, dir, 100)
	files := []string{filepath.Join(dir, "compose.yaml")}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		src := parseSources(dir, files)
		for _, f := range src.files {
			unsupportedKeys(f)
		}
	}
}

// BenchmarkNormalize100 measures turning compose-go's project into Berth's,
// hashes included.
func BenchmarkNormalize100(b *testing.B) {
	dir := b.TempDir()
	writeProject100(b, dir, 100)
	ctx := context.Background()
	files := []string{filepath.Join(dir, "compose.yaml")}
	cp, err := loadCompose(ctx, dir, files, "big", nil, nil, nil, "")
	if err != nil {
		b.Fatal(err)
	}
	src := parseSources(dir, files)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		z := &normalizer{src: src}
		p := z.project(cp)
		h := &buildHasher{}
		for i := range p.Services {
			if s := &p.Services[i]; s.Build != nil {
				if s.BuildHash, err = h.hash(ctx, s.Build); err != nil {
					b.Fatal(err)
				}
			}
			p.Services[i].Hash = ServiceHash(p.Services[i])
		}
	}
}
