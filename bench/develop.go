package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/app/root"
	"github.com/berthdev/berth/internal/core"
)

// developEdits is how many edits each tool's figure is taken over.
const developEdits = 60

// developCompose is the definition both tools run: a service whose
// develop.watch syncs src/ into /app/src, and whose command notices a
// change of /app/src/edit.txt within 10 ms and prints its content with the
// time (the container shares the host's clock: a local engine). Both tools
// are timed by the same observer, independent of either.
const developCompose = `services:
  app:
    image: debian:bookworm-slim
    stop_signal: SIGKILL
    command:
      - sh
      - -c
      - 'last=; while :; do c=; read -r c 2>/dev/null </app/src/edit.txt; if [ "$$c" != "$$last" ]; then echo "seen $$c $$(date +%s%N)"; last=$$c; fi; sleep 0.01; done'
    develop:
      watch:
        - {action: sync, path: ./src, target: /app/src}
`

// benchDevelop: live development, a file edited on the host to its
// content visible in the running container, with berth's watch (up
// --watch) and, when the docker compose plugin answers, docker compose
// watch on the same definition.
func benchDevelop() {
	tmp, err := os.MkdirTemp("", "berth-bench-develop-")
	check(err)
	defer os.RemoveAll(tmp)
	os.Setenv("BERTH_STATE_DIR", filepath.Join(tmp, "state"))
	defs := filepath.Join(tmp, "defs")
	dir := filepath.Join(defs, "dev")
	check(os.MkdirAll(filepath.Join(dir, "src"), 0o755))
	check(os.WriteFile(filepath.Join(dir, "berth.yaml"), []byte("name: dev\n"), 0o644))
	check(os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(developCompose), 0o644))
	edit := filepath.Join(dir, "src", "edit.txt")

	fmt.Printf("live development (develop.watch sync): a file edit to its content visible in the container, %d edits each\n", developEdits)
	fmt.Printf("  (load average at the start %s)\n", loadAvg())

	// Berth: the environment up, then the watch in process, as berth up
	// --watch runs it.
	r := root.New(root.Config{DefinitionsDir: defs})
	defer r.Close()
	bc := r.Core()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := "bench-dev-berth"
	_, err = bc.Up(ctx, core.UpRequest{Env: env, Definition: "dev", Wait: true}, nil)
	check(err)
	defer bc.Down(context.Background(), core.DownRequest{Env: env, Volumes: true}, nil)
	watching := make(chan struct{})
	done := make(chan error, 1)
	var once sync.Once
	go func() {
		done <- bc.Develop(ctx, env, core.DevOptions{}, func(ev core.DevEvent) {
			if ev.Action == core.DevWatching {
				once.Do(func() { close(watching) })
			}
		})
	}()
	select {
	case <-watching:
	case err := <-done:
		check(fmt.Errorf("berth watch ended: %v", err))
	}
	berthLat := timeEdits(env+"-app-1", edit, "b")
	cancel()
	<-done
	fmt.Printf("  berth           p50 %6.0f ms   p95 %6.0f ms   target p95 <= 300 ms   %s\n",
		ms(pct(berthLat, 50)), ms(pct(berthLat, 95)), verdict(pct(berthLat, 95) <= 300*time.Millisecond))

	// docker compose watch, the peer, on the same files.
	project := "bench-dev-compose"
	composeArgs := []string{"compose", "-p", project, "-f", filepath.Join(dir, "compose.yaml"), "--project-directory", dir}
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err != nil {
		fmt.Printf("  docker compose  not measured: the compose plugin does not answer (%s)\n", strings.TrimSpace(string(out)))
		fmt.Printf("  (load average at the end %s)\n\n", loadAvg())
		return
	}
	defer exec.Command("docker", append(composeArgs, "down", "-t", "0")...).Run()
	check(run(os.Environ(), "docker", append(composeArgs, "up", "-d", "--wait")...))
	check(os.WriteFile(edit, []byte("start\n"), 0o644))
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	cmd := exec.CommandContext(wctx, "docker", append(composeArgs, "watch", "--no-up")...)
	pipe, err := cmd.StdoutPipe()
	check(err)
	cmd.Stderr = cmd.Stdout
	check(cmd.Start())
	ready := make(chan struct{})
	var output strings.Builder
	var outMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pipe)
		closed := false
		for sc.Scan() {
			outMu.Lock()
			output.WriteString(sc.Text() + "\n")
			outMu.Unlock()
			if !closed && strings.Contains(sc.Text(), "Watch enabled") {
				closed = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		outMu.Lock()
		fmt.Printf("  docker compose  not measured: docker compose watch did not start within 60 s:\n%s", output.String())
		outMu.Unlock()
		fmt.Printf("  (load average at the end %s)\n\n", loadAvg())
		return
	}
	composeLat := timeEdits(project+"-app-1", edit, "c")
	wcancel()
	cmd.Wait()
	fmt.Printf("  docker compose  p50 %6.0f ms   p95 %6.0f ms   (docker compose watch, the dev build installed here)\n",
		ms(pct(composeLat, 50)), ms(pct(composeLat, 95)))
	fmt.Printf("  ratio berth / compose   p50 %.2fx   p95 %.2fx\n", ratio(pct(berthLat, 50), pct(composeLat, 50)), ratio(pct(berthLat, 95), pct(composeLat, 95)))
	fmt.Printf("  (load average at the end %s)\n\n", loadAvg())
}

// timeEdits writes edit developEdits times (after two warm-up edits) and
// returns, for each, the time from the write to the container's observer
// printing the new content. It reads the observer through docker logs.
func timeEdits(container, edit, tag string) []time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	logs := exec.CommandContext(ctx, "docker", "logs", "-f", "--since", "0s", container)
	pipe, err := logs.StdoutPipe()
	check(err)
	check(logs.Start())
	defer func() {
		cancel() // docker logs -f ends only when killed
		logs.Wait()
	}()
	seen := make(chan [2]string, 16)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 3 && f[0] == "seen" {
				seen <- [2]string{f[1], f[2]}
			}
		}
	}()
	await := func(want string) time.Time {
		deadline := time.After(30 * time.Second)
		for {
			select {
			case s := <-seen:
				if s[0] == want {
					ns, err := strconv.ParseInt(s[1], 10, 64)
					check(err)
					return time.Unix(0, ns)
				}
			case <-deadline:
				check(fmt.Errorf("%s never saw %q", container, want))
			}
		}
	}
	var lat []time.Duration
	for i := -2; i < developEdits; i++ {
		want := fmt.Sprintf("%s%d", tag, i+2)
		t0 := time.Now()
		check(os.WriteFile(edit, []byte(want+"\n"), 0o644))
		at := await(want)
		if i >= 0 {
			lat = append(lat, at.Sub(t0))
		}
	}
	return lat
}
