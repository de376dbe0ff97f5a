package engine

import (
	"fmt"
	"strings"
	"time"

	bkclient "github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

// buildProgress turns BuildKit's solve status into the lines a build op
// reports, as `docker build --progress=plain` prints them:
//
//	#5 [build 3/6] RUN go build ./...
//	#5 go: downloading example.com/mod v1.0.0
//	#5 DONE 2.1s
//	#6 [build 4/6] COPY . .
//	#6 CACHED
//	#7 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2
//
// A step is numbered when it is first shown. Its output is cut into
// lines like every other output Berth keeps (MaxLineBytes); the last
// lines of each step are kept for the error a failing step gives. Not
// safe for concurrent use: one goroutine reads the status channel.
type buildProgress struct {
	emit   func(string)
	mask   func(string) string // hides secret values; nil: none
	steps  map[digest.Digest]*buildStep
	shown  int          // steps numbered so far
	failed []*buildStep // steps that reported an error, in order
}

// buildStep is one vertex of the build graph.
type buildStep struct {
	n       int // 0 until shown
	name    string
	started *time.Time
	ended   string // the last end line shown: DONE, CACHED or ERROR
	err     string
	out     map[int]*lineSplitter // by stream
	last    []string              // the last lines of output
	status  map[string]bool       // status lines already shown (done)
}

func newBuildProgress(emit func(string), mask func(string) string) *buildProgress {
	return &buildProgress{emit: emit, mask: mask, steps: map[digest.Digest]*buildStep{}}
}

func (p *buildProgress) line(s *buildStep, text string) {
	if p.mask != nil {
		text = p.mask(text)
	}
	p.emit(fmt.Sprintf("#%d %s", s.n, text))
}

// step returns the vertex's state, made on first sight.
func (p *buildProgress) step(d digest.Digest, name string) *buildStep {
	s := p.steps[d]
	if s == nil {
		s = &buildStep{name: name}
		p.steps[d] = s
	}
	if name != "" {
		s.name = name
	}
	return s
}

// show numbers a step and prints its name, once.
func (p *buildProgress) show(s *buildStep) {
	if s.n != 0 {
		return
	}
	p.shown++
	s.n = p.shown
	p.line(s, s.name)
}

// update takes one status message.
func (p *buildProgress) update(st *bkclient.SolveStatus) {
	for _, v := range st.Vertexes {
		s := p.step(v.Digest, v.Name)
		if v.Started != nil {
			if s.started == nil || v.Started.After(*s.started) {
				s.started = v.Started
			}
			p.show(s)
		}
		if v.Cached {
			p.show(s)
		}
		if v.Completed == nil {
			continue
		}
		p.show(s)
		switch {
		case v.Error != "":
			if s.err == "" {
				p.failed = append(p.failed, s)
			}
			s.err = v.Error
			p.flushStep(s)
			p.end(s, "ERROR: "+v.Error)
		case v.Cached:
			p.end(s, "CACHED")
		default:
			p.flushStep(s)
			d := time.Duration(0)
			if v.Started != nil {
				d = v.Completed.Sub(*v.Started)
			}
			p.end(s, fmt.Sprintf("DONE %.1fs", d.Seconds()))
		}
	}
	for _, vs := range st.Statuses {
		s := p.steps[vs.Vertex]
		if s == nil || vs.Completed == nil || s.status[vs.ID] {
			continue
		}
		if s.status == nil {
			s.status = map[string]bool{}
		}
		s.status[vs.ID] = true
		p.show(s)
		id := vs.ID
		if rest, ok := strings.CutPrefix(id, "sha256:"); ok && len(rest) > 12 {
			id = "sha256:" + rest[:12]
		}
		if vs.Current > 0 {
			id += " " + bytesText(vs.Current)
		}
		p.line(s, id+" done")
	}
	for _, l := range st.Logs {
		s := p.step(l.Vertex, "")
		p.show(s)
		if s.out == nil {
			s.out = map[int]*lineSplitter{}
		}
		w := s.out[l.Stream]
		if w == nil {
			w = &lineSplitter{emit: func(text string) { p.output(s, text) }}
			s.out[l.Stream] = w
		}
		w.Write(l.Data)
	}
	for _, w := range st.Warnings {
		s := p.step(w.Vertex, "")
		p.show(s)
		p.line(s, "WARN: "+strings.TrimSpace(string(w.Short)))
	}
}

// output is one line a step printed.
func (p *buildProgress) output(s *buildStep, text string) {
	if p.mask != nil {
		text = p.mask(text)
	}
	s.last = append(s.last, text)
	if len(s.last) > logLinesInErrors {
		s.last = s.last[1:]
	}
	p.emit(fmt.Sprintf("#%d %s", s.n, text))
}

// end prints a step's end line once: BuildKit may report a step again
// (done, then cached), and only an error is worth a second line.
func (p *buildProgress) end(s *buildStep, text string) {
	if s.ended == text || s.ended != "" && !strings.HasPrefix(text, "ERROR") {
		return
	}
	s.ended = text
	p.line(s, text)
}

func (p *buildProgress) flushStep(s *buildStep) {
	for _, w := range s.out {
		w.flush()
	}
}

// finish ends every step's last line of output.
func (p *buildProgress) finish() {
	for _, s := range p.steps {
		p.flushStep(s)
	}
}

// failure is the step that failed the build, or nil: the first that
// reported an error other than a cancellation (a failing step cancels
// the steps running beside it).
func (p *buildProgress) failure() *buildStep {
	for _, s := range p.failed {
		if !strings.Contains(s.err, "context canceled") && !strings.Contains(s.err, "canceled:") {
			return s
		}
	}
	if len(p.failed) > 0 {
		return p.failed[0]
	}
	return nil
}
