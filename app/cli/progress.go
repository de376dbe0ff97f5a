package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/reconcile"
)

var jsonMarshal = json.Marshal

// opWait is the kind of the pseudo-op the engine reports while it waits for
// an environment to be running and healthy after its plan.
const opWait reconcile.OpKind = "wait"

// progress renders the events of one operation: on a terminal as a live
// table of ops redrawn in place, otherwise as plain lines, and not at all
// with --output json (the result document is the output then).
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	live   bool
	quiet  bool
	env    string
	ops    map[int]*opLine
	drawn  int
	ticker *time.Ticker
	done   chan struct{}
	paused bool // a question is on screen: no redraws
}

type opLine struct {
	op      reconcile.Op
	status  reconcile.Status
	detail  string
	started time.Time
	took    time.Duration
}

func (a *app) progress(env string) *progress {
	p := &progress{w: a.stderr, env: env, ops: map[int]*opLine{}, quiet: a.json(), live: !a.json() && isTerminal(a.stderr)}
	a.live.mu.Lock()
	a.live.pr = p
	a.live.mu.Unlock()
	if p.live {
		p.ticker = time.NewTicker(120 * time.Millisecond)
		p.done = make(chan struct{})
		go func() {
			for {
				select {
				case <-p.ticker.C:
					p.mu.Lock()
					p.redraw()
					p.mu.Unlock()
				case <-p.done:
					return
				}
			}
		}()
	}
	return p
}

func (p *progress) event(ev core.Event) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Kind {
	case core.EventPlan:
		if len(p.ops) > 0 {
			// A second plan (an automatic rollback): leave the first
			// table on screen and start another.
			p.drawn = 0
			p.ops = map[int]*opLine{}
		}
		// Every op shows from the start, pending until it runs.
		for _, op := range ev.Plan.Ops {
			if _, ok := p.ops[op.ID]; !ok {
				p.ops[op.ID] = &opLine{op: op}
			}
		}
		p.redraw()
		return
	case core.EventWarning, core.EventMessage:
		p.clear()
		prefix := ""
		if ev.Kind == core.EventWarning {
			prefix = "warning: "
		}
		fmt.Fprintf(p.w, "%s%s\n", prefix, ev.Detail)
		p.redraw()
		return
	}
	if ev.Op == nil {
		return
	}
	l, ok := p.ops[ev.Op.ID]
	if !ok {
		l = &opLine{op: *ev.Op}
		p.ops[ev.Op.ID] = l
	}
	if ev.Status == reconcile.StatusStarted {
		l.started = ev.Time
	}
	l.status = ev.Status
	l.detail = ev.Detail
	if ev.Error != "" {
		l.detail = ev.Error
	}
	if (ev.Status == reconcile.StatusDone || ev.Status == reconcile.StatusFailed) && !l.started.IsZero() {
		l.took = ev.Time.Sub(l.started)
	}
	if p.live {
		p.redraw()
		return
	}
	// Plain lines: one per state change that matters. Waiting is implied
	// by a start that comes later; the final wait for health says only how
	// it ended.
	if ev.Status == reconcile.StatusProgress || ev.Status == reconcile.StatusWaiting ||
		(ev.Op.Kind == opWait && ev.Status == reconcile.StatusStarted) {
		return
	}
	line := fmt.Sprintf("%s: %s %s: %s", p.env, ev.Op.Kind, ev.Op.Resource, ev.Status)
	if l.detail != "" && ev.Status != reconcile.StatusStarted {
		line += " (" + l.detail + ")"
	}
	if ev.Status == reconcile.StatusDone && l.took > 0 {
		line += fmt.Sprintf(" in %s", l.took.Round(10*time.Millisecond))
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) close() {
	if p.live {
		p.ticker.Stop()
		close(p.done)
		p.mu.Lock()
		p.redraw()
		p.drawn = 0 // leave the final table on screen
		p.mu.Unlock()
	}
}

// pause stops redrawing (and clears the table) while a question is asked.
func (p *progress) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	p.paused = true
}

func (p *progress) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = false
}

func (p *progress) clear() {
	if !p.live || p.drawn == 0 {
		return
	}
	fmt.Fprintf(p.w, "\x1b[%dA\x1b[J", p.drawn)
	p.drawn = 0
}

var spin = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (p *progress) redraw() {
	if !p.live || len(p.ops) == 0 || p.paused {
		return
	}
	p.clear()
	ids := make([]int, 0, len(p.ops))
	for id := range p.ops {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	frame := spin[int(time.Now().UnixMilli()/120)%len(spin)]
	var b strings.Builder
	for _, id := range ids {
		l := p.ops[id]
		mark, color := frame, "\x1b[36m"
		took := ""
		switch l.status {
		case reconcile.StatusDone:
			mark, color = "✔", "\x1b[32m"
			took = l.took.Round(100 * time.Millisecond).String()
		case reconcile.StatusFailed:
			mark, color = "✘", "\x1b[31m"
		case reconcile.StatusSkipped:
			mark, color = "-", "\x1b[90m"
		case reconcile.StatusWaiting:
			mark = "…"
		case "":
			mark, color = "·", "\x1b[90m"
		default:
			if !l.started.IsZero() {
				took = time.Since(l.started).Round(100 * time.Millisecond).String()
			}
		}
		detail := l.detail
		if detail == "" {
			detail = l.op.Cause
		}
		fmt.Fprintf(&b, " %s%s\x1b[0m %-18s %-28s %-8s %s\n", color, mark, l.op.Kind, l.op.Resource, took, oneLine(detail, 60))
	}
	fmt.Fprint(p.w, b.String())
	p.drawn = len(ids)
}
