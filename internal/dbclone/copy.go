package dbclone

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// stopTimeout is how long a database server gets to shut down cleanly
// (the image's stop signal: PostgreSQL's SIGINT, a fast shutdown;
// MariaDB's SIGTERM) before it is killed.
const stopTimeout = 60 * time.Second

// Reflink reports whether the engine's volume store copies on write,
// probed once per Cloner with a helper container made from image. The
// probe's helper and volume carry env's label (the environment the
// question is asked for), so that what a killed process left of them is
// removed with that environment's other helpers (RemoveHelpers).
func (c *Cloner) Reflink(ctx context.Context, image, env string) (bool, error) {
	c.mu.Lock()
	v, ok := c.reflink[""]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	name := "berth-probe-" + randomHex(6)
	if err := c.eng.CreateVolume(ctx, name, map[string]string{LabelRole: RoleProbe, LabelEnv: env}, c.DriverOpts); err != nil {
		return false, err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		c.removeLeftover(rctx, name)
	}()
	res, err := c.eng.RunHelper(ctx, Helper{Image: image, Network: NoNetwork, Labels: map[string]string{LabelEnv: env},
		Cmd: []string{"sh", "-c", probeScript}, Mounts: []Mount{{Volume: name, Target: "/p"}}})
	if err != nil {
		return false, fmt.Errorf("probing the volume store: %w", err)
	}
	if res.ExitCode != 0 {
		return false, fmt.Errorf("probing the volume store: exit %d\n%s", res.ExitCode, lastLines(res.Output, 5))
	}
	v = strings.Contains(res.Output, "berth-reflink yes")
	c.mu.Lock()
	c.reflink[""] = v
	c.mu.Unlock()
	return v, nil
}

// Strategy is the copy strategy a clone for environment env would use
// now.
func (c *Cloner) Strategy(ctx context.Context, image, env string) (string, error) {
	if c.Force != "" {
		return c.Force, nil
	}
	ok, err := c.Reflink(ctx, image, env)
	if err != nil {
		return "", err
	}
	if ok {
		return StrategyReflink, nil
	}
	return StrategyCopy, nil
}

// copyVolume replaces the content of volume to with that of volume from.
// What to held stays untouched until the copy is complete, and a failed
// copy leaves nothing behind. Copy-on-write falls back to a plain copy when
// the two volumes cannot share blocks.
func (c *Cloner) copyVolume(ctx context.Context, from, to string, t Target, total int64, progress func(Progress)) (Result, error) {
	start := c.now()
	strategy, err := c.Strategy(ctx, t.Image, t.Env)
	if err != nil {
		return Result{}, err
	}
	res, err := c.runCopy(ctx, strategy, from, to, t, total, progress)
	if err != nil && strategy == StrategyReflink && c.Force == "" && reflinkUnsupported(err) {
		send(progress, Progress{Step: "copy-on-write is not possible between these volumes; copying"})
		strategy = StrategyCopy
		res, err = c.runCopy(ctx, strategy, from, to, t, total, progress)
	}
	res.Strategy, res.From, res.Duration = strategy, from, c.now().Sub(start)
	return res, err
}

type copyError struct {
	strategy, output string
	code             int
}

func (e *copyError) Error() string {
	return fmt.Sprintf("%s copy failed (exit %d)\n%s", e.strategy, e.code, lastLines(e.output, 6))
}

func reflinkUnsupported(err error) bool {
	ce, ok := err.(*copyError)
	return ok && (strings.Contains(ce.output, "Operation not supported") || strings.Contains(ce.output, "Invalid cross-device link") ||
		strings.Contains(ce.output, "Invalid argument"))
}

func (c *Cloner) runCopy(ctx context.Context, strategy, from, to string, t Target, total int64, progress func(Progress)) (Result, error) {
	send(progress, Progress{Step: "copying (" + strategy + ")", Total: total})
	line := func(l string) {
		if s, ok := strings.CutPrefix(l, progressPrefix); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			send(progress, Progress{Step: "copying (" + strategy + ")", Done: n, Total: total})
		} else if s, ok := strings.CutPrefix(l, "berth-step "); ok {
			send(progress, Progress{Step: s})
		}
	}
	h := Helper{Image: t.Image, Labels: map[string]string{LabelEnv: t.Env}, Line: line, Network: NoNetwork,
		Mounts: []Mount{{Volume: from, Target: "/from", ReadOnly: true}, {Volume: to, Target: "/to"}}}
	switch strategy {
	case StrategyReflink:
		h.Cmd, h.Env = []string{"bash", "-c", copyScript}, []string{"STRATEGY=reflink"}
	case StrategyCopy:
		h.Cmd, h.Env = []string{"bash", "-c", copyScript}, []string{"STRATEGY=copy"}
	case StrategyLogical:
		fl, err := flavourOf(t)
		if err != nil {
			return Result{}, err
		}
		if fl.logical == "" {
			return Result{}, fmt.Errorf("the %s strategy is not available for %s yet: use %s or %s", StrategyLogical, fl.engine, StrategyReflink, StrategyCopy)
		}
		h.Mounts[0].ReadOnly = false // the source's server runs on it
		h.Cmd, h.Env = []string{"bash", "-c", fl.logical}, fl.env(t)
		h.Upload, _ = tarStream(fl.files(t))
		h.UploadDir = "/"
	default:
		return Result{}, fmt.Errorf("unknown copy strategy %q", strategy)
	}
	// The callers found from just now; should it go before the helper
	// mounts it (a clean-up, by hand), the engine makes an empty one,
	// which the script refuses to copy.
	res, err := c.eng.RunHelper(ctx, h)
	if err != nil {
		return Result{}, err
	}
	out := scrub(res.Output, t.Password, t.RootPassword)
	if res.ExitCode != 0 && strings.Contains(out, "berth-error no-restrict") {
		return Result{}, fmt.Errorf("the %s copy restores the roles with psql under \\restrict (no meta-command in them runs), and the image's psql (%s) is older than that (13.22, 14.19, 15.14, 16.10, 17.6, 18): use a newer image, or the %s or %s strategy",
			strategy, lastField(out, "berth-error no-restrict "), StrategyReflink, StrategyCopy)
	}
	if res.ExitCode != 0 && strings.Contains(out, "berth-error no-sandbox") {
		return Result{}, fmt.Errorf("the %s copy loads a dump with mariadb --sandbox (no client command in it runs), and the image's mariadb client (%s) has none: use an image of MariaDB 10.5.25, 10.6.18, 10.11.8, 11.0.6, 11.1.5, 11.2.4, 11.4.2 or later, or the %s or %s strategy",
			strategy, lastField(out, "berth-error no-sandbox "), StrategyReflink, StrategyCopy)
	}
	if res.ExitCode != 0 && strings.Contains(out, "berth-error empty-source") {
		return Result{}, fmt.Errorf("%w: volume %s is empty or was removed as the copy began (by a clean-up or by hand?); nothing was changed", ErrSource, from)
	}
	if res.ExitCode != 0 {
		if strings.Contains(out, "No space left on device") {
			return Result{}, fmt.Errorf("%w: copying into volume %s (strategy %s); the partial copy was removed and the volume holds what it held before", ErrNoSpace, to, strategy)
		}
		return Result{}, &copyError{strategy: strategy, output: out, code: res.ExitCode}
	}
	size, _ := strconv.ParseInt(lastField(out, "berth-size "), 10, 64)
	return Result{Bytes: size}, nil
}

// pause stops a running container and returns how to start it again
// (a no-op when it was not running, unless restart says it should run
// afterwards anyway).
func (c *Cloner) pause(ctx context.Context, name string, restart bool, progress func(Progress)) (resume func() error, err error) {
	resume = func() error { return nil }
	if name == "" {
		return resume, nil
	}
	_, running, err := c.eng.ContainerRunning(ctx, name)
	if err != nil {
		return resume, err
	}
	start := func() error {
		send(progress, Progress{Step: "starting " + name})
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		return c.eng.StartContainer(sctx, name)
	}
	if !running {
		if restart {
			return start, nil
		}
		return resume, nil
	}
	send(progress, Progress{Step: "stopping " + name + " cleanly"})
	if err := c.eng.StopContainer(ctx, name, stopTimeout); err != nil {
		return resume, err
	}
	return start, nil
}

// Clone replaces t's data with a copy of src: a seed or URL through its
// golden copy (loaded first when there is none), another environment's
// volume (its server stopped during the copy), a snapshot or a golden
// volume. t's container, when it runs, is stopped during the copy and
// started again. t.Volume must exist. When t's root password is random
// (t.RandomRoot), the copy's root accounts get a new random password
// before t's server starts again.
func (c *Cloner) Clone(ctx context.Context, src Source, t Target, progress func(Progress)) (Result, error) {
	start := c.now()
	if _, ok, err := c.eng.InspectVolume(ctx, t.Volume); err != nil {
		return Result{}, err
	} else if !ok {
		return Result{}, fmt.Errorf("volume %s of %s: %w", t.Volume, t.Env, ErrNotFound)
	}
	var (
		from   string
		total  int64
		loaded bool
	)
	switch src.Kind {
	case SourceSeed, SourceURL:
		g, l, err := c.Golden(ctx, src, t, progress)
		if err != nil {
			return Result{}, err
		}
		from, loaded = g.Name, l
		total, _ = strconv.ParseInt(g.Labels[LabelSize], 10, 64)
	case SourceEnv, SourceSnapshot, SourceGolden:
		v, ok, err := c.eng.InspectVolume(ctx, src.Volume)
		if err != nil {
			return Result{}, err
		}
		if !ok {
			return Result{}, fmt.Errorf("%s: volume %s: %w", src.Name, src.Volume, ErrNotFound)
		}
		if src.Volume == t.Volume {
			return Result{}, fmt.Errorf("%s is %s's own volume: nothing to copy", src.Name, t.Env)
		}
		from = v.Name
		total, _ = strconv.ParseInt(v.Labels[LabelSize], 10, 64)
	default:
		return Result{}, fmt.Errorf("unknown source kind %q", src.Kind)
	}
	resumeSrc, err := c.pause(ctx, src.Container, false, progress)
	if err != nil {
		return Result{}, err
	}
	resume, err := c.pause(ctx, t.Container, t.Restart, progress)
	if err != nil {
		_ = resumeSrc()
		return Result{}, err
	}
	res, err := c.copyVolume(ctx, from, t.Volume, t, total, progress)
	if rerr := resumeSrc(); rerr != nil && err == nil {
		err = rerr
	}
	if err == nil && t.RandomRoot {
		// a root password of its own, before its server starts (see
		// mariadb_root.go)
		err = c.renewRoot(ctx, t, progress)
	}
	if rerr := resume(); rerr != nil && err == nil {
		err = rerr
	}
	res.GoldenLoaded = loaded
	res.Duration = c.now().Sub(start)
	return res, err
}

// Snapshot copies t's data into a new snapshot volume (its server stopped
// cleanly during the copy) and returns the volume.
func (c *Cloner) Snapshot(ctx context.Context, t Target, name string, progress func(Progress)) (Volume, Result, error) {
	if _, ok, err := c.eng.InspectVolume(ctx, t.Volume); err != nil {
		return Volume{}, Result{}, err
	} else if !ok {
		return Volume{}, Result{}, fmt.Errorf("volume %s of %s: %w", t.Volume, t.Env, ErrNotFound)
	}
	vol := "berth-snap-" + t.Env + "-" + t.Service + "-" + randomHex(6)
	labels := map[string]string{LabelRole: RoleSnapshot, LabelEnv: t.Env, LabelService: t.Service, LabelSnapshot: name, LabelImage: t.Image}
	if err := c.eng.CreateVolume(ctx, vol, labels, c.DriverOpts); err != nil {
		return Volume{}, Result{}, err
	}
	resume, err := c.pause(ctx, t.Container, t.Restart, progress)
	if err == nil {
		var res Result
		res, err = c.copyVolume(ctx, t.Volume, vol, t, 0, progress)
		if rerr := resume(); rerr != nil && err == nil {
			err = rerr
		}
		if err == nil {
			v, _, ierr := c.eng.InspectVolume(ctx, vol)
			return v, res, ierr
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	c.removeLeftover(rctx, vol)
	return Volume{}, Result{}, err
}

// Restore replaces t's data with the content of volume from (a snapshot
// or a golden copy).
func (c *Cloner) Restore(ctx context.Context, from string, t Target, progress func(Progress)) (Result, error) {
	return c.Clone(ctx, Source{Kind: SourceSnapshot, Volume: from, Name: "volume " + from}, t, progress)
}

// RemoveSnapshot removes a snapshot volume; a volume that is not a
// snapshot is refused.
func (c *Cloner) RemoveSnapshot(ctx context.Context, name string) error {
	v, ok, err := c.eng.InspectVolume(ctx, name)
	if err != nil || !ok {
		return err
	}
	if v.Labels[LabelRole] != RoleSnapshot {
		return fmt.Errorf("volume %s is not a snapshot: refusing to remove it", name)
	}
	return c.eng.RemoveVolume(ctx, name)
}

// Size measures a volume's content in bytes.
func (c *Cloner) Size(ctx context.Context, image, volume string) (int64, error) {
	res, err := c.eng.RunHelper(ctx, Helper{Image: image, Network: NoNetwork, Cmd: []string{"sh", "-c", sizeScript}, Mounts: []Mount{{Volume: volume, Target: "/v", ReadOnly: true}}})
	if err != nil {
		return 0, err
	}
	if res.ExitCode != 0 {
		return 0, fmt.Errorf("measuring volume %s: exit %d\n%s", volume, res.ExitCode, lastLines(res.Output, 4))
	}
	return strconv.ParseInt(strings.TrimSpace(lastLines(res.Output, 1)), 10, 64)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// removeLeftover removes a volume that a failed step made. A volume still
// in use cannot go, and the engine may count the helper that used it a
// moment after the helper ended (when it removes helpers in its own
// time): so it tries again, until ctx ends.
func (c *Cloner) removeLeftover(ctx context.Context, name string) {
	for wait := 50 * time.Millisecond; ; wait *= 2 {
		if err := c.eng.RemoveVolume(ctx, name); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(min(wait, time.Second)):
		}
	}
}
