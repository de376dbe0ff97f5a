package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/berthdev/berth/internal/gitsrc"
)

// benchGit: list the commits touching a definition in a 10,000-commit repo,
// and materialise a 10,000-file definition against `git archive | tar -x`
// of the same tree, in the same run.
func benchGit() {
	dir, err := os.MkdirTemp("", "berth-bench-git-")
	check(err)
	defer gitsrc.Remove(dir)
	ctx := context.Background()

	// Log: 10,000 commits, every third touching environments/shop.
	logRepo := filepath.Join(dir, "log")
	check(fastImport(logRepo, writeHistory(10000)))
	const logRuns = 7
	var cold, warm, peer []time.Duration
	var n int
	for i := 0; i < logRuns; i++ {
		runtime.GC()
		start := time.Now()
		r, err := gitsrc.Open(ctx, gitsrc.Source{Path: logRepo}, "")
		check(err)
		cs, err := r.Log(ctx, "main", "environments/shop", 0)
		check(err)
		cold = append(cold, time.Since(start))
		start = time.Now()
		_, err = r.Log(ctx, "main", "environments/shop", 0)
		check(err)
		warm = append(warm, time.Since(start))
		check(r.Close())
		n = len(cs)
		start = time.Now()
		check(gitQuiet(logRepo, "log", "--format=%H %an %ae %at %s", "main", "--", "environments/shop"))
		peer = append(peer, time.Since(start))
	}
	fmt.Printf("list the commits touching a definition (10,000 commits, go-git)%s\n", loadNote())
	fmt.Printf("  berth log, repo just opened %8.1f ms   target <= 200 ms   %s   (%d commits listed)\n", ms(med(cold)), verdict(med(cold) <= 200*time.Millisecond), n)
	fmt.Printf("  berth log, repo kept open   %8.1f ms\n", ms(med(warm)))
	fmt.Printf("  git log -- path (reference) %8.1f ms   berth just opened / git %.2fx\n", ms(med(peer)), ratio(med(cold), med(peer)))
	fmt.Println()

	// Materialise: one commit with 10,000 files under environments/big.
	treeRepo := filepath.Join(dir, "tree")
	check(fastImport(treeRepo, writeBigTree(10000)))
	r, err := gitsrc.Open(ctx, gitsrc.Source{Path: treeRepo}, "")
	check(err)
	defer r.Close()
	c, err := r.Resolve("main")
	check(err)
	const matRuns = 5
	var berth, archive []time.Duration
	out := filepath.Join(dir, "out")
	doBerth := func() time.Duration {
		root := filepath.Join(out, "berth")
		runtime.GC()
		start := time.Now()
		_, err := r.Materialise(ctx, c, "environments/big", root)
		check(err)
		d := time.Since(start)
		check(gitsrc.Remove(root))
		return d
	}
	doArchive := func() time.Duration {
		root := filepath.Join(out, "archive")
		check(os.MkdirAll(root, 0o755))
		runtime.GC()
		start := time.Now()
		cmd := exec.Command("sh", "-c", "git archive "+c.Hash+" environments/big | tar -x -C "+root)
		cmd.Dir = treeRepo
		b, err := cmd.CombinedOutput()
		if err != nil {
			check(fmt.Errorf("git archive | tar -x: %w\n%s", err, b))
		}
		d := time.Since(start)
		check(os.RemoveAll(root))
		return d
	}
	doBerth()
	doArchive()
	for i := 0; i < matRuns; i++ {
		if i%2 == 0 {
			berth = append(berth, doBerth())
			archive = append(archive, doArchive())
		} else {
			archive = append(archive, doArchive())
			berth = append(berth, doBerth())
		}
	}
	b, a := med(berth), med(archive)
	fmt.Printf("materialise a 10,000-file definition (read-only workspace keyed by tree hash)%s\n", loadNote())
	fmt.Printf("  berth %7.1f ms   git archive | tar -x %7.1f ms   ratio %.2fx   target <= 1.0x   %s\n",
		ms(b), ms(a), ratio(b, a), verdict(ratio(b, a) <= 1.0))
	fmt.Println()
}

// fastImport makes a bare repo at dir from a fast-import stream.
func fastImport(dir string, stream string) error {
	if err := gitQuiet("", "init", "-q", "--bare", "-b", "main", dir); err != nil {
		return err
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Env = gitBenchEnv()
	cmd.Stdin = strings.NewReader(stream)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git fast-import: %w\n%s", err, b)
	}
	return nil
}

func gitQuiet(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitBenchEnv()
	cmd.Stdout = nil
	if b, err := cmd.Output(); err != nil {
		return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

func gitBenchEnv() []string {
	return append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
}

// writeHistory is a fast-import stream of n commits on main, each changing
// one file: every third a file of environments/shop, the others files
// elsewhere (another definition, sources in 50 folders).
func writeHistory(n int) string {
	var sb strings.Builder
	w := bufio.NewWriter(&sb)
	for i := 1; i <= n; i++ {
		var path string
		switch {
		case i%3 == 0:
			path = fmt.Sprintf("environments/shop/%s", []string{"berth.yaml", "compose.yaml", "web/Dockerfile"}[i%9/3])
		case i%3 == 1:
			path = fmt.Sprintf("src/pkg%02d/file%d.go", i%50, i%7)
		default:
			path = fmt.Sprintf("environments/blog/conf/%d.yaml", i%5)
		}
		content := fmt.Sprintf("change %d\n", i)
		msg := fmt.Sprintf("change %d to %s\n", i, path)
		fmt.Fprintf(w, "commit refs/heads/main\nmark :%d\n", i)
		fmt.Fprintf(w, "author Ada <ada@example.com> %d +0000\n", 1700000000+i*60)
		fmt.Fprintf(w, "committer Ada <ada@example.com> %d +0000\n", 1700000000+i*60)
		fmt.Fprintf(w, "data %d\n%s", len(msg), msg)
		if i > 1 {
			fmt.Fprintf(w, "from :%d\n", i-1)
		}
		fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", path, len(content), content)
	}
	w.Flush()
	return sb.String()
}

// writeBigTree is a fast-import stream of one commit holding n small files
// of varied sizes under environments/big, three folders deep, a few of
// them executable.
func writeBigTree(n int) string {
	var sb strings.Builder
	w := bufio.NewWriter(&sb)
	fmt.Fprintf(w, "commit refs/heads/main\n")
	fmt.Fprintf(w, "author Ada <ada@example.com> 1700000000 +0000\ncommitter Ada <ada@example.com> 1700000000 +0000\n")
	fmt.Fprintf(w, "data 9\nbig tree\n")
	seed := uint32(1)
	for i := 0; i < n; i++ {
		seed = seed*1664525 + 1013904223
		size := int(seed>>20) % 4096
		path := fmt.Sprintf("environments/big/a%d/b%d/c%d/f%05d.txt", i%10, i/10%10, i/100%10, i)
		mode := "100644"
		if i%97 == 0 {
			mode = "100755"
		}
		line := fmt.Sprintf("file %d line\n", i)
		content := strings.Repeat(line, size/len(line)+1)[:size]
		fmt.Fprintf(w, "M %s inline %s\ndata %d\n%s\n", mode, path, len(content), content)
	}
	w.Flush()
	return sb.String()
}

// loadNote names the machine's load average when it is above its core
// count: the times above are then inflated, the ratios less so.
func loadNote() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	var load float64
	if _, err := fmt.Sscan(string(b), &load); err != nil || load <= float64(runtime.NumCPU()) {
		return ""
	}
	return fmt.Sprintf(" [load average %.1f on %d cores]", load, runtime.NumCPU())
}
