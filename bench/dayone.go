package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// benchDayOne: a new hire's day one on this machine. From `berth open` of
// a clone of a definitions repo (clean state folder and settings each run,
// base images present) to the shop up and healthy with its database, and
// the same stack with `docker compose up -d --build --wait`; then the
// preflight alone (berth doctor), against its target of one second.
func benchDayOne(repo string) {
	tmp, bin := buildCLI(repo, "dayone")
	defer os.RemoveAll(tmp)
	origin := filepath.Join(tmp, "origin")
	check(os.MkdirAll(origin, 0o755))
	check(exec.Command("cp", "-a", filepath.Join(repo, "environments"), filepath.Join(origin, "environments")).Run())
	gitEnv := append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@example.com", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@example.com")
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "definitions"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = origin, gitEnv
		out, err := cmd.CombinedOutput()
		check(errIf(err, out))
	}
	clone := filepath.Join(tmp, "clone")
	out, err := exec.Command("git", "clone", "-q", origin, clone).CombinedOutput()
	check(errIf(err, out))
	shop := filepath.Join(clone, "environments", "shop")
	port := freePort()
	base := append(os.Environ(), fmt.Sprintf("SHOP_WEB_PORT=%d", port), fmt.Sprintf("SHOP_DB_PORT=%d", freePort()))
	homes := 0
	fresh := func() []string {
		homes++
		d := filepath.Join(tmp, fmt.Sprintf("home-%d", homes))
		return append(base, "BERTH_STATE_DIR="+filepath.Join(d, "state"), "XDG_CONFIG_HOME="+filepath.Join(d, "config"), "BERTH_DEFINITIONS=", "BERTH_SECRET_STORE=file")
	}
	var env []string
	berthOpen := func() error {
		env = fresh()
		return run(env, bin, "--trust", "open", clone, "shop", "--as", "bench-dayone")
	}
	berthDown := func() error {
		return run(env, bin, "--definitions", filepath.Join(clone, "environments"), "down", "bench-dayone", "--volumes")
	}
	peer := exec.Command("docker", "compose", "version").Run() == nil
	composeArgs := []string{"compose", "-p", "bench-dayone-compose", "--project-directory", shop, "-f", filepath.Join(shop, "compose.yaml")}
	composeUp := func() error { return run(base, "docker", append(composeArgs, "up", "-d", "--build", "--wait")...) }
	composeDown := func() error { return run(base, "docker", append(composeArgs, "down", "-v")...) }

	fmt.Fprintln(os.Stderr, "bench: day one: warming up (the example's images built once per tool)")
	env = fresh()
	_ = berthDown()
	check(berthOpen())
	check(berthDown())
	if peer {
		_ = composeDown()
		check(composeUp())
		check(composeDown())
	}
	var bs, cs []time.Duration
	for i := 0; i < *runs; i++ {
		start := time.Now()
		check(berthOpen())
		bs = append(bs, time.Since(start))
		check(berthDown())
		if peer {
			start = time.Now()
			check(composeUp())
			cs = append(cs, time.Since(start))
			check(composeDown())
		}
	}
	// The preflight alone, on a state folder where the shop is trusted.
	env = fresh()
	check(berthOpen())
	var pf []time.Duration
	for i := 0; i < 5; i++ {
		start := time.Now()
		err := run(env, bin, "--definitions", filepath.Join(clone, "environments"), "doctor", "shop", "--as", "bench-dayone-check")
		pf = append(pf, time.Since(start))
		check(err)
	}
	check(berthDown())

	fmt.Println("day one: berth open of a clone to the shop up with its database (clean state folder, base images present)")
	b := med(bs)
	if !peer {
		fmt.Println("  peer missing: docker compose is not on PATH; Berth's own figure:")
		fmt.Printf("  open to up  berth %7.2f s\n", b.Seconds())
	} else {
		c := med(cs)
		fmt.Printf("  open to up  berth %7.2f s   compose up --build --wait %7.2f s   ratio %.2fx   target <= 1.1x   %s\n",
			b.Seconds(), c.Seconds(), ratio(b, c), verdict(ratio(b, c) <= 1.1))
	}
	p := med(pf)
	fmt.Printf("  preflight   berth doctor shop %5.0f ms (whole command)   target <= 1 s   %s\n", float64(p.Microseconds())/1000, verdict(p <= time.Second))
}
