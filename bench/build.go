package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/berthdev/berth/internal/engine"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// benchBuild: the shop's API image (environments/shop, the service with a
// build section) built through the engine's BuildKit, against the classic
// builder on the same Dockerfile through the same engine API, in the same
// run, alternating. Cold: the image removed, the engine's build cache
// pruned before each build, and the build made with no_cache (the classic
// builder's cache is made of parent images, which other images built from
// the same Dockerfile keep: only no_cache makes it cold). Warm: nothing
// changed since the last build.
func benchBuild(repo string) {
	ctx := context.Background()
	p, err := spec.LoadDefinition(ctx, filepath.Join(repo, "environments", "shop"), spec.LoadOptions{Name: "bench-build"})
	check(err)
	var svc *spec.Service
	for i := range p.Services {
		if p.Services[i].Build != nil {
			svc = &p.Services[i]
			break
		}
	}
	if svc == nil {
		check(fmt.Errorf("environments/shop has no service with a build section"))
	}
	bk, err := engine.Connect(ctx, engine.Options{})
	check(err)
	defer bk.Close()
	classic, err := engine.Connect(ctx, engine.Options{})
	check(err)
	defer classic.Close()
	classic.UseClassicBuilder()

	type builder struct {
		name       string
		e          *engine.Engine
		ref        string
		cold, warm []time.Duration
	}
	builders := []*builder{
		{name: "buildkit", e: bk, ref: "berth-bench/build-buildkit:latest"},
		{name: "classic", e: classic, ref: "berth-bench/build-classic:latest"},
	}
	cold := *p
	cold.Services = slices.Clone(p.Services)
	for i := range cold.Services {
		if cold.Services[i].Name == svc.Name {
			b := *svc.Build
			b.NoCache = true
			cold.Services[i].Build = &b
		}
	}
	build := func(b *builder, p *spec.Project) time.Duration {
		plan := reconcile.Plan{Project: p.Name, Ops: []reconcile.Op{{ID: 1, Kind: reconcile.OpBuildImage, Resource: b.ref, Service: svc.Name, Cause: "bench"}}}
		start := time.Now()
		check(b.e.Apply(ctx, p, plan, engine.ApplyOptions{}, nil))
		return time.Since(start)
	}
	clean := func() {
		for _, b := range builders {
			_ = exec.Command("docker", "image", "rm", "-f", b.ref).Run()
		}
		check(run(nil, "docker", "builder", "prune", "-af"))
	}
	defer clean()

	fmt.Fprintf(os.Stderr, "bench: building %s's image cold and warm with each builder (%d runs each)\n", svc.Name, *runs)
	load := loadAvg()
	for i := 0; i < *runs; i++ {
		order := builders
		if i%2 == 1 {
			order = []*builder{builders[1], builders[0]}
		}
		for _, b := range order {
			clean()
			b.cold = append(b.cold, build(b, &cold))
		}
	}
	for _, b := range builders {
		build(b, p) // the cache a build without no_cache leaves
	}
	for i := 0; i < *noops+2; i++ {
		order := builders
		if i%2 == 1 {
			order = []*builder{builders[1], builders[0]}
		}
		for _, b := range order {
			b.warm = append(b.warm, build(b, p))
		}
	}
	k, c := builders[0], builders[1]
	fmt.Printf("build the shop's %s image (Go module download and build, then a slim image; engine API in process)\n", svc.Name)
	fmt.Printf("  cold   buildkit %7.2f s   classic %7.2f s   ratio %.2fx\n", med(k.cold).Seconds(), med(c.cold).Seconds(), ratio(med(k.cold), med(c.cold)))
	fmt.Printf("  warm   buildkit %7.3f s   classic %7.3f s   ratio %.2fx\n", med(k.warm).Seconds(), med(c.warm).Seconds(), ratio(med(k.warm), med(c.warm)))
	fmt.Printf("  (load average at the start %s, at the end %s)\n", load, loadAvg())
	fmt.Println()
}
