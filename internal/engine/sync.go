package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berthdev/berth/internal/reconcile"
)

// SyncFile is a host file to put into a container (live development).
type SyncFile struct {
	// Host is the file's absolute path on this machine; Container its
	// absolute path in the container.
	Host, Container string
}

// CopyFiles puts host files into a running container through the
// engine's archive API (so a remote engine gets them too; nothing is bind
// mounted). A symlink is copied as a symlink, never followed, so nothing
// it points at is read; a folder is made (empty: its files come one by
// one); a file gone meanwhile is skipped. Folders on the way are made by
// the engine. Files keep their mode and belong to root.
func (e *Engine) CopyFiles(ctx context.Context, id string, files []SyncFile) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	n := 0
	for _, f := range files {
		ok, err := addSyncFile(tw, f)
		if err != nil {
			return err
		}
		if ok {
			n++
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := e.cli.CopyToContainer(ctx, id, "/", &buf, container.CopyToContainerOptions{}); err != nil {
		return fmt.Errorf("copying files into container %s: %w", shortID(id), err)
	}
	return nil
}

func addSyncFile(tw *tar.Writer, f SyncFile) (bool, error) {
	fi, err := os.Lstat(f.Host)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	hdr := &tar.Header{Name: strings.TrimPrefix(f.Container, "/"), Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(f.Host)
		if err != nil {
			return false, nil
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		return true, tw.WriteHeader(hdr)
	case fi.IsDir():
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
		return true, tw.WriteHeader(hdr)
	case !fi.Mode().IsRegular():
		return false, nil // a socket, a device: nothing to copy
	}
	// A file swapped for a symlink since the Lstat is not read.
	fh, gone, err := openNoFollow(f.Host, fi)
	if err != nil || gone {
		return false, err
	}
	defer fh.Close()
	data, err := io.ReadAll(fh)
	if err != nil {
		return false, err
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(data))
	if err := tw.WriteHeader(hdr); err != nil {
		return false, err
	}
	_, err = tw.Write(data)
	return true, err
}

// ErrNoRemover: a container cannot remove files (it has no rm).
var ErrNoRemover = errors.New("the container has no rm to remove files with")

// RemoveFiles removes paths (absolute, in the container) from a running
// container with an exec of rm -rf: the engine's API has no other way to
// remove a file. A container without rm (an image FROM scratch) gives
// ErrNoRemover.
func (e *Engine) RemoveFiles(ctx context.Context, id string, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	code, out, err := e.Exec(ctx, id, append([]string{"rm", "-rf", "--"}, paths...))
	if err != nil {
		if strings.Contains(err.Error(), "executable file not found") || strings.Contains(err.Error(), "no such file or directory") {
			return fmt.Errorf("removing %s: %w", strings.Join(paths, ", "), ErrNoRemover)
		}
		return err
	}
	if code == 126 || code == 127 {
		return fmt.Errorf("removing %s: %w", strings.Join(paths, ", "), ErrNoRemover)
	}
	if code != 0 {
		return fmt.Errorf("removing %s in container %s: rm exited %d: %s", strings.Join(paths, ", "), shortID(id), code, strings.TrimSpace(out))
	}
	return nil
}

// Exec runs argv in a running container (no shell) and returns its exit
// code and output (stdout and stderr together).
func (e *Engine) Exec(ctx context.Context, id string, argv []string) (int, string, error) {
	cr, err := e.cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: argv, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return 0, "", fmt.Errorf("exec in container %s: %w", shortID(id), err)
	}
	att, err := e.cli.ContainerExecAttach(ctx, cr.ID, container.ExecAttachOptions{})
	if err != nil {
		return 0, "", fmt.Errorf("exec in container %s: %w", shortID(id), err)
	}
	defer att.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, att.Reader); err != nil && !errors.Is(err, io.EOF) {
		return 0, out.String(), fmt.Errorf("exec in container %s: %w", shortID(id), err)
	}
	ins, err := e.cli.ContainerExecInspect(ctx, cr.ID)
	if err != nil {
		return 0, out.String(), fmt.Errorf("exec in container %s: %w", shortID(id), err)
	}
	return ins.ExitCode, out.String(), nil
}

// RestartContainer restarts a container, its grace period honoured.
func (e *Engine) RestartContainer(ctx context.Context, id string) error {
	if err := e.cli.ContainerRestart(ctx, id, container.StopOptions{}); err != nil {
		return fmt.Errorf("restarting container %s: %w", shortID(id), err)
	}
	return nil
}

// RunningContainers lists the running containers Berth made for a
// service of project (not one-off ones), by name and id, in one call to
// the engine: what a sync copies into.
func (e *Engine) RunningContainers(ctx context.Context, project, service string) (map[string]string, error) {
	f := filters.NewArgs(
		filters.Arg("label", reconcile.LabelProject+"="+project),
		filters.Arg("label", reconcile.LabelService+"="+service),
		filters.Arg("label", reconcile.LabelManaged+"=true"),
		filters.Arg("status", "running"),
	)
	list, err := e.cli.ContainerList(ctx, container.ListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	out := map[string]string{}
	for _, c := range list {
		if c.Labels[reconcile.LabelOneOff] == "True" || len(c.Names) == 0 {
			continue
		}
		out[strings.TrimPrefix(c.Names[0], "/")] = c.ID
	}
	return out, nil
}
