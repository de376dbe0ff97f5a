package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/berthdev/berth/app/root"
	"github.com/berthdev/berth/internal/core"
)

// benchSecrets: what stored secrets add to a no-op up: the same small
// environment from two definitions, one with its values written in, one
// declaring three secrets (set in the store) that interpolate the same
// values, each up once and then brought up again and again, alternating.
// The store is the one Berth picks here (the OS keyring when one answers,
// else the encrypted file); the line says which.
func benchSecrets() {
	tmp, err := os.MkdirTemp("", "berth-bench-secrets-")
	check(err)
	defer os.RemoveAll(tmp)
	defs := filepath.Join(tmp, "environments")
	compose := func(a, b, c string) string {
		return "services:\n  web:\n    image: berth-test/probe:latest\n    environment:\n      A: \"" + a + "\"\n      B: \"" + b + "\"\n      C: \"" + c + "\"\n"
	}
	for name, files := range map[string]map[string]string{
		"plain": {"berth.yaml": "name: plain\n", "compose.yaml": compose("alpha-value", "beta-value", "gamma-value")},
		"sealed": {"berth.yaml": "name: sealed\nsecrets:\n  - name: SA\n  - name: SB\n  - name: SC\n",
			"compose.yaml": compose("${SA}", "${SB}", "${SC}")},
	} {
		check(os.MkdirAll(filepath.Join(defs, name), 0o755))
		for f, content := range files {
			check(os.WriteFile(filepath.Join(defs, name, f), []byte(content), 0o644))
		}
	}
	ctx := context.Background()
	r := root.New(root.Config{DefinitionsDir: defs, StateDir: filepath.Join(tmp, "state")})
	defer r.Close()
	b := r.Core()
	ctx = core.AskTrust(ctx, func(context.Context, *core.TrustReview) bool { return true }, "bench")
	for name, v := range map[string]string{"SA": "alpha-value", "SB": "beta-value", "SC": "gamma-value"} {
		_, err := b.SetSecret(ctx, core.SecretRequest{Owner: "sealed", Name: name}, v)
		check(err)
	}
	list, err := b.ListSecrets(ctx, "sealed")
	check(err)
	envs := map[string]string{"plain": "bench-sec-plain", "sealed": "bench-sec-sealed"}
	defer func() {
		for _, env := range envs {
			_, _ = b.Down(ctx, core.DownRequest{Env: env, Volumes: true}, nil)
		}
	}()
	up := func(def string) time.Duration {
		runtime.GC()
		start := time.Now()
		res, err := b.Up(ctx, core.UpRequest{Env: envs[def], Definition: def, Wait: true}, nil)
		check(err)
		d := time.Since(start)
		if d > time.Second && len(res.Plan.Ops) == 0 {
			fmt.Fprintln(os.Stderr, "bench: a no-op up took", d)
		}
		return d
	}
	up("plain")
	up("sealed")
	var with, without []time.Duration
	for i := 0; i < 31; i++ {
		if i%2 == 0 {
			with = append(with, up("sealed"))
			without = append(without, up("plain"))
		} else {
			without = append(without, up("plain"))
			with = append(with, up("sealed"))
		}
	}
	w, wo := med(with), med(without)
	fmt.Printf("no-op up of one service, three values from stored secrets vs written in (store: %s)%s\n", strings.SplitN(list.Where, " (", 2)[0], loadNote())
	fmt.Printf("  no-op up, secrets %7.2f ms   no-op up, plain %7.2f ms   added %6.2f ms   target <= 10 ms   %s\n",
		ms(w), ms(wo), ms(w-wo), verdict(w-wo <= 10*time.Millisecond))
	fmt.Println()
}
