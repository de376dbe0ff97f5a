package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// Size is a terminal's size.
type Size struct{ Rows, Cols uint }

// Session is an interactive command in a container: berth exec.
type Session struct {
	Cmd []string
	// TTY gives the command a terminal (stdout and stderr then arrive
	// together, as a terminal shows them).
	TTY    bool
	Stdin  io.Reader // nil: none
	Stdout io.Writer
	Stderr io.Writer
	// Size is the terminal's size at the start; Resize carries the later
	// ones (TTY only).
	Size   Size
	Resize <-chan Size
}

// Attach runs s in the running container id and returns the command's
// exit code once it ends (or ctx does).
func (e *Engine) Attach(ctx context.Context, id string, s Session) (int, error) {
	opts := container.ExecOptions{Cmd: s.Cmd, Tty: s.TTY, AttachStdin: s.Stdin != nil, AttachStdout: true, AttachStderr: true}
	if s.TTY && s.Size.Rows > 0 {
		opts.ConsoleSize = &[2]uint{s.Size.Rows, s.Size.Cols}
	}
	cr, err := e.cli.ContainerExecCreate(ctx, id, opts)
	if err != nil {
		return 0, fmt.Errorf("exec in container %s: %w", shortID(id), err)
	}
	att, err := e.cli.ContainerExecAttach(ctx, cr.ID, container.ExecAttachOptions{Tty: s.TTY, ConsoleSize: opts.ConsoleSize})
	if err != nil {
		return 0, fmt.Errorf("exec in container %s: %w", shortID(id), err)
	}
	defer att.Close()
	if s.TTY && s.Resize != nil {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case sz, ok := <-s.Resize:
					if !ok {
						return
					}
					_ = e.cli.ContainerExecResize(ctx, cr.ID, container.ResizeOptions{Height: sz.Rows, Width: sz.Cols})
				}
			}
		}()
	}
	if s.Stdin != nil {
		go func() {
			_, _ = io.Copy(att.Conn, s.Stdin)
			_ = att.CloseWrite() // end of input reaches the command
		}()
	}
	done := make(chan error, 1)
	go func() {
		var err error
		if s.TTY {
			_, err = io.Copy(s.Stdout, att.Reader)
		} else {
			_, err = stdcopy.StdCopy(s.Stdout, s.Stderr, att.Reader)
		}
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("exec in container %s: %w", shortID(id), err)
	}
	ins, err := e.cli.ContainerExecInspect(context.WithoutCancel(ctx), cr.ID)
	if err != nil {
		return 0, fmt.Errorf("exec in container %s: %w", shortID(id), err)
	}
	return ins.ExitCode, nil
}
