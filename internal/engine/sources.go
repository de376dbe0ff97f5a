package engine

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/internal/drift"
	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// Bind sources on an engine that does not see this machine's files.
//
// A bind mount names a path on the engine's host. On a local engine that is
// this machine, so Berth passes binds as they are. On a remote one (ssh,
// tcp) the path means nothing, so a bind whose source is inside the
// definition folder is copied to the engine instead:
//
//   - a folder goes into a volume of its own. A read-only one (nginx
//     configuration, seed SQL) is named by its content, so an unchanged
//     folder reuses the copy and a changed one gets a new volume (the
//     service is recreated anyway: its hash covers the content). A writable
//     one is named by its path and filled only when it is made: from then
//     on the data is the container's, as it would be in a bind.
//   - a file is copied into the container before it starts, like a secret
//     or a config. A volume holds folders only: mounting one file of it
//     needs the volume subpath option of Engine API 1.45 (Docker 26).
//
// A source outside the definition is refused: copying the user's files to
// another machine is not something a definition may ask for. The
// container's LabelCopies says what was copied where, so that drift reads
// the container as the bind the definition declares.

// LabelCopies is the container label listing the binds copied to the
// engine (a JSON list of sourceCopy).
const LabelCopies = "dev.berth.copies"

// Volume labels of source copies.
const (
	labelSourceOf   = "dev.berth.source-of"   // the environment
	labelSourcePath = "dev.berth.source"      // the source, relative to the definition
	labelSourceHash = "dev.berth.source-hash" // the copy's content hash (read-only sources)
)

// sourceCopy is one bind placed on the engine by copying.
type sourceCopy struct {
	Target   string `json:"target"`
	Source   string `json:"source"` // the bind source as the definition has it
	ReadOnly bool   `json:"ro,omitempty"`
	Options  string `json:"options,omitempty"` // drift.MountOptions of the bind
	Volume   string `json:"volume,omitempty"`  // "": a file copied into the container
}

// fileCopy is a file to copy into a created container.
type fileCopy struct {
	Source, Target string
}

// SharesFiles says whether the engine sees this machine's files at the
// same paths, so that bind mounts can be passed as they are: a local
// socket's engine does.
func (e *Engine) SharesFiles() bool { return e.LocalHost() }

// placeSources rewrites the binds of req whose sources must be copied to
// the engine: folders become volumes (made and filled here when missing),
// files are returned to be copied into the container once created.
func (e *Engine) placeSources(ctx context.Context, p *spec.Project, s *spec.Service, req *createRequest, imageID string, detail func(string)) ([]fileCopy, error) {
	if e.SharesFiles() {
		return nil, nil
	}
	var copies []sourceCopy
	var files []fileCopy
	for _, m := range s.Mounts {
		if m.Type != spec.MountBind {
			continue
		}
		c := sourceCopy{Target: m.Target, Source: m.Source, ReadOnly: m.ReadOnly,
			Options: drift.MountOptions(false, "", 0, 0, m.Propagation, m.SELinux)}
		kind, err := sourceKind(p.Dir, m)
		if err != nil {
			return nil, fmt.Errorf("service %s: bind mount at %s: %w", s.Name, m.Target, err)
		}
		if kind == "file" {
			files = append(files, fileCopy{Source: m.Source, Target: m.Target})
		} else {
			name, err := e.sourceVolume(ctx, p, m, kind, imageID, detail)
			if err != nil {
				return nil, fmt.Errorf("service %s: bind mount at %s: %w", s.Name, m.Target, err)
			}
			c.Volume = name
		}
		copies = append(copies, c)
		unbind(req.HostConfig, m.Target)
		if c.Volume != "" {
			req.HostConfig.Mounts = append(req.HostConfig.Mounts, mount.Mount{Type: mount.TypeVolume, Source: c.Volume, Target: m.Target, ReadOnly: m.ReadOnly})
		}
	}
	if len(copies) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(copies)
	if err != nil {
		return nil, err
	}
	if req.Config.Labels == nil {
		req.Config.Labels = map[string]string{}
	}
	req.Config.Labels[LabelCopies] = string(b)
	return files, nil
}

// sourceKind checks a bind source against the definition folder dir and
// says what it is: "file", "dir", or "empty" (missing, to be made empty).
// Symbolic links are resolved first, so a link cannot take the copy
// outside the definition.
func sourceKind(dir string, m spec.Mount) (string, error) {
	if dir == "" || !inside(dir, m.Source) {
		return "", fmt.Errorf("its source %s is outside the definition folder %s; the engine is not on this machine, and Berth copies only sources inside the definition to it: move the files into the definition, or use a volume", m.Source, dir)
	}
	real, err := filepath.EvalSymlinks(m.Source)
	if errors.Is(err, fs.ErrNotExist) {
		if m.CreateHostPath {
			return "empty", nil
		}
		return "", fmt.Errorf("its source %s does not exist", m.Source)
	}
	if err != nil {
		return "", err
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", err
	}
	if !inside(realDir, real) {
		return "", fmt.Errorf("its source %s is a link to %s, outside the definition folder; Berth copies only files inside the definition to a remote engine", m.Source, real)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	switch {
	case fi.Mode().IsRegular():
		return "file", nil
	case fi.IsDir():
		return "dir", nil
	}
	return "", fmt.Errorf("its source %s is neither a file nor a folder", m.Source)
}

// inside says whether path is dir or below it.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// unbind drops the bind at target from hc, in either syntax.
func unbind(hc *container.HostConfig, target string) {
	hc.Mounts = slices.DeleteFunc(hc.Mounts, func(m mount.Mount) bool { return m.Type == mount.TypeBind && m.Target == target })
	hc.Binds = slices.DeleteFunc(hc.Binds, func(b string) bool {
		parts := strings.Split(b, ":")
		return len(parts) >= 2 && parts[1] == target
	})
}

// sourceVolume makes sure the volume holding a folder source exists and
// is filled, and returns its name.
func (e *Engine) sourceVolume(ctx context.Context, p *spec.Project, m spec.Mount, kind, imageID string, detail func(string)) (string, error) {
	rel, _ := filepath.Rel(p.Dir, m.Source)
	rel = filepath.ToSlash(rel)
	labels := map[string]string{labelSourceOf: p.Name, labelSourcePath: rel, reconcile.LabelManaged: "true"}
	var name string
	if m.ReadOnly && kind == "dir" {
		sum, err := treeHash(m.Source)
		if err != nil {
			return "", err
		}
		name = p.Name + "_src-" + sum[:16]
		labels[labelSourceHash] = sum
	} else {
		h := sha256.Sum256([]byte(rel))
		name = p.Name + "_src-" + hex.EncodeToString(h[:8])
	}
	e.sourceMu.Lock()
	defer e.sourceMu.Unlock()
	if _, err := e.cli.VolumeInspect(ctx, name); err == nil {
		detail("source " + rel + ": copy on the engine is current (" + name + ")")
		return name, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("inspecting volume %s: %w", name, err)
	}
	if _, err := e.cli.VolumeCreate(ctx, volume.CreateOptions{Name: name, Labels: labels}); err != nil {
		return "", fmt.Errorf("creating volume %s for source %s: %w", name, rel, err)
	}
	if kind == "empty" {
		detail("source " + rel + ": missing here, an empty folder on the engine (" + name + ")")
		return name, nil
	}
	start := time.Now()
	n, err := e.fillVolume(ctx, name, m.Source, imageID)
	if err != nil {
		// No half copy stays: the next run makes it again.
		_ = e.cli.VolumeRemove(context.WithoutCancel(ctx), name, true)
		return "", fmt.Errorf("copying source %s to the engine: %w", rel, err)
	}
	detail(fmt.Sprintf("source %s: copied to the engine (%s, %d bytes in %s)", rel, name, n, time.Since(start).Round(time.Millisecond)))
	return name, nil
}

// fillVolume copies the folder src into the volume through a container
// that is created and never started (the archive API reaches its mounts).
func (e *Engine) fillVolume(ctx context.Context, name, src, imageID string) (int64, error) {
	cfg := &container.Config{Image: imageID, Entrypoint: []string{"/berth-never-started"}, Labels: map[string]string{LabelHelper: "source-copy", reconcile.LabelManaged: "true"}}
	hc := &container.HostConfig{NetworkMode: "none", Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: name, Target: "/berth-source"}}}
	c, err := e.cli.ContainerCreate(ctx, cfg, hc, nil, nil, "")
	if err != nil {
		return 0, fmt.Errorf("creating the copy container: %w", err)
	}
	defer e.discard(ctx, c.ID)
	pr, pw := io.Pipe()
	counted := &countWriter{w: pw}
	go func() { pw.CloseWithError(writeTree(counted, src)) }()
	err = e.cli.CopyToContainer(ctx, c.ID, "/berth-source", pr, container.CopyToContainerOptions{})
	pr.CloseWithError(err)
	return counted.n, err
}

// copyFiles copies file sources into a created container.
func (e *Engine) copyFiles(ctx context.Context, id string, files []fileCopy) error {
	if len(files) == 0 {
		return nil
	}
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		for _, f := range files {
			if err := addFile(tw, f.Source, strings.TrimPrefix(f.Target, "/")); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(tw.Close())
	}()
	err := e.cli.CopyToContainer(ctx, id, "/", pr, container.CopyToContainerOptions{})
	pr.CloseWithError(err)
	if err != nil {
		return fmt.Errorf("copying bind sources into the container: %w", err)
	}
	return nil
}

// sweepSources removes the source copies of an environment that no
// container of it mounts any more (after a change of content, or down).
func (e *Engine) sweepSources(ctx context.Context, project string) {
	if e.SharesFiles() || e.cli == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	vs, err := e.cli.VolumeList(ctx, volume.ListOptions{Filters: filters.NewArgs(filters.Arg("label", labelSourceOf+"="+project))})
	if err != nil || len(vs.Volumes) == 0 {
		return
	}
	cs, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", reconcile.LabelProject+"="+project))})
	if err != nil {
		return
	}
	used := map[string]bool{}
	for _, c := range cs {
		for _, m := range c.Mounts {
			used[m.Name] = true
		}
	}
	for _, v := range vs.Volumes {
		if !used[v.Name] {
			_ = e.cli.VolumeRemove(ctx, v.Name, false)
		}
	}
}

// copiedBinds reads LabelCopies back: the binds the definition declares,
// in place of the volumes and files that carry them on the engine.
func copiedBinds(labels map[string]string, mounts []drift.Mount) []drift.Mount {
	raw, ok := labels[LabelCopies]
	if !ok {
		return mounts
	}
	var copies []sourceCopy
	if json.Unmarshal([]byte(raw), &copies) != nil {
		return mounts
	}
	for _, c := range copies {
		if c.Volume != "" {
			mounts = slices.DeleteFunc(mounts, func(m drift.Mount) bool { return m.Target == c.Target && m.Source == c.Volume })
		}
		mounts = append(mounts, drift.Mount{Type: spec.MountBind, Source: c.Source, Target: c.Target, ReadOnly: c.ReadOnly, Options: c.Options})
	}
	return mounts
}

// treeHash is the content hash of a folder: of the archive writeTree
// makes of it, so equal hashes mean equal copies.
func treeHash(dir string) (string, error) {
	h := sha256.New()
	if err := writeTree(h, dir); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeTree writes the folder dir as a tar archive, in name order, with
// times cleared so that the same files give the same bytes. Links are
// kept as links, never followed; anything but files, folders and links is
// refused.
func writeTree(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		return addFile(tw, path, filepath.ToSlash(rel))
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// addFile writes one file, folder or link at name.
func addFile(tw *tar.Writer, path, name string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	link := ""
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	case fi.Mode().IsRegular(), fi.IsDir():
	default:
		return fmt.Errorf("%s is neither a file, a folder nor a link", path)
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = time.Unix(0, 0), time.Time{}, time.Time{}
	hdr.Uname, hdr.Gname = "", ""
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, fi.Size()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
