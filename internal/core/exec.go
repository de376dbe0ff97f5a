package core

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/berthdev/berth/internal/reconcile"
)

// TermSize is a terminal's size.
type TermSize struct{ Rows, Cols uint }

// ExecRequest asks for a command in a running container of a service:
// berth exec ENV SERVICE [-- CMD].
type ExecRequest struct {
	Env, Service string
	// Index picks the service's container by number (0: the lowest
	// running one).
	Index int
	// Cmd is the command (none: sh, a shell).
	Cmd []string
	// TTY gives it a terminal; Size and Resize are the user's.
	TTY    bool
	Size   TermSize
	Resize <-chan TermSize
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Sheller is an engine that attaches a command to a running container.
type Sheller interface {
	Shell(ctx context.Context, container string, req ExecRequest) (int, error)
}

// Exec runs a command in a running container of one of env's services,
// attached to the caller's input and output, and returns its exit code.
// It changes nothing Berth records: the container is the user's to poke.
func (b *Berth) Exec(ctx context.Context, req ExecRequest) (int, error) {
	e, err := b.eng(ctx)
	if err != nil {
		return 0, err
	}
	sh, ok := e.(Sheller)
	if !ok {
		return 0, fmt.Errorf("this engine cannot run commands in containers")
	}
	o, err := e.ObserveProject(ctx, req.Env)
	if err != nil {
		return 0, err
	}
	c, err := execTarget(o, req)
	if err != nil {
		return 0, err
	}
	if len(req.Cmd) == 0 {
		req.Cmd = []string{"sh"}
	}
	return sh.Shell(ctx, c.ID, req)
}

// execTarget is the running container req names.
func execTarget(o reconcile.Observed, req ExecRequest) (*reconcile.Container, error) {
	if len(o.Containers) == 0 {
		return nil, fmt.Errorf("environment %q: %w", req.Env, ErrNotFound)
	}
	var services []string
	var target *reconcile.Container
	for i := range o.Containers {
		c := &o.Containers[i]
		if c.OneOff {
			continue
		}
		if !slices.Contains(services, c.Service) {
			services = append(services, c.Service)
		}
		if c.Service != req.Service || c.State != reconcile.StateRunning || (req.Index > 0 && c.Number != req.Index) {
			continue
		}
		if target == nil || c.Number < target.Number {
			target = c
		}
	}
	if target != nil {
		return target, nil
	}
	slices.Sort(services)
	switch {
	case !slices.Contains(services, req.Service):
		return nil, fmt.Errorf("environment %q has no service %q (it has %s): %w", req.Env, req.Service, strings.Join(services, ", "), ErrNotFound)
	case req.Index > 0:
		return nil, fmt.Errorf("service %s of %s has no running container number %d: %w", req.Service, req.Env, req.Index, ErrNotFound)
	}
	return nil, fmt.Errorf("service %s of %s has no running container (berth up %s starts it): %w", req.Service, req.Env, req.Env, ErrNotFound)
}
