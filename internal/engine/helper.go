package engine

// Helper containers and bare volumes for the database clones
// (internal/dbclone): everything runs through the Engine API with short-lived
// containers that mount volumes, never through host paths, so it works the
// same on a remote engine. Every object made here carries
// dev.berth.managed=true, and nothing without that label is touched.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berthdev/berth/internal/failpoint"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// LabelHelper marks a helper container, so that one a killed process left
// behind can be told apart and removed.
const LabelHelper = "dev.berth.helper"

// VolumeInfo is what the engine reports of a volume.
type VolumeInfo struct {
	Name    string            `json:"name"`
	Labels  map[string]string `json:"labels,omitempty"`
	Driver  string            `json:"driver"`
	Created time.Time         `json:"created"`
	// Managed is true when Berth created it (dev.berth.managed=true).
	Managed bool `json:"managed"`
}

// CreateManagedVolume creates a volume labelled as Berth's. A volume of
// that name that exists already is an error (the engine would silently hand
// it back). driverOpts are the local driver's options (for example
// type=tmpfs, device=tmpfs, o=size=64m); nil for an ordinary volume.
func (e *Engine) CreateManagedVolume(ctx context.Context, name string, labels, driverOpts map[string]string) error {
	if _, err := e.cli.VolumeInspect(ctx, name); err == nil {
		return fmt.Errorf("creating volume %s: a volume of that name already exists", name)
	} else if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspecting volume %s: %w", name, err)
	}
	l := maps.Clone(labels)
	if l == nil {
		l = map[string]string{}
	}
	l[reconcile.LabelManaged] = "true"
	opts := volume.CreateOptions{Name: name, Labels: l, DriverOpts: driverOpts}
	if len(driverOpts) > 0 {
		opts.Driver = "local"
	}
	if _, err := e.cli.VolumeCreate(ctx, opts); err != nil {
		return fmt.Errorf("creating volume %s: %w", name, err)
	}
	return nil
}

// RemoveManagedVolume removes a volume Berth created; one that is gone
// already is fine, one without the managed label is refused.
func (e *Engine) RemoveManagedVolume(ctx context.Context, name string) error {
	v, err := e.cli.VolumeInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspecting volume %s: %w", name, err)
	}
	if v.Labels[reconcile.LabelManaged] != "true" {
		return fmt.Errorf("%w: refusing to remove volume %q: it has no %s=true label", ErrNotManaged, name, reconcile.LabelManaged)
	}
	if err := e.cli.VolumeRemove(ctx, name, false); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing volume %s: %w", name, err)
	}
	return nil
}

// InspectVolume reports a volume; ok is false when there is none of that
// name.
func (e *Engine) InspectVolume(ctx context.Context, name string) (info VolumeInfo, ok bool, err error) {
	v, err := e.cli.VolumeInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return VolumeInfo{}, false, nil
	}
	if err != nil {
		return VolumeInfo{}, false, fmt.Errorf("inspecting volume %s: %w", name, err)
	}
	return volumeInfo(&v), true, nil
}

// ManagedVolumes lists Berth's volumes carrying every label of match
// (a value "" matches any value).
func (e *Engine) ManagedVolumes(ctx context.Context, match map[string]string) ([]VolumeInfo, error) {
	args := filters.NewArgs(filters.Arg("label", reconcile.LabelManaged+"=true"))
	for k, v := range match {
		if v == "" {
			args.Add("label", k)
		} else {
			args.Add("label", k+"="+v)
		}
	}
	resp, err := e.cli.VolumeList(ctx, volume.ListOptions{Filters: args})
	if err != nil {
		return nil, fmt.Errorf("listing volumes: %w", err)
	}
	out := make([]VolumeInfo, 0, len(resp.Volumes))
	for _, v := range resp.Volumes {
		out = append(out, volumeInfo(v))
	}
	return out, nil
}

func volumeInfo(v *volume.Volume) VolumeInfo {
	created, _ := time.Parse(time.RFC3339, v.CreatedAt)
	return VolumeInfo{Name: v.Name, Labels: v.Labels, Driver: v.Driver, Created: created,
		Managed: v.Labels[reconcile.LabelManaged] == "true"}
}

// HelperMount mounts a volume into a helper container.
type HelperMount struct {
	Volume   string
	Target   string
	ReadOnly bool
}

// HelperSpec is a short-lived container to run.
type HelperSpec struct {
	Image  string
	Cmd    []string // run as the entrypoint (the image's own is not used)
	Env    []string // KEY=value; never put secrets here (use Upload)
	User   string
	Mounts []HelperMount
	// Upload, when set, is a tar archive unpacked at UploadDir before the
	// command starts (files: seeds, a URL with credentials).
	Upload    io.Reader
	UploadDir string
	// Network is the network mode: HelperNoNetwork ("" too) a private
	// namespace with only loopback, HelperBridge the engine's default
	// bridge. Nothing else: a helper never joins the engine host's
	// namespace, nor another container's.
	Network string
	Labels  map[string]string
	// Line is called with each line of output as it comes (may be nil).
	Line func(string)
}

// HelperResult is how a helper container ended.
type HelperResult struct {
	ExitCode int
	// Output is its combined output (the last 64 KiB).
	Output string
}

const helperOutputMax = 64 << 10

// Helper network modes.
const (
	HelperNoNetwork = "none"
	HelperBridge    = "bridge"
)

// helperNetwork checks a helper's network mode.
func helperNetwork(mode string) (container.NetworkMode, error) {
	switch mode {
	case "", HelperNoNetwork:
		return HelperNoNetwork, nil
	case HelperBridge:
		return HelperBridge, nil
	}
	return "", fmt.Errorf("helper network %q refused: a helper runs with %q or on the default %q network, never in the host's namespace nor another container's",
		mode, HelperNoNetwork, HelperBridge)
}

// RunHelper runs a helper container to its end and removes it. The
// container is labelled as Berth's and as a helper; when ctx ends it is
// killed and removed.
func (e *Engine) RunHelper(ctx context.Context, h HelperSpec) (HelperResult, error) {
	network, err := helperNetwork(h.Network)
	if err != nil {
		return HelperResult{}, err
	}
	labels := maps.Clone(h.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[reconcile.LabelManaged] = "true"
	labels[LabelHelper] = "true"
	var mounts []mount.Mount
	for _, m := range h.Mounts {
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: m.Volume, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	cfg := &container.Config{Image: h.Image, Entrypoint: h.Cmd, Cmd: []string{}, Env: append(slices.Clip(h.Env), failpoint.HelperEnv()...), User: h.User, Labels: labels,
		AttachStdout: true, AttachStderr: true}
	hc := &container.HostConfig{Mounts: mounts, NetworkMode: network}
	created, err := e.cli.ContainerCreate(ctx, cfg, hc, nil, nil, "")
	if err != nil {
		return HelperResult{}, fmt.Errorf("creating a helper container from %s: %w", h.Image, err)
	}
	id := created.ID
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		// RemoveVolumes: the anonymous volumes an image's VOLUME lines
		// made for the helper go too (named volumes are never removed).
		_ = e.cli.ContainerRemove(rctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	}()
	if h.Upload != nil {
		if err := e.cli.CopyToContainer(ctx, id, h.UploadDir, h.Upload, container.CopyToContainerOptions{}); err != nil {
			return HelperResult{}, fmt.Errorf("copying files into the helper container: %w", err)
		}
	}
	att, err := e.cli.ContainerAttach(ctx, id, container.AttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return HelperResult{}, fmt.Errorf("attaching to the helper container: %w", err)
	}
	defer att.Close()
	out := newHelperOutput(h.Line)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(out, out, att.Reader)
	}()
	waitC, errC := e.cli.ContainerWait(ctx, id, container.WaitConditionNextExit)
	if err := e.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return HelperResult{}, fmt.Errorf("starting the helper container: %w", err)
	}
	failpoint.Hit(failpoint.HelperRunning)
	var code int
	select {
	case w := <-waitC:
		code = int(w.StatusCode)
		if w.Error != nil && w.Error.Message != "" {
			return HelperResult{}, fmt.Errorf("waiting for the helper container: %s", w.Error.Message)
		}
	case err := <-errC:
		return HelperResult{}, fmt.Errorf("waiting for the helper container: %w", err)
	case <-ctx.Done():
		return HelperResult{}, ctx.Err()
	}
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	out.flush()
	return HelperResult{ExitCode: code, Output: out.String()}, nil
}

// helperOutput keeps the tail of a helper's output and hands out whole
// lines (of at most MaxLineBytes: a helper printing no newline costs no
// more than that).
type helperOutput struct {
	mu    sync.Mutex
	line  func(string)
	lines lineSplitter
	tail  bytes.Buffer
}

// newHelperOutput returns a helperOutput calling line with each line
// (nil: nobody wants lines).
func newHelperOutput(line func(string)) *helperOutput {
	w := &helperOutput{line: line}
	w.lines.emit = line
	return w
}

func (w *helperOutput) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tail.Write(p)
	if w.tail.Len() > 2*helperOutputMax {
		b := w.tail.Bytes()[w.tail.Len()-helperOutputMax:]
		w.tail = *bytes.NewBuffer(append([]byte{}, b...))
	}
	if w.line != nil {
		w.lines.Write(p)
	}
	return len(p), nil
}

func (w *helperOutput) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.line != nil {
		w.lines.flush()
	}
}

func (w *helperOutput) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.tail.Bytes()
	if len(b) > helperOutputMax {
		b = b[len(b)-helperOutputMax:]
	}
	return string(b)
}

// RemoveHelpers kills and removes the helper containers (Berth's, marked
// as helpers) carrying every label of match: what a killed process left
// running, found by the next one that holds the environment's lock.
func (e *Engine) RemoveHelpers(ctx context.Context, match map[string]string) (int, error) {
	args := filters.NewArgs(filters.Arg("label", reconcile.LabelManaged+"=true"), filters.Arg("label", LabelHelper+"=true"))
	for k, v := range match {
		args.Add("label", k+"="+v)
	}
	cs, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return 0, fmt.Errorf("listing helper containers: %w", err)
	}
	n := 0
	for _, c := range cs {
		if c.Labels[reconcile.LabelManaged] != "true" || c.Labels[LabelHelper] != "true" {
			continue // the filter's word, checked again
		}
		if err := e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return n, fmt.Errorf("removing helper container %s: %w", c.ID[:12], err)
		}
		n++
	}
	return n, nil
}

// StopContainer stops a Berth-managed container (the image's stop signal,
// then SIGKILL after timeout). A container that is not running is fine.
//
// The stop signal is sent again every second until the container has
// stopped: an image's entrypoint script is the container's init until it
// hands over to the server (exec), and ignores a signal that arrives
// before then, so a container stopped right after it started would
// otherwise sit out the whole timeout before it is killed.
func (e *Engine) StopContainer(ctx context.Context, name string, timeout time.Duration) error {
	ins, err := e.cli.ContainerInspect(ctx, name)
	if err != nil {
		return fmt.Errorf("inspecting container %s: %w", name, err)
	}
	if ins.Config == nil || ins.Config.Labels[reconcile.LabelManaged] != "true" {
		return fmt.Errorf("%w: refusing to touch container %q: it has no %s=true label", ErrNotManaged, name, reconcile.LabelManaged)
	}
	if ins.State == nil || (!ins.State.Running && !ins.State.Restarting) {
		return nil
	}
	signal := ins.Config.StopSignal
	if signal == "" {
		signal = "SIGTERM"
	}
	waitC, errC := e.cli.ContainerWait(ctx, ins.ID, container.WaitConditionNotRunning)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	again := time.NewTicker(time.Second)
	defer again.Stop()
	if err := e.cli.ContainerKill(ctx, ins.ID, signal); err != nil && !cerrdefs.IsNotFound(err) && !notRunning(err) {
		return fmt.Errorf("stopping container %s: %w", name, err)
	}
	for {
		select {
		case <-waitC:
			return nil
		case err := <-errC:
			return fmt.Errorf("stopping container %s: %w", name, err)
		case <-again.C:
			_ = e.cli.ContainerKill(ctx, ins.ID, signal)
		case <-deadline.C:
			zero := 0
			if err := e.cli.ContainerStop(ctx, ins.ID, container.StopOptions{Timeout: &zero}); err != nil {
				return fmt.Errorf("stopping container %s (killed after %s): %w", name, timeout, err)
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notRunning says whether an engine error means the container stopped
// already (a kill of a container that is not running).
func notRunning(err error) bool {
	return strings.Contains(err.Error(), "is not running")
}

// StartContainer starts a Berth-managed container.
func (e *Engine) StartContainer(ctx context.Context, name string) error {
	if err := e.helperManaged(ctx, name); err != nil {
		return err
	}
	if err := e.cli.ContainerStart(ctx, name, container.StartOptions{}); err != nil {
		return fmt.Errorf("starting container %s: %w", name, err)
	}
	return nil
}

// ContainerRunning reports whether a container exists and runs.
func (e *Engine) ContainerRunning(ctx context.Context, name string) (exists, running bool, err error) {
	ins, err := e.cli.ContainerInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("inspecting container %s: %w", name, err)
	}
	return true, ins.State != nil && ins.State.Running, nil
}

func (e *Engine) helperManaged(ctx context.Context, name string) error {
	ins, err := e.cli.ContainerInspect(ctx, name)
	if err != nil {
		return fmt.Errorf("inspecting container %s: %w", name, err)
	}
	if ins.Config == nil || ins.Config.Labels[reconcile.LabelManaged] != "true" {
		return fmt.Errorf("%w: refusing to touch container %q: it has no %s=true label", ErrNotManaged, name, reconcile.LabelManaged)
	}
	return nil
}

// ImageID returns the ID of a local image.
func (e *Engine) ImageID(ctx context.Context, ref string) (string, error) {
	img, err := e.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("image %s: %w", ref, ErrImageNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	return img.ID, nil
}

// CreateProjectVolume creates the volume key of p exactly as applying a
// plan would (the same name and labels), so that a database clone can be
// put into it before the environment's containers start. A volume that is
// already p's is left as it is.
func (e *Engine) CreateProjectVolume(ctx context.Context, p *spec.Project, key string) error {
	v := p.Volume(key)
	if v == nil {
		return fmt.Errorf("volume %q is not in the project", key)
	}
	return e.createVolume(ctx, p, reconcile.Op{Kind: reconcile.OpCreateVolume, Resource: v.Name, Key: key}, func(string) {})
}
