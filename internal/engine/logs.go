package engine

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"
	"golang.org/x/sync/errgroup"

	"github.com/berthdev/berth/internal/reconcile"
)

// LogOptions select what Logs reads.
type LogOptions struct {
	// Services limits the output to these services; empty means all.
	Services []string
	// Follow keeps streaming new lines until ctx ends.
	Follow bool
	// Tail is how many last lines of each container to start with; -1 for
	// all of them (0 means none: with Follow, only new lines).
	Tail int
	// Since, if not zero, skips lines older than it.
	Since time.Time
	// Timestamps asks the engine for each line's time (LogLine.Time).
	Timestamps bool
}

// LogLine is one line a container printed.
type LogLine struct {
	Service   string    `json:"service"`
	Container string    `json:"container"`
	Number    int       `json:"number"`
	Stream    string    `json:"stream"` // stdout or stderr
	Time      time.Time `json:"time,omitzero"`
	Text      string    `json:"text"`
}

// Logs streams the logs of the environment's service containers (not
// one-off ones), merged, one call of out per line; out is never called
// concurrently. With Follow it returns nil when ctx ends.
func (e *Engine) Logs(ctx context.Context, project string, opts LogOptions, out func(LogLine)) error {
	list, err := e.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", reconcile.LabelProject+"="+project))})
	if err != nil {
		return fmt.Errorf("listing containers of %s: %w", project, err)
	}
	tail := "all"
	if opts.Tail >= 0 {
		tail = strconv.Itoa(opts.Tail)
	}
	since := ""
	if !opts.Since.IsZero() {
		since = fmt.Sprintf("%d.%09d", opts.Since.Unix(), opts.Since.Nanosecond())
	}
	var mu sync.Mutex
	emit := func(l LogLine) {
		mu.Lock()
		defer mu.Unlock()
		out(l)
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range list {
		svc := c.Labels[reconcile.LabelService]
		if strings.EqualFold(c.Labels[reconcile.LabelOneOff], "true") || len(opts.Services) > 0 && !slices.Contains(opts.Services, svc) {
			continue
		}
		g.Go(func() error {
			ins, err := e.cli.ContainerInspect(gctx, c.ID)
			if cerrdefs.IsNotFound(err) {
				return nil // removed since the list
			}
			if err != nil {
				return fmt.Errorf("inspecting container %s: %w", shortID(c.ID), err)
			}
			base := LogLine{Service: svc, Container: strings.TrimPrefix(ins.Name, "/")}
			base.Number, _ = strconv.Atoi(c.Labels[reconcile.LabelNumber])
			rc, err := e.cli.ContainerLogs(gctx, c.ID, container.LogsOptions{
				ShowStdout: true, ShowStderr: true,
				Follow: opts.Follow, Tail: tail, Since: since, Timestamps: opts.Timestamps,
			})
			if err != nil {
				return fmt.Errorf("logs of %s: %w", base.Container, err)
			}
			defer rc.Close()
			stdout := newLineWriter(base, "stdout", opts.Timestamps, emit)
			stderr := newLineWriter(base, "stderr", opts.Timestamps, emit)
			if ins.Config != nil && ins.Config.Tty {
				_, err = io.Copy(stdout, rc)
			} else {
				_, err = stdcopy.StdCopy(stdout, stderr, rc)
			}
			stdout.flush()
			stderr.flush()
			if err != nil && gctx.Err() == nil {
				return fmt.Errorf("logs of %s: %w", base.Container, err)
			}
			return nil
		})
	}
	err = g.Wait()
	if ctx.Err() != nil && opts.Follow {
		return nil
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

// lineWriter splits a stream into lines (of at most MaxLineBytes, see
// lineSplitter).
type lineWriter struct {
	base   LogLine
	stream string
	stamps bool
	emit   func(LogLine)
	lines  lineSplitter
}

func newLineWriter(base LogLine, stream string, stamps bool, emit func(LogLine)) *lineWriter {
	w := &lineWriter{base: base, stream: stream, stamps: stamps, emit: emit}
	w.lines.emit = w.line
	return w
}

func (w *lineWriter) Write(p []byte) (int, error) { return w.lines.Write(p) }

func (w *lineWriter) flush() { w.lines.flush() }

func (w *lineWriter) line(s string) {
	l := w.base
	l.Stream = w.stream
	if w.stamps {
		if ts, rest, ok := strings.Cut(s, " "); ok {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				l.Time, s = t, rest
			}
		}
	}
	l.Text = s
	w.emit(l)
}
