package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
)

type fakeCore struct {
	Core  // methods a test does not need panic
	lines int
	text  string // each line's text, when set
	block chan struct{}
}

func (f *fakeCore) Logs(ctx context.Context, req core.LogsRequest, out func(core.LogLine)) error {
	for i := range f.lines {
		text := f.text
		if text == "" {
			text = fmt.Sprint("line ", i)
		}
		out(core.LogLine{Service: "web", Text: text})
	}
	if f.block != nil {
		<-ctx.Done()
		return nil
	}
	return errors.New("container went away")
}

func (f *fakeCore) Up(ctx context.Context, req core.UpRequest, emit core.Emit) (*core.Result, error) {
	emit(core.Event{Env: req.Env, Kind: "message", Detail: "hi"})
	<-f.block
	return &core.Result{Env: req.Env}, nil
}

type recorder struct {
	mu     sync.Mutex
	names  []string
	values []any
}

func (r *recorder) emit(name string, data any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, name)
	r.values = append(r.values, data)
}

func (r *recorder) batches() []LogBatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []LogBatch
	for i, n := range r.names {
		if n == EventLog {
			out = append(out, r.values[i].(LogBatch))
		}
	}
	return out
}

func TestLogsBatchedAndEnded(t *testing.T) {
	rec := &recorder{}
	s := New(&fakeCore{lines: 1200}, nil, rec.emit)
	id, err := s.SubscribeLogs(t.Context(), LogRequest{Env: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		bs := rec.batches()
		if len(bs) > 0 && bs[len(bs)-1].Done {
			n := 0
			for _, b := range bs {
				if b.ID != id {
					t.Fatalf("batch of %q, want %q", b.ID, id)
				}
				if len(b.Lines) > MaxBatch {
					t.Fatalf("batch of %d lines", len(b.Lines))
				}
				n += len(b.Lines)
			}
			if n != 1200 || bs[len(bs)-1].Error != "container went away" || len(bs) < 3 {
				t.Fatalf("got %d lines in %d batches, end %+v", n, len(bs), bs[len(bs)-1])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no end batch: %d batches", len(bs))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitEnd waits for a subscription's last batch and returns every batch.
func waitEnd(t *testing.T, rec *recorder) []LogBatch {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		bs := rec.batches()
		if len(bs) > 0 && bs[len(bs)-1].Done {
			return bs
		}
		if time.Now().After(deadline) {
			t.Fatalf("no end batch: %d batches", len(bs))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLogBatchesBoundedInBytes: long lines (16 KiB, the most the engine
// keeps of one) make smaller batches, not 8 MiB events.
func TestLogBatchesBoundedInBytes(t *testing.T) {
	rec := &recorder{}
	line := strings.Repeat("x", 16<<10)
	s := New(&fakeCore{lines: 300, text: line}, nil, rec.emit)
	if _, err := s.SubscribeLogs(t.Context(), LogRequest{Env: "shop"}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range waitEnd(t, rec) {
		size := 0
		for _, l := range b.Lines {
			size += len(l.Text)
		}
		if size > MaxBatchBytes+len(line) {
			t.Errorf("a batch of %d lines holds %d bytes", len(b.Lines), size)
		}
		n += len(b.Lines)
	}
	if n != 300 {
		t.Errorf("%d lines arrived, want 300", n)
	}
}

func TestLogsBounded(t *testing.T) {
	rec := &recorder{}
	s := New(&fakeCore{block: make(chan struct{})}, nil, rec.emit)
	var ids []string
	for range MaxLogStreams + 2 {
		id, err := s.SubscribeLogs(t.Context(), LogRequest{Env: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	s.mu.Lock()
	n := len(s.logs)
	_, first := s.logs[ids[0]]
	s.mu.Unlock()
	if n != MaxLogStreams || first {
		t.Fatalf("%d subscriptions (oldest kept: %v), want %d", n, first, MaxLogStreams)
	}
	for _, id := range ids {
		s.UnsubscribeLogs(id)
	}
}

func TestOneOperationPerEnvironment(t *testing.T) {
	rec := &recorder{}
	f := &fakeCore{block: make(chan struct{})}
	s := New(f, nil, rec.emit)
	done := make(chan struct{})
	go func() { s.Up(t.Context(), "shop", "", ""); close(done) }()
	for {
		s.mu.Lock()
		_, busy := s.busy["shop"]
		s.mu.Unlock()
		if busy {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := s.Up(t.Context(), "shop", "", ""); !errors.Is(err, ErrBusy) {
		t.Fatalf("want ErrBusy, got %v", err)
	}
	close(f.block)
	<-done
	if len(rec.names) == 0 || rec.names[0] != EventOp {
		t.Fatalf("want op events, got %v", rec.names)
	}
}
