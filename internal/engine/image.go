package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// streamMessage is one JSON message of a pull or build stream.
type streamMessage struct {
	Stream   string `json:"stream"`
	Status   string `json:"status"`
	ID       string `json:"id"`
	Progress *struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"errorDetail"`
	ErrorMessage string          `json:"error"`
	Aux          json.RawMessage `json:"aux"`
}

func (m streamMessage) err() error {
	switch {
	case m.Error != nil && m.Error.Message != "":
		return errors.New(m.Error.Message)
	case m.ErrorMessage != "":
		return errors.New(m.ErrorMessage)
	}
	return nil
}

// decodeStream calls fn for every message of a JSON message stream.
func decodeStream(r io.Reader, fn func(streamMessage) error) error {
	dec := json.NewDecoder(r)
	for {
		var m streamMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
}

// pullImage pulls ref with the docker config's credentials, reporting layer
// progress as one line. A failed pull of an image the engine does not have
// is an ImageNotFoundError.
func (e *Engine) pullImage(ctx context.Context, ref string, detail func(string)) error {
	auth, err := e.registryAuth(ctx, ref, detail)
	if err != nil {
		return err
	}
	err = e.pull(ctx, ref, auth, detail)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	if _, ierr := e.cli.ImageInspect(ctx, ref); cerrdefs.IsNotFound(ierr) {
		return &ImageNotFoundError{Ref: ref, Err: err}
	}
	return fmt.Errorf("pulling image %s: %w", ref, err)
}

func (e *Engine) pull(ctx context.Context, ref, auth string, detail func(string)) error {
	rc, err := e.cli.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		return err
	}
	defer rc.Close()
	layers := &layerProgress{status: map[string]string{}, cur: map[string]int64{}, total: map[string]int64{}}
	last := time.Time{}
	err = decodeStream(rc, func(m streamMessage) error {
		if err := m.err(); err != nil {
			return err
		}
		if !layerID.MatchString(m.ID) {
			// Whole-image lines: "Pulling from ...", "Digest: ...", "Status: ...".
			if m.Status != "" {
				detail(strings.TrimSpace(m.Status))
			}
			return nil
		}
		layers.update(m)
		if time.Since(last) > 250*time.Millisecond {
			last = time.Now()
			detail(layers.String())
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(layers.order) > 0 {
		detail(layers.String())
	}
	return nil
}

var layerID = regexp.MustCompile(`^[0-9a-f]{12,64}$`)

// layerProgress collapses per-layer pull messages into one line.
type layerProgress struct {
	order  []string
	status map[string]string
	cur    map[string]int64
	total  map[string]int64
}

func (l *layerProgress) update(m streamMessage) {
	if _, ok := l.status[m.ID]; !ok {
		l.order = append(l.order, m.ID)
	}
	l.status[m.ID] = m.Status
	if m.Progress != nil && m.Progress.Total > 0 && m.Status == "Downloading" {
		l.cur[m.ID], l.total[m.ID] = m.Progress.Current, m.Progress.Total
	}
}

func (l *layerProgress) String() string {
	done, active := 0, 0
	var cur, total int64
	for _, id := range l.order {
		switch l.status[id] {
		case "Pull complete", "Already exists", "Download complete":
			done++
		case "Downloading", "Extracting", "Verifying Checksum":
			active++
		}
		cur += l.cur[id]
		total += l.total[id]
	}
	s := fmt.Sprintf("layers %d/%d done", done, len(l.order))
	if active > 0 {
		s += fmt.Sprintf(", %d in progress", active)
	}
	if total > 0 {
		s += fmt.Sprintf(" (%s/%s downloaded)", bytesText(cur), bytesText(total))
	}
	return s
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fkB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

// buildImage builds a service's image, tags it ref and labels it with
// the build hash: through the engine's BuildKit, or with the classic
// builder when the engine has none (a warning line says so first). Steps
// are reported through detail; a failing step fails the op, naming it.
func (e *Engine) buildImage(ctx context.Context, _ *spec.Project, s *spec.Service, ref string, detail func(string)) error {
	if s.Build == nil {
		return fmt.Errorf("service %s has no build section", s.Name)
	}
	if ref == "" {
		ref = s.Image
	}
	choice, err := e.builder(ctx)
	if err != nil {
		return fmt.Errorf("building image %s for service %s: %w", ref, s.Name, err)
	}
	if choice.kind == builderBuildKit {
		return e.buildKit(ctx, s, ref, choice.frontend, detail)
	}
	detail(choice.warning())
	err = e.buildClassic(ctx, s, ref, detail)
	if err != nil && ctx.Err() == nil && !errors.Is(err, errNoBuildKit) {
		err = fmt.Errorf("%w (Berth built with the classic builder because %s; the classic builder knows none of BuildKit's Dockerfile features)", err, choice.why)
	}
	return err
}

// buildClassic builds with the classic builder (which every engine from
// API 1.41 on has). What only BuildKit can do (secrets, ssh, named
// contexts, a cache other than an image) is refused before it starts.
func (e *Engine) buildClassic(ctx context.Context, s *spec.Service, ref string, detail func(string)) error {
	b := s.Build
	var needs []string
	if len(b.Secrets) > 0 {
		needs = append(needs, "build.secrets")
	}
	if len(b.SSH) > 0 {
		needs = append(needs, "build.ssh")
	}
	if len(b.AdditionalContexts) > 0 {
		needs = append(needs, "build.additional_contexts")
	}
	if len(b.CacheTo) > 0 {
		needs = append(needs, "build.cache_to")
	}
	var cacheFrom []string
	for _, c := range b.CacheFrom {
		if c.Type != "registry" {
			needs = append(needs, "build.cache_from type="+c.Type)
			continue
		}
		cacheFrom = append(cacheFrom, c.Attrs["ref"])
	}
	if len(needs) > 0 {
		return fmt.Errorf("service %s: %s %w, which this engine does not have", s.Name, strings.Join(needs, ", "), errNoBuildKit)
	}
	dockerfile := b.Dockerfile
	if b.DockerfileInline != "" {
		dir, err := inlineDockerfile(b.DockerfileInline)
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dockerfile = filepath.Join(dir, "Dockerfile")
	}
	bc, err := tarBuildContext(b.Context, dockerfile)
	if err != nil {
		return fmt.Errorf("service %s: %w", s.Name, err)
	}
	defer bc.r.Close()

	labels := maps.Clone(b.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[reconcile.LabelBuildHash] = s.BuildHash
	args := map[string]*string{}
	for _, k := range slices.Sorted(maps.Keys(b.Args)) {
		v := b.Args[k]
		args[k] = &v
	}
	resp, err := e.cli.ImageBuild(ctx, bc.r, build.ImageBuildOptions{
		Tags:        []string{ref},
		Dockerfile:  bc.dockerfile,
		BuildArgs:   args,
		Target:      b.Target,
		Labels:      labels,
		NoCache:     b.NoCache,
		PullParent:  b.Pull,
		NetworkMode: b.Network,
		CacheFrom:   cacheFrom,
		Remove:      true,
		ForceRemove: true,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return fmt.Errorf("building image %s for service %s: %w", ref, s.Name, err)
	}
	defer resp.Body.Close()

	step := ""
	err = decodeStream(resp.Body, func(m streamMessage) error {
		if err := m.err(); err != nil {
			return err
		}
		for line := range strings.SplitSeq(m.Stream, "\n") {
			line = strings.TrimRight(line, "\r ")
			if line == "" || strings.HasPrefix(line, " ---> ") || strings.HasPrefix(line, "Removing intermediate container") {
				continue
			}
			if strings.HasPrefix(line, "Step ") {
				step = line
			}
			detail(line)
		}
		return nil
	})
	if err != nil {
		if step != "" {
			return fmt.Errorf("build of service %s failed at %s: %w", s.Name, step, err)
		}
		return fmt.Errorf("build of service %s failed: %w", s.Name, err)
	}
	return nil
}

// inlineDockerfile writes an inline Dockerfile as Dockerfile in a new
// temporary folder, which the caller removes.
func inlineDockerfile(text string) (string, error) {
	dir, err := os.MkdirTemp("", "berth-dockerfile-")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(text), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}
