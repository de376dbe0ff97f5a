package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// benchDeploy: a deploy that changes one of six services, against
// recreating that one container by hand with the docker CLI (stop, remove,
// run, until it runs), in the same run, alternating.
func benchDeploy(repo string) {
	tmp, bin := buildCLI(repo, "deploy")
	defer os.RemoveAll(tmp)

	// A definitions repo with two revisions of a six-service definition:
	// they differ in one service's environment.
	defs := filepath.Join(tmp, "defs")
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = defs
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com")
		out, err := cmd.CombinedOutput()
		check(errIf(err, out))
		return strings.TrimSpace(string(out))
	}
	check(os.MkdirAll(filepath.Join(defs, "environments", "six"), 0o755))
	git("init", "-q", "-b", "main")
	revision := func(v string) string {
		var b strings.Builder
		b.WriteString("services:\n")
		for i := 1; i <= 6; i++ {
			val := "1"
			if i == 3 {
				val = v
			}
			fmt.Fprintf(&b, "  s%d:\n    image: berth-test/probe:latest\n    command: [\"serve\"]\n    environment:\n      V: %q\n", i, val)
		}
		dir := filepath.Join(defs, "environments", "six")
		check(os.WriteFile(filepath.Join(dir, "berth.yaml"), []byte("name: six\n"), 0o644))
		check(os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(b.String()), 0o644))
		git("add", "-A")
		git("commit", "-q", "-m", "s3 V="+v)
		return git("rev-parse", "HEAD")
	}
	revA, revB := revision("a"), revision("b")

	env := append(os.Environ(), "BERTH_STATE_DIR="+filepath.Join(tmp, "state"), "XDG_CONFIG_HOME="+filepath.Join(tmp, "config"))
	const name = "bench-deploy"
	berth := func(args ...string) {
		check(run(env, bin, append([]string{"--repo", defs, "--definitions", filepath.Join(defs, "environments")}, args...)...))
	}
	defer run(env, bin, "--repo", defs, "down", name)
	_ = run(env, bin, "--repo", defs, "down", name)
	berth("deploy", "six", revA, "--as", name, "--yes")

	// The same container by hand: a seventh, named apart, on the same
	// network, with the same command and environment.
	hand := name + "-by-hand"
	network := name + "_default"
	_ = exec.Command("docker", "rm", "-f", hand).Run()
	defer exec.Command("docker", "rm", "-f", hand).Run()
	byHand := func(v string) {
		_ = exec.Command("docker", "stop", hand).Run()
		_ = exec.Command("docker", "rm", hand).Run()
		check(run(nil, "docker", "run", "-d", "--name", hand, "--network", network, "-e", "V="+v, "berth-test/probe:latest", "serve"))
		for {
			out, err := exec.Command("docker", "inspect", "-f", "{{.State.Running}}", hand).Output()
			check(err)
			if strings.TrimSpace(string(out)) == "true" {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	byHand("a")

	const rounds = 5
	var deploys, hands []time.Duration
	recreated := 0
	for i := 0; i < rounds; i++ {
		rev, v := revB, "b"
		if i%2 == 1 {
			rev, v = revA, "a"
		}
		before := containerIDsOf(name)
		start := time.Now()
		berth("deploy", name, rev, "--yes")
		deploys = append(deploys, time.Since(start))
		after := containerIDsOf(name)
		for svc, id := range after {
			if before[svc] != id {
				recreated++
			}
		}
		start = time.Now()
		byHand(v)
		hands = append(hands, time.Since(start))
	}
	d, h := med(deploys), med(hands)
	fmt.Println("deploy a revision that changes one of six services (probe image; CLI process included)")
	fmt.Printf("  containers recreated per deploy   %.1f   (want exactly 1)\n", float64(recreated)/rounds)
	fmt.Printf("  berth deploy %7.3f s   by hand (docker stop, rm, run) %7.3f s   ratio %.2fx   target <= 1.2x   %s\n",
		d.Seconds(), h.Seconds(), ratio(d, h), verdict(ratio(d, h) <= 1.2 && recreated == rounds))
	fmt.Println()
}

func containerIDsOf(project string) map[string]string {
	out, err := exec.Command("docker", "ps", "-a", "--filter", "label=com.docker.compose.project="+project,
		"--format", `{{.Label "com.docker.compose.service"}} {{.ID}}`).Output()
	check(err)
	ids := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			ids[f[0]] = f[1]
		}
	}
	return ids
}

func errIf(err error, out []byte) error {
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}
