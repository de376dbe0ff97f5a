package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/berthdev/berth/app/root"
	"github.com/berthdev/berth/internal/core"
)

// benchTrust: what the trust check adds to a plan of the shop example
// (the grant looked up in the store, the repo's identity, the review of
// the definition's capabilities), against a plan by a core with no trust
// settings, in the same run, alternating.
func benchTrust(repo string) {
	tmp, err := os.MkdirTemp("", "berth-bench-trust-")
	check(err)
	defer os.RemoveAll(tmp)
	defs := filepath.Join(tmp, "environments")
	check(exec.Command("cp", "-a", filepath.Join(repo, "environments"), defs).Run())
	ctx := context.Background()

	r := root.New(root.Config{DefinitionsDir: defs, StateDir: filepath.Join(tmp, "state")})
	defer r.Close()
	trusted := r.Core()
	if _, err := trusted.Trust(ctx, core.TrustRequest{Definition: "shop", How: "bench"}); err != nil {
		check(err)
	}
	bare := root.Open(root.Config{DefinitionsDir: defs})
	req := core.UpRequest{Env: "bench-trust", Definition: "shop"}
	plan := func(b *core.Berth) time.Duration {
		runtime.GC()
		start := time.Now()
		_, err := b.Plan(ctx, req)
		check(err)
		return time.Since(start)
	}
	plan(trusted)
	plan(bare)
	var with, without []time.Duration
	for i := 0; i < 21; i++ {
		if i%2 == 0 {
			with = append(with, plan(trusted))
			without = append(without, plan(bare))
		} else {
			without = append(without, plan(bare))
			with = append(with, plan(trusted))
		}
	}
	w, wo := med(with), med(without)
	fmt.Printf("plan the shop example with its trust checked (grant in the store, identity, review)%s\n", loadNote())
	fmt.Printf("  plan, trust checked %7.2f ms   plan, no trust settings %7.2f ms   added %6.2f ms   target <= 5 ms   %s\n",
		ms(w), ms(wo), ms(w-wo), verdict(w-wo <= 5*time.Millisecond))
	fmt.Println()
}
