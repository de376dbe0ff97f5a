package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// benchCorpus: cold up of the Compose corpus's largest project (web-stack:
// a proxy, two API replicas, a worker, a cache and PostgreSQL, with
// secrets, configs and health checks), berth against docker compose up -d
// --wait, the tools alternating run by run.
func benchCorpus(repo string) {
	tmp, bin := buildCLI(repo, "corpus")
	defer os.RemoveAll(tmp)
	defs := filepath.Join(tmp, "defs")
	check(os.MkdirAll(defs, 0o755))
	const name = "web-stack"
	check(exec.Command("cp", "-a", filepath.Join(repo, "internal", "corpus", "testdata", name), defs).Run())
	dir := filepath.Join(defs, name)
	state := filepath.Join(tmp, "state")
	env := os.Environ()

	berthUp := func() error {
		return run(env, bin, "--definitions", defs, "--state-dir", state, "--trust", "up", name, "--as", "bench-corpus-berth")
	}
	berthDown := func() error {
		return run(env, bin, "--definitions", defs, "--state-dir", state, "down", "bench-corpus-berth", "--volumes")
	}
	peer := exec.Command("docker", "compose", "version").Run() == nil
	composeArgs := []string{"compose", "-p", "bench-corpus-compose", "--project-directory", dir}
	composeUp := func() error { return run(env, "docker", append(composeArgs, "up", "-d", "--wait")...) }
	composeDown := func() error { return run(env, "docker", append(composeArgs, "down", "-v")...) }

	_ = berthDown()
	if peer {
		_ = composeDown()
	}
	var bs, cs []time.Duration
	for i := 0; i < *runs; i++ {
		start := time.Now()
		check(berthUp())
		bs = append(bs, time.Since(start))
		check(berthDown())
		if peer {
			start := time.Now()
			check(composeUp())
			cs = append(cs, time.Since(start))
			check(composeDown())
		}
	}
	b := med(bs)
	fmt.Printf("cold up of the corpus's largest project (web-stack: 6 services, 7 containers, secrets, configs, health gates)   load %s\n", loadAvg())
	if !peer {
		fmt.Println("  peer missing: docker compose is not on PATH; Berth's own figure:")
		fmt.Printf("  cold up   berth %7.2f s\n", b.Seconds())
		fmt.Println()
		return
	}
	c := med(cs)
	fmt.Printf("  cold up   berth %7.2f s   compose %7.2f s   ratio %.2fx   target <= 1.0x   %s\n",
		b.Seconds(), c.Seconds(), ratio(b, c), verdict(ratio(b, c) <= 1.0))
	fmt.Println()
}
