package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/app/root"
	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/drift"
)

// benchDrift: how fast drift made outside Berth is reported by the drift
// loop (a workspace file edited; a container killed), a full check of 20
// environments of 10 services each (against docker inspect of the same
// 200 containers, the CLI's own round of engine calls), and the CPU an
// idle drift loop uses.
func benchDrift() {
	tmp, err := os.MkdirTemp("", "berth-bench-drift-")
	check(err)
	defer os.RemoveAll(tmp)
	os.Setenv("BERTH_STATE_DIR", filepath.Join(tmp, "state"))
	defs := filepath.Join(tmp, "defs")
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = defs
		cmd.Env = append(gitBenchEnv(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com",
			"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com")
		out, err := cmd.CombinedOutput()
		check(errIf(err, out))
		return strings.TrimSpace(string(out))
	}
	dir := filepath.Join(defs, "environments", "ten")
	check(os.MkdirAll(filepath.Join(dir, "conf"), 0o755))
	git("init", "-q", "-b", "main")
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "  s%02d:\n    image: berth-test/probe:latest\n    command: [\"sleep\"]\n    environment:\n      N: %q\n", i, strconv.Itoa(i))
		if i == 1 {
			b.WriteString("    volumes:\n      - ./conf/app.conf:/conf/app.conf:ro\n")
		}
	}
	check(os.WriteFile(filepath.Join(dir, "berth.yaml"), []byte("name: ten\n"), 0o644))
	check(os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(b.String()), 0o644))
	check(os.WriteFile(filepath.Join(dir, "conf", "app.conf"), []byte("a=1\n"), 0o644))
	// solo: one service with its own workspace, for the latencies (the
	// twenty environments of ten share one workspace, so an edit there
	// drifts all of them at once).
	solo := filepath.Join(defs, "environments", "solo")
	check(os.MkdirAll(filepath.Join(solo, "conf"), 0o755))
	check(os.WriteFile(filepath.Join(solo, "berth.yaml"), []byte("name: solo\n"), 0o644))
	check(os.WriteFile(filepath.Join(solo, "compose.yaml"), []byte("services:\n  s05:\n    image: berth-test/probe:latest\n    command: [\"sleep\"]\n    volumes:\n      - ./conf/app.conf:/conf/app.conf:ro\n"), 0o644))
	check(os.WriteFile(filepath.Join(solo, "conf", "app.conf"), []byte("solo\n"), 0o644))
	git("add", "-A")
	git("commit", "-q", "-m", "ten services, and solo")

	r := root.New(root.Config{Repo: defs, DefinitionsDir: filepath.Join(defs, "environments")})
	defer r.Close()
	bc := r.Core()
	ctx := context.Background()

	const envs = 20
	names := make([]string, envs)
	for i := range names {
		names[i] = fmt.Sprintf("bench-drift-%02d", i)
	}
	const soloEnv = "bench-drift-solo"
	defer func() {
		for _, n := range append(names, soloEnv) {
			bc.Down(context.Background(), core.DownRequest{Env: n, Volumes: true}, nil)
		}
	}()
	fmt.Printf("drift (%d environments x 10 services of the probe image)\n", envs)
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := bc.Deploy(ctx, core.DeployRequest{Env: n, Definition: "ten", Yes: true}, nil, nil)
			check(err)
		}()
	}
	wg.Wait()
	_, err = bc.Deploy(ctx, core.DeployRequest{Env: soloEnv, Definition: "solo", Yes: true}, nil, nil)
	check(err)
	fmt.Printf("  set up in %.1f s\n", time.Since(start).Seconds())

	// The drift loop, reporting into a channel.
	reports := make(chan *core.DriftReport, 1024)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		bc.WatchDrift(wctx, core.DriftWatchOptions{Resync: time.Hour}, func(c core.Change) {
			if c.Kind == core.ChangeDrift && c.Env == soloEnv {
				reports <- c.Drift
			}
		})
	}()
	defer func() { cancel(); <-done }()
	await := func(ok func(*core.DriftReport) bool) time.Time {
		deadline := time.After(30 * time.Second)
		for {
			select {
			case r := <-reports:
				if ok(r) {
					return time.Now()
				}
			case <-deadline:
				check(fmt.Errorf("drift loop: no report in 30 s"))
			}
		}
	}
	inSync := func(r *core.DriftReport) bool { return r.InSync }
	await(inSync)
	time.Sleep(5 * time.Second) // the first round of checks done, workspace watches in place

	// Full check of every environment in one round (as the loop does),
	// against docker inspect of the same containers.
	checkAll := func(fresh bool) {
		reps, errs := bc.CheckMany(ctx, names, fresh)
		for _, n := range names {
			check(errs[n])
			if !reps[n].InSync {
				check(fmt.Errorf("%s drifts right after deploy: %+v %+v", n, reps[n].Runtime, reps[n].Files))
			}
		}
	}
	var ids []string
	for _, n := range names {
		for _, id := range containerIDsOf(n) {
			ids = append(ids, id)
		}
	}
	inspectAll := func() {
		cmd := exec.Command("docker", append([]string{"inspect"}, ids...)...)
		out, err := cmd.CombinedOutput()
		check(errIf(err, out))
	}
	checkAll(true) // warm: workspaces materialised, desired states cached
	var full, cached, peer []time.Duration
	if *driftCPU != "" {
		f, err := os.Create(*driftCPU)
		check(err)
		check(pprof.StartCPUProfile(f))
		for range 5 {
			checkAll(true)
		}
		pprof.StopCPUProfile()
		check(f.Close())
	}
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		checkAll(true)
		full = append(full, time.Since(t0))
		t0 = time.Now()
		checkAll(false)
		cached = append(cached, time.Since(t0))
		t0 = time.Now()
		inspectAll()
		peer = append(peer, time.Since(t0))
	}
	fmt.Printf("  full check  berth, everything inspected anew (the resync) %7.1f ms   docker inspect of the %d containers %7.1f ms   ratio %.2fx   target <= 500 ms   %s\n",
		ms(med(full)), len(ids), ms(med(peer)), ratio(med(full), med(peer)), verdict(med(full) <= 500*time.Millisecond))
	fmt.Printf("  full check  berth, inspects kept by the event stream      %7.1f ms   ratio %.2fx   target <= 500 ms   %s\n",
		ms(med(cached)), ratio(med(cached), med(peer)), verdict(med(cached) <= 500*time.Millisecond))
	fmt.Printf("  (load average %s)\n", loadAvg())

	// Idle CPU of the loop watching 20 environments. The heap the full
	// checks above left is returned to the system first: otherwise the
	// runtime's scavenger does it during the idle window (most of what a
	// CPU profile of that window showed), which is the full checks' cost,
	// not idling's.
	debug.FreeOSMemory()
	var prof *os.File
	if *idleCPU != "" {
		prof, err = os.Create(*idleCPU)
		check(err)
		check(pprof.StartCPUProfile(prof))
	}
	u0, t0 := cpuTicks(), time.Now()
	time.Sleep(10 * time.Second)
	idle := float64(cpuTicks()-u0) / 100 / time.Since(t0).Seconds()
	if prof != nil {
		pprof.StopCPUProfile()
		check(prof.Close())
	}
	fmt.Printf("  idle loop   %.2f%% of a core over %.0f s (21 environments, 21 workspace watches; the engine is shared, others' events count)   target < 1%%   %s\n",
		idle*100, time.Since(t0).Seconds(), verdict(idle < 0.01))
	fmt.Printf("  (load average %s)\n", loadAvg())

	rep, err := bc.Check(ctx, soloEnv)
	check(err)
	conf := filepath.Join(rep.Workspace, "conf", "app.conf")
	var fileLat []time.Duration
	for i := 0; i < 15; i++ {
		t0 := time.Now()
		check(os.WriteFile(conf, []byte(fmt.Sprintf("a=%d\n", i+2)), 0o644))
		fileLat = append(fileLat, await(func(r *core.DriftReport) bool { return len(r.Files) > 0 }).Sub(t0))
		_, err := bc.Discard(ctx, soloEnv, nil)
		check(err)
		await(inSync)
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Printf("  file edit   reported p50 %6.0f ms   p95 %6.0f ms   target p95 <= 300 ms   %s\n",
		ms(pct(fileLat, 50)), ms(pct(fileLat, 95)), verdict(pct(fileLat, 95) <= 300*time.Millisecond))

	var stopLat, deathLat []time.Duration
	victim := soloEnv + "-s05-1"
	for i := 0; i < 10; i++ {
		t0 := time.Now()
		check(run(os.Environ(), "docker", "kill", victim))
		seen := await(func(r *core.DriftReport) bool {
			for _, it := range r.Runtime {
				if it.Kind == drift.KindStopped {
					return true
				}
			}
			return false
		})
		stopLat = append(stopLat, seen.Sub(t0))
		// The engine's own time of the death (same clock: a local
		// engine), without the docker CLI's start-up.
		out, err := exec.Command("docker", "inspect", "-f", "{{.State.FinishedAt}}", victim).CombinedOutput()
		check(errIf(err, out))
		died, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(out)))
		check(err)
		deathLat = append(deathLat, seen.Sub(died))
		check(run(os.Environ(), "docker", "start", victim))
		await(inSync)
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Printf("  container   killed outside, reported p50 %6.0f ms   p95 %6.0f ms   from docker kill's start (its CLI start-up included)\n",
		ms(pct(stopLat, 50)), ms(pct(stopLat, 95)))
	fmt.Printf("  container   killed outside, reported p50 %6.0f ms   p95 %6.0f ms   from the death the engine recorded   target p95 <= 1000 ms   %s\n",
		ms(pct(deathLat, 50)), ms(pct(deathLat, 95)), verdict(pct(deathLat, 95) <= time.Second))
	fmt.Printf("  (load average %s)\n", loadAvg())
	fmt.Println("  (for scale: Argo CD's default detection interval is up to 3 minutes)")
	fmt.Println()
}

// pct is the p-th percentile (nearest rank).
func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(i, len(s))-1)]
}

// cpuTicks is this process's user+system time in clock ticks (100 Hz).
func cpuTicks() int64 {
	b, err := os.ReadFile("/proc/self/stat")
	check(err)
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	k, _ := strconv.ParseInt(fields[12], 10, 64)
	return u + k
}
