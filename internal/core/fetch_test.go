package core

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// seqFetcher answers Fetch from a list, then (false, nil).
type seqFetcher struct {
	mu    sync.Mutex
	calls int
	seq   []fetchAnswer
}

type fetchAnswer struct {
	changed bool
	err     error
}

func (f *seqFetcher) Fetch(context.Context) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.seq) == 0 {
		return false, nil
	}
	a := f.seq[0]
	f.seq = f.seq[1:]
	return a.changed, a.err
}

func TestWatchRepoReportsMovesAndFailures(t *testing.T) {
	down := errors.New("cannot reach the remote")
	f := &seqFetcher{seq: []fetchAnswer{{false, nil}, {true, nil}, {false, down}, {false, down}, {false, nil}, {true, nil}}}
	b := New(nil, fakeDefs{}, WithFetch(f, func() time.Duration { return 2 * time.Millisecond }))
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan Change, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.watchRepo(ctx, func(c Change) { got <- c })
	}()
	want := []RepoState{{Moved: true}, {Error: down.Error()}, {}, {Moved: true}}
	for i, w := range want {
		select {
		case c := <-got:
			if c.Kind != ChangeRepo || c.Repo == nil || *c.Repo != w {
				t.Fatalf("change %d: %+v (repo %+v), want %+v", i, c, c.Repo, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("change %d never came", i)
		}
	}
	cancel()
	<-done
	select {
	case c := <-got:
		t.Fatalf("an unexpected change: %+v", c)
	default:
	}
}

func TestWatchRepoOffFetchesNothing(t *testing.T) {
	old := fetchRecheck
	fetchRecheck = time.Millisecond
	defer func() { fetchRecheck = old }()
	f := &seqFetcher{}
	b := New(nil, fakeDefs{}, WithFetch(f, func() time.Duration { return 0 }))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	b.watchRepo(ctx, func(c Change) { t.Errorf("change with fetching off: %+v", c) })
	if f.calls != 0 {
		t.Fatalf("fetched %d times with fetching off", f.calls)
	}
}
