package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth/internal/spec"
)

// Preflight: before a long up, everything that would make it fail half-way
// and can be known in a second: the engine, trust, secrets, ports, images,
// disk and memory. Each check says what it found and, when it is not ok,
// what to do.

// Check statuses.
const (
	CheckOK   = "ok"
	CheckWarn = "warn" // the up will go on, differently than declared (a moved port) or at a risk
	CheckFail = "fail" // the up would fail: fix this first
	CheckSkip = "skip" // not checked (says why)
)

// Check is one preflight check.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	// Fix is what to do when the status is warn or fail.
	Fix string `json:"fix,omitempty"`
}

// PreflightRequest names the definition to check, run as Env (default:
// the definition's name) with Variant.
type PreflightRequest struct {
	Definition string  `json:"definition"`
	Env        string  `json:"env,omitempty"`
	Variant    *string `json:"variant,omitempty"`
}

// Preflight is the outcome of the checks of one definition.
type Preflight struct {
	Definition  string  `json:"definition"`
	Description string  `json:"description,omitempty"`
	Env         string  `json:"env"`
	Engine      string  `json:"engine,omitempty"`
	Checks      []Check `json:"checks"`
	// OK: no check failed (warnings allowed).
	OK     bool          `json:"ok"`
	Took   time.Duration `json:"tookNs"`
	Failed []string      `json:"failed,omitempty"` // names of the failed checks
}

// EngineFacts are what the engine says of its host (EngineInspector).
type EngineFacts struct {
	DataRoot string // the engine's data root (on its host)
	MemTotal int64  // bytes
	CPUs     int
	// FreeDisk is the free space under DataRoot in bytes, -1 when it
	// cannot be known from here (a remote engine).
	FreeDisk int64
}

// ImageState says whether an image is on the engine, or can be pulled.
type ImageState struct {
	Present bool
	Size    int64 // bytes, when present
	// PullErr, for an image not present, is why a pull would fail (nil:
	// the registry knows it).
	PullErr error
}

// EngineInspector is an engine that answers the preflight's questions.
type EngineInspector interface {
	Facts(ctx context.Context) (EngineFacts, error)
	ImageState(ctx context.Context, ref string) (ImageState, error)
}

// ErrPreflight marks a preflight with failed checks.
var ErrPreflight = errors.New("preflight failed")

// Preflight runs the checks of one definition. A definition that cannot
// be loaded fails the "definition" check (with file, line and field); the
// error is for a request that names nothing.
func (b *Berth) Preflight(ctx context.Context, req PreflightRequest) (*Preflight, error) {
	start := time.Now()
	if req.Definition == "" {
		return nil, errors.New("no definition named")
	}
	env := req.Env
	if env == "" {
		env = req.Definition
	}
	out := &Preflight{Definition: req.Definition, Env: env}
	add := func(c Check) { out.Checks = append(out.Checks, c) }
	defer func() {
		out.OK = true
		for _, c := range out.Checks {
			if c.Status == CheckFail {
				out.OK = false
				out.Failed = append(out.Failed, c.Name)
			}
		}
		out.Took = time.Since(start)
	}()

	// The engine.
	e, err := b.eng(ctx)
	if err != nil {
		add(Check{Name: "engine", Status: CheckFail, Detail: err.Error(),
			Fix: "start Docker (sudo systemctl start docker), or choose another engine with -H, --context or the app's settings"})
		for _, n := range []string{"trust", "secrets", "ports", "images", "disk", "memory"} {
			add(Check{Name: n, Status: CheckSkip, Detail: "needs the engine"})
		}
		return out, nil
	}
	t := e.Target(ctx)
	out.Engine = t.Host
	add(Check{Name: "engine", Status: CheckOK, Detail: fmt.Sprintf("Docker %s (API %s) at %s", t.ServerVersion, t.APIVersion, t.Host)})

	// Trust.
	review, err := b.ReviewTrust(ctx, TrustRequest{Definition: req.Definition})
	switch {
	case err != nil:
		add(Check{Name: "definition", Status: CheckFail, Detail: err.Error(), Fix: "fix the definition where the message says"})
		return out, nil
	case len(review.Refused) > 0:
		add(Check{Name: "trust", Status: CheckFail, Detail: fmt.Sprintf("your settings refuse %d of what it asks for (%s)", len(review.Refused), review.Refused[0].Text),
			Fix: "change the definition or your settings' refuse list"})
	case !review.Trusted:
		what := "what it can do on this machine has not been reviewed"
		if len(review.New) > 0 && review.Granted != nil {
			what = fmt.Sprintf("it asks for %d new things since you trusted it", len(review.New))
		}
		add(Check{Name: "trust", Status: CheckFail, Detail: fmt.Sprintf("not trusted: %s (%d capabilities)", what, len(review.Capabilities)),
			Fix: "review and trust it: berth trust " + req.Definition + " (or the Trust button)"})
	default:
		add(Check{Name: "trust", Status: CheckOK, Detail: fmt.Sprintf("trusted (%d capabilities)", len(review.Capabilities))})
	}

	// Secrets.
	if b.secrets == nil {
		add(Check{Name: "secrets", Status: CheckSkip, Detail: "no secret store"})
	} else if ls, err := b.ListSecrets(ctx, req.Definition); err != nil {
		add(Check{Name: "secrets", Status: CheckWarn, Detail: "the secret store: " + err.Error()})
	} else {
		var missing, declared []string
		for _, s := range ls.Secrets {
			if !s.Declared {
				continue
			}
			declared = append(declared, s.Name)
			if s.Required && !s.Set {
				missing = append(missing, s.Name)
			}
		}
		switch {
		case len(missing) > 0:
			add(Check{Name: "secrets", Status: CheckFail, Detail: "not set: " + strings.Join(missing, ", "),
				Fix: "berth secret set " + req.Definition + " " + missing[0] + " (or the fields of the New environment dialog)"})
		case len(declared) == 0:
			add(Check{Name: "secrets", Status: CheckOK, Detail: "none declared"})
		default:
			add(Check{Name: "secrets", Status: CheckOK, Detail: fmt.Sprintf("%d declared, every required one set", len(declared))})
		}
	}

	// The rest reads the loaded project (secrets may be missing: said above).
	settings := UpRequest{Env: env, Definition: req.Definition, Variant: req.Variant}.settings(b.settingsOf(ctx, env))
	lctx := withSecretsOptional(withLoadAs(ctx, env, settings))
	l, _, err := b.load(lctx, env, req.Definition, nil)
	if err != nil {
		add(Check{Name: "definition", Status: CheckFail, Detail: err.Error(), Fix: "fix the definition where the message says"})
		return out, nil
	}
	p := l.p
	out.Description = p.Description
	b.preflightPorts(ctx, e, p, settings, add)
	b.preflightImages(ctx, e, p, add)
	b.preflightHost(ctx, e, p, add)
	return out, nil
}

// preflightPorts says which published ports are free, move or block.
func (b *Berth) preflightPorts(ctx context.Context, e Engine, p *spec.Project, es EnvSettings, add func(Check)) {
	n := 0
	for _, s := range p.Services {
		for _, pt := range s.Ports {
			if _, fixed := spec.FixedHostPort(pt); fixed {
				n++
			}
		}
	}
	if n == 0 {
		add(Check{Name: "ports", Status: CheckOK, Detail: "publishes no fixed host port"})
		return
	}
	ports, _, err := b.placePorts(ctx, e, p, es.Ports)
	var taken *PortTakenError
	switch {
	case errors.As(err, &taken):
		add(Check{Name: "ports", Status: CheckFail, Detail: err.Error(), Fix: "stop what holds it, or take the port off ports.pin in berth.yaml"})
		return
	case err != nil:
		add(Check{Name: "ports", Status: CheckWarn, Detail: "not checked: " + err.Error()})
		return
	}
	var moves []string
	for _, k := range slices.Sorted(maps.Keys(ports)) {
		if es.Ports[k] != ports[k] {
			moves = append(moves, fmt.Sprintf("%s → %d", k, ports[k]))
		}
	}
	if len(moves) > 0 {
		add(Check{Name: "ports", Status: CheckWarn, Detail: fmt.Sprintf("%d of %d taken, will move: %s", len(moves), n, strings.Join(moves, ", ")),
			Fix: "nothing to do (status shows where they went); free them, or pin them in berth.yaml, to keep the declared ones"})
		return
	}
	add(Check{Name: "ports", Status: CheckOK, Detail: fmt.Sprintf("%d published ports free", n)})
}

// preflightImages checks each image: present, built on up, or pullable.
func (b *Berth) preflightImages(ctx context.Context, e Engine, p *spec.Project, add func(Check)) {
	ins, ok := e.(EngineInspector)
	if !ok {
		add(Check{Name: "images", Status: CheckSkip, Detail: "this engine cannot be asked"})
		return
	}
	var present, built int
	var missing []string
	var fails []string
	seen := map[string]bool{}
	for _, s := range p.Services {
		if s.Build != nil {
			if !seen["build:"+s.Image] {
				built++
			}
			seen["build:"+s.Image] = true
			continue
		}
		if seen[s.Image] {
			continue
		}
		seen[s.Image] = true
		st, err := ins.ImageState(ctx, s.Image)
		switch {
		case err != nil:
			fails = append(fails, s.Image+": "+err.Error())
		case st.Present:
			present++
		case st.PullErr != nil || s.PullPolicy == "never":
			why := "pull_policy never"
			if st.PullErr != nil {
				why = st.PullErr.Error()
			}
			fails = append(fails, fmt.Sprintf("%s (service %s) is not on the engine and cannot be pulled: %s", s.Image, s.Name, why))
		default:
			missing = append(missing, s.Image)
		}
	}
	detail := fmt.Sprintf("%d present", present)
	if built > 0 {
		detail += fmt.Sprintf(", %d built from source on up", built)
	}
	switch {
	case len(fails) > 0:
		add(Check{Name: "images", Status: CheckFail, Detail: strings.Join(fails, "; "),
			Fix: "pull or load the image on the engine (docker pull, docker load), or log in to its registry"})
	case len(missing) > 0:
		add(Check{Name: "images", Status: CheckOK, Detail: detail + fmt.Sprintf(", %d to pull: %s", len(missing), strings.Join(missing, ", "))})
	default:
		add(Check{Name: "images", Status: CheckOK, Detail: detail})
	}
}

// preflightHost checks disk and memory on the engine's host.
func (b *Berth) preflightHost(ctx context.Context, e Engine, p *spec.Project, add func(Check)) {
	ins, ok := e.(EngineInspector)
	if !ok {
		add(Check{Name: "disk", Status: CheckSkip, Detail: "this engine cannot be asked"})
		add(Check{Name: "memory", Status: CheckSkip, Detail: "this engine cannot be asked"})
		return
	}
	f, err := ins.Facts(ctx)
	if err != nil {
		add(Check{Name: "disk", Status: CheckWarn, Detail: "not checked: " + err.Error()})
		add(Check{Name: "memory", Status: CheckWarn, Detail: "not checked: " + err.Error()})
		return
	}
	// Disk: the seeds are loaded into a golden copy and cloned (a copy
	// per environment where the store cannot share blocks), about three
	// times their size; a margin of 1 GiB for logs and layers.
	var need int64
	for _, d := range p.Databases {
		if d.Source != nil && d.Source.Seed != "" {
			if fi, err := os.Stat(d.Source.Seed); err == nil {
				need += 3 * fi.Size()
			}
		}
	}
	const margin = 1 << 30
	switch {
	case f.FreeDisk < 0:
		add(Check{Name: "disk", Status: CheckSkip, Detail: fmt.Sprintf("free space under %s is not measured on a remote engine (%s needed for seeds)", f.DataRoot, bytesText(need))})
	case f.FreeDisk < need:
		add(Check{Name: "disk", Status: CheckFail, Detail: fmt.Sprintf("%s free under %s, %s needed", bytesText(f.FreeDisk), f.DataRoot, bytesText(need)),
			Fix: "free space: berth gc, docker system prune"})
	case f.FreeDisk < need+margin:
		add(Check{Name: "disk", Status: CheckWarn, Detail: fmt.Sprintf("%s free under %s, %s needed: little room left", bytesText(f.FreeDisk), f.DataRoot, bytesText(need)),
			Fix: "free space: berth gc, docker system prune"})
	default:
		add(Check{Name: "disk", Status: CheckOK, Detail: fmt.Sprintf("%s free under %s", bytesText(f.FreeDisk), f.DataRoot)})
	}
	var reserved, limited int64
	for _, s := range p.Services {
		if r := s.Resources; r != nil {
			reserved += r.MemoryReservation
			limited += r.MemoryLimit
		}
	}
	mem := fmt.Sprintf("%s on the engine's host, %d CPUs", bytesText(f.MemTotal), f.CPUs)
	switch {
	case f.MemTotal > 0 && reserved > f.MemTotal:
		add(Check{Name: "memory", Status: CheckFail, Detail: fmt.Sprintf("%s; the services reserve %s", mem, bytesText(reserved)), Fix: "lower deploy.resources.reservations.memory, or use a larger engine"})
	case f.MemTotal > 0 && f.MemTotal < 2<<30:
		add(Check{Name: "memory", Status: CheckWarn, Detail: mem + ": less than 2 GiB", Fix: "close other programs, or use a larger engine"})
	default:
		detail := mem
		if limited > 0 {
			detail += "; limits add up to " + bytesText(limited)
		}
		add(Check{Name: "memory", Status: CheckOK, Detail: detail})
	}
}

// bytesText is n in B, KiB, MiB or GiB.
func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// OpenedRepo is a definitions repo made the one Berth works on.
type OpenedRepo struct {
	// Repo is the repo's folder (a clone made now, or the path given).
	Repo string `json:"repo"`
	// Cloned: Repo was cloned from a URL by this open.
	Cloned bool `json:"cloned,omitempty"`
	// DefinitionsDir is the folder of definitions in it (environments/
	// when it has one).
	DefinitionsDir string `json:"definitionsDir"`
	// Overridden, when set, is the definitions folder later runs will use
	// instead (a --definitions flag or BERTH_DEFINITIONS wins over the
	// saved setting).
	Overridden string `json:"overridden,omitempty"`
}
