// Command bench measures Berth against its peers on this machine, in the
// same run, and prints ratios (make bench). Peers: docker compose (when it
// is on PATH) for bringing the example up; compose-go's own load for
// planning; the engine's classic builder for BuildKit builds. Figures are medians of several runs; nothing here asserts a
// time: the targets are printed next to the ratios.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

var (
	runs     = flag.Int("runs", 3, "cold ups per tool")
	noops    = flag.Int("noops", 3, "no-op ups after each cold up")
	planRuns = flag.Int("plan-runs", 20, "loads of the 100-service project")
	only     = flag.String("only", "", "run only these sections (comma-separated: plan,git,trust,up,corpus,deploy,ui,drift,db,build,develop,dayone)")
	driftCPU = flag.String("drift-cpuprofile", "", "write a CPU profile of the drift section's full checks to this file")
	idleCPU  = flag.String("drift-idle-cpuprofile", "", "write a CPU profile of the drift section's idle loop to this file")
)

func main() {
	flag.Parse()
	repo, err := repoRoot()
	check(err)
	// Sections come from -only or as arguments (go run ./bench db).
	sections := flag.Args()
	if *only != "" {
		sections = append(sections, strings.Split(*only, ",")...)
	}
	want := func(s string) bool { return len(sections) == 0 || slices.Contains(sections, s) }
	fmt.Println("Berth benchmarks (medians; ratio = Berth / peer, lower is better)")
	fmt.Println()
	if want("plan") {
		benchPlan()
	}
	if want("git") {
		benchGit()
	}
	if want("trust") {
		benchTrust(repo) // trust.go
	}
	if want("up") {
		benchUp(repo)
	}
	if want("secrets") {
		benchSecrets() // secrets.go
	}
	if want("corpus") {
		benchCorpus(repo) // corpus.go
	}
	if want("deploy") {
		benchDeploy(repo)
	}
	if want("ui") {
		benchUI(repo)
	}
	if want("drift") {
		benchDrift()
	}
	if want("db") {
		benchDB() // db.go
	}
	if want("build") {
		benchBuild(repo) // build.go
	}
	if want("develop") {
		benchDevelop() // develop.go
	}
	if want("dayone") {
		benchDayOne(repo) // dayone.go
	}
}

// benchPlan: load and plan a generated 100-service project, against
// compose-go's own load of the same files.
func benchPlan() {
	dir, err := os.MkdirTemp("", "berth-bench-plan-")
	check(err)
	defer os.RemoveAll(dir)
	check(writeProject(dir, 100))
	ctx := context.Background()

	loadCompose := func() { check(spec.LoadComposeOnly(ctx, dir)) }
	loadBerth := func() {
		p, err := spec.LoadDefinition(ctx, dir, spec.LoadOptions{})
		check(err)
		_, err = reconcile.Up(p, reconcile.Observed{Project: p.Name})
		check(err)
	}
	// Alternate the two so that whatever else the machine does weighs on
	// both alike.
	var cs, bs []time.Duration
	loadCompose()
	loadBerth()
	for i := 0; i < *planRuns; i++ {
		first, second, fs, ss := loadCompose, loadBerth, &cs, &bs
		if i%2 == 1 {
			first, second, fs, ss = loadBerth, loadCompose, &bs, &cs
		}
		runtime.GC()
		start := time.Now()
		first()
		*fs = append(*fs, time.Since(start))
		runtime.GC()
		start = time.Now()
		second()
		*ss = append(*ss, time.Since(start))
	}
	compose, berth := med(cs), med(bs)
	fmt.Println("plan a 100-service project (load + normalise + hash + plan, no engine)")
	fmt.Printf("  compose-go load only   %8.1f ms\n", ms(compose))
	fmt.Printf("  berth load and plan    %8.1f ms\n", ms(berth))
	fmt.Printf("  berth overhead         %8.1f ms   target <= 50 ms   %s\n", ms(berth-compose), verdict(berth-compose <= 50*time.Millisecond))
	fmt.Println()
}

func writeProject(dir string, n int) error {
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `  svc%03d:
    image: berth-test/probe:latest
    command: ["serve"]
    environment:
      INDEX: "%d"
      PEER: svc%03d
    ports: ["%d:8080"]
    volumes: ["data%03d:/data", "./conf:/conf:ro"]
    networks: [front, back]
    healthcheck:
      test: ["CMD", "/probe", "health"]
      interval: 5s
    restart: unless-stopped
`, i, i, (i+1)%n, 20000+i, i)
		if i > 0 {
			fmt.Fprintf(&b, "    depends_on:\n      svc%03d: {condition: service_started}\n", i-1)
		}
	}
	b.WriteString("networks:\n  front: {}\n  back: {}\nvolumes:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  data%03d: {}\n", i)
	}
	if err := os.MkdirAll(filepath.Join(dir, "conf"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "berth.yaml"), []byte("name: bench\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(b.String()), 0o644)
}

// benchUp: cold and no-op up of the example, berth against docker compose.
func benchUp(repo string) {
	tmp, bin := buildCLI(repo, "up")
	defer os.RemoveAll(tmp)
	defs := filepath.Join(tmp, "environments")
	check(exec.Command("cp", "-a", filepath.Join(repo, "environments"), defs).Run())
	shop := filepath.Join(defs, "shop")
	port := freePort()
	env := append(os.Environ(), fmt.Sprintf("SHOP_WEB_PORT=%d", port), fmt.Sprintf("SHOP_DB_PORT=%d", freePort()))
	state := filepath.Join(tmp, "state")

	// --trust: the first up records the grant; every later one finds it in
	// the store, as a user's up would.
	berthUp := func() error {
		return run(env, bin, "--definitions", defs, "--state-dir", state, "--trust", "up", "shop", "--as", "bench-berth")
	}
	berthDown := func() error {
		return run(env, bin, "--definitions", defs, "--state-dir", state, "down", "bench-berth", "--volumes")
	}
	peer := exec.Command("docker", "compose", "version").Run() == nil
	composeArgs := []string{"compose", "-p", "bench-compose", "--project-directory", shop, "-f", filepath.Join(shop, "compose.yaml")}
	composeUp := func() error { return run(env, "docker", append(composeArgs, "up", "-d", "--wait")...) }
	composeDown := func() error { return run(env, "docker", append(composeArgs, "down", "-v")...) }

	// Warm up: build the images each tool builds, then start from nothing.
	fmt.Fprintln(os.Stderr, "bench: warming up (builds the example's images once per tool)")
	_ = berthDown()
	check(berthUp())
	check(berthDown())
	if peer {
		_ = composeDown()
		check(composeUp())
		check(composeDown())
	}

	// Alternate the tools run by run, so that whatever else the machine
	// does weighs on both alike.
	type tool struct {
		up, down    func() error
		cold, noops []time.Duration
	}
	tools := []*tool{{up: berthUp, down: berthDown}}
	if peer {
		tools = append(tools, &tool{up: composeUp, down: composeDown})
	}
	for i := 0; i < *runs; i++ {
		for _, t := range tools {
			start := time.Now()
			check(t.up())
			t.cold = append(t.cold, time.Since(start))
			for j := 0; j < *noops; j++ {
				start := time.Now()
				check(t.up())
				t.noops = append(t.noops, time.Since(start))
			}
			check(t.down())
		}
	}
	bCold, bNoop := med(tools[0].cold), med(tools[0].noops)
	fmt.Println("bring the shop example up (5 services, images present, wait for healthy)")
	if !peer {
		fmt.Println("  peer missing: docker compose is not on PATH; Berth's own figures:")
		fmt.Printf("  cold up   berth %7.2f s\n", bCold.Seconds())
		fmt.Printf("  no-op up  berth %7.3f s   target <= 60 ms   %s\n", bNoop.Seconds(), verdict(bNoop <= 60*time.Millisecond))
		return
	}
	cCold, cNoop := med(tools[1].cold), med(tools[1].noops)
	fmt.Printf("  cold up   berth %7.2f s   compose %7.2f s   ratio %.2fx   target <= 1.0x   %s\n",
		bCold.Seconds(), cCold.Seconds(), ratio(bCold, cCold), verdict(ratio(bCold, cCold) <= 1.0))
	fmt.Printf("  no-op up  berth %7.3f s   compose %7.3f s   ratio %.2fx   target <= 0.5x and <= 60 ms   %s\n",
		bNoop.Seconds(), cNoop.Seconds(), ratio(bNoop, cNoop), verdict(ratio(bNoop, cNoop) <= 0.5 && bNoop <= 60*time.Millisecond))
}

// buildCLI builds the berth command line into a new temporary folder and
// returns the folder (the caller removes it) and the binary's path.
func buildCLI(repo, section string) (tmp, bin string) {
	tmp, err := os.MkdirTemp("", "berth-bench-"+section+"-")
	check(err)
	bin = filepath.Join(tmp, "berth")
	build := exec.Command("go", "build", "-tags", "nogui", "-o", bin, ".")
	build.Dir, build.Stdout, build.Stderr = repo, os.Stderr, os.Stderr
	check(build.Run())
	return tmp, bin
}

func run(env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func med(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod above the current folder")
		}
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
