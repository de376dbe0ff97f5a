package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berthdev/berth/internal/reconcile"
	"github.com/berthdev/berth/internal/spec"
)

// pollInterval is how often conditions on containers are checked.
var pollInterval = 250 * time.Millisecond

// logSettle is how long to let a just-exited container's output reach its
// log before reading it.
var logSettle = 300 * time.Millisecond

// logLinesInErrors is how many log lines of a failed container an error
// carries.
const logLinesInErrors = 10

// serviceContainers lists the (not one-off) containers of one service.
func (e *Engine) serviceContainers(ctx context.Context, project, service string) ([]reconcile.Container, error) {
	f := filters.NewArgs(
		filters.Arg("label", reconcile.LabelProject+"="+project),
		filters.Arg("label", reconcile.LabelService+"="+service),
	)
	cs, err := e.listContainers(ctx, f)
	if err != nil {
		return nil, err
	}
	out := cs[:0]
	for _, c := range cs {
		if !c.OneOff {
			out = append(out, c)
		}
	}
	return out, nil
}

// awaitCondition waits until a depends_on condition holds for every
// container of the service, and fails as soon as it cannot: a container
// that exits (with a non-zero code, or at all for service_healthy), turns
// unhealthy, or has no health check to become healthy with.
func (e *Engine) awaitCondition(ctx context.Context, project string, aw reconcile.Await) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		cs, err := e.serviceContainers(ctx, project, aw.Service)
		if err != nil {
			return fmt.Errorf("dependency %s: %w", aw.Service, err)
		}
		if len(cs) == 0 {
			return fmt.Errorf("dependency %s has no containers (condition %s)", aw.Service, aw.Condition)
		}
		ready := true
		for _, c := range cs {
			ok, err := e.conditionHolds(ctx, aw, c)
			if err != nil {
				return err
			}
			ready = ready && ok
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// conditionHolds checks one container against a condition.
func (e *Engine) conditionHolds(ctx context.Context, aw reconcile.Await, c reconcile.Container) (bool, error) {
	exited := c.State == reconcile.StateExited || c.State == reconcile.StateDead
	switch aw.Condition {
	case spec.ConditionCompleted:
		if exited && c.ExitCode == 0 {
			return true, nil
		}
		if exited {
			return false, e.containerFailed(ctx, fmt.Sprintf("dependency %s did not complete successfully: container %s exited with code %d", aw.Service, c.Name, c.ExitCode), c)
		}
		return false, nil
	case spec.ConditionHealthy:
		if exited {
			return false, e.containerFailed(ctx, fmt.Sprintf("dependency %s did not become healthy: container %s exited with code %d", aw.Service, c.Name, c.ExitCode), c)
		}
		switch c.Health {
		case reconcile.HealthHealthy:
			return true, nil
		case reconcile.HealthUnhealthy:
			return false, e.containerFailed(ctx, fmt.Sprintf("dependency %s is unhealthy: container %s failed its health check%s", aw.Service, c.Name, e.lastHealthOutput(ctx, c.ID)), c)
		case reconcile.HealthNone:
			if c.State == reconcile.StateRunning {
				return false, fmt.Errorf("dependency %s has no health check, so it can never be healthy (condition service_healthy); add a healthcheck to it or use condition service_started", aw.Service)
			}
		}
		return false, nil
	default: // service_started
		switch {
		case c.State == reconcile.StateRunning || c.State == reconcile.StateRestarting || c.State == reconcile.StatePaused:
			return true, nil
		case exited && c.ExitCode == 0 && !c.StartedAt.IsZero():
			return true, nil // it ran and finished
		case exited:
			return false, e.containerFailed(ctx, fmt.Sprintf("dependency %s did not start: container %s exited with code %d", aw.Service, c.Name, c.ExitCode), c)
		}
		return false, nil
	}
}

// containerFailed is an error carrying the container's last log lines.
func (e *Engine) containerFailed(ctx context.Context, msg string, c reconcile.Container) error {
	if c.State == reconcile.StateExited || c.State == reconcile.StateDead {
		// The engine may mark a container exited before it has copied the
		// last of its output into the log: give that a moment.
		time.Sleep(logSettle)
	}
	lines := e.lastLogLines(context.WithoutCancel(ctx), c.ID, logLinesInErrors)
	if len(lines) == 0 {
		return errors.New(msg + " (it printed nothing)")
	}
	return fmt.Errorf("%s; its last %d log lines:\n  %s", msg, len(lines), strings.Join(lines, "\n  "))
}

// lastHealthOutput is the output of the last health check, if any.
func (e *Engine) lastHealthOutput(ctx context.Context, id string) string {
	ins, err := e.cli.ContainerInspect(ctx, id)
	if err != nil || ins.State == nil || ins.State.Health == nil || len(ins.State.Health.Log) == 0 {
		return ""
	}
	r := ins.State.Health.Log[len(ins.State.Health.Log)-1]
	out := strings.TrimSpace(r.Output)
	if out == "" {
		return fmt.Sprintf(" (exit code %d)", r.ExitCode)
	}
	return fmt.Sprintf(" (exit code %d: %s)", r.ExitCode, out)
}

// lastLogLines returns up to n last lines a container printed (both
// streams, in order).
func (e *Engine) lastLogLines(ctx context.Context, id string, n int) []string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ins, err := e.cli.ContainerInspect(ctx, id)
	if err != nil {
		return nil
	}
	rc, err := e.cli.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: fmt.Sprint(n)})
	if err != nil {
		return nil
	}
	defer rc.Close()
	// The last lines, each cut at MaxLineBytes: the last line may be a
	// gigabyte without a newline.
	var lines []string
	w := &lineSplitter{emit: func(l string) {
		if l == "" && len(lines) == 0 {
			return
		}
		lines = append(lines, l)
		if len(lines) > n {
			lines = lines[1:]
		}
	}}
	if ins.Config != nil && ins.Config.Tty {
		_, _ = io.Copy(w, rc)
	} else {
		_, _ = stdcopy.StdCopy(w, w, rc)
	}
	w.flush()
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// waitUp waits until every container of every service runs, and is healthy
// where it has a health check. A service that another depends on with
// service_completed_successfully may instead have exited with code 0.
func (e *Engine) waitUp(ctx context.Context, p *spec.Project, timeout time.Duration, emit func(reconcile.Progress)) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	oneShot := map[string]bool{}
	want := map[string]int{}
	for _, s := range p.Services {
		for _, d := range s.DependsOn {
			if d.Condition == spec.ConditionCompleted {
				oneShot[d.Service] = true
			}
		}
		if s.Replicas > 0 {
			want[s.Name] = s.Replicas
		}
	}
	if len(want) == 0 {
		return nil
	}
	f := filters.NewArgs(filters.Arg("label", reconcile.LabelProject+"="+p.Name))
	announced := map[string]bool{}
	ready := map[string]bool{}
	op := func(c reconcile.Container) reconcile.Op {
		return reconcile.Op{Kind: OpWait, Resource: c.Name, Service: c.Service, Number: c.Number, ContainerID: c.ID, Cause: "wait for the environment to be up"}
	}
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		all, err := e.listContainers(ctx, f)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return err
		}
		byService := map[string][]reconcile.Container{}
		for _, c := range all {
			if !c.OneOff {
				byService[c.Service] = append(byService[c.Service], c)
			}
		}
		var pending []string
		for svc, n := range want {
			cs := byService[svc]
			if len(cs) < n {
				return fmt.Errorf("service %s has %d of its %d containers; the plan did not bring it up", svc, len(cs), n)
			}
			for _, c := range cs {
				if !announced[c.ID] {
					announced[c.ID] = true
					what := "waiting to be running"
					if c.Health != reconcile.HealthNone {
						what += " and healthy"
					}
					emit(reconcile.Progress{Op: op(c), Status: reconcile.StatusWaiting, Detail: what})
				}
				ok, err := e.upHolds(ctx, c, oneShot[svc])
				if err != nil {
					emit(reconcile.Progress{Op: op(c), Status: reconcile.StatusFailed, Detail: err.Error(), Err: err})
					return err
				}
				if !ok {
					pending = append(pending, fmt.Sprintf("%s (%s)", c.Name, stateText(c)))
					continue
				}
				if !ready[c.ID] {
					ready[c.ID] = true
					emit(reconcile.Progress{Op: op(c), Status: reconcile.StatusDone, Detail: stateText(c)})
				}
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			sort.Strings(pending)
			if errors.Is(ctx.Err(), context.DeadlineExceeded) && timeout > 0 {
				return fmt.Errorf("timed out after %s waiting for %s", timeout, strings.Join(pending, ", "))
			}
			return fmt.Errorf("stopped waiting for %s: %w", strings.Join(pending, ", "), ctx.Err())
		case <-t.C:
		}
	}
	return ctx.Err()
}

// upHolds reports whether a container counts as up.
func (e *Engine) upHolds(ctx context.Context, c reconcile.Container, oneShot bool) (bool, error) {
	switch c.State {
	case reconcile.StateExited, reconcile.StateDead:
		if oneShot && c.ExitCode == 0 {
			return true, nil
		}
		return false, e.containerFailed(ctx, fmt.Sprintf("service %s: container %s exited with code %d", c.Service, c.Name, c.ExitCode), c)
	case reconcile.StateRunning:
		switch c.Health {
		case reconcile.HealthUnhealthy:
			return false, e.containerFailed(ctx, fmt.Sprintf("service %s: container %s is unhealthy%s", c.Service, c.Name, e.lastHealthOutput(ctx, c.ID)), c)
		case reconcile.HealthNone, reconcile.HealthHealthy:
			return true, nil
		}
	}
	return false, nil
}

func stateText(c reconcile.Container) string {
	if c.Health != reconcile.HealthNone {
		return c.State + ", " + c.Health
	}
	return c.State
}
