package core

import (
	"context"
	"time"
)

// Fetcher brings the definitions repo up to date with its remote.
type Fetcher interface {
	// Fetch fetches the tracked branch (a repo opened in place from a
	// path has nothing to fetch: false, nil) and reports whether any ref
	// moved.
	Fetch(ctx context.Context) (changed bool, err error)
}

// RepoState is the outcome of a background fetch of the definitions repo.
type RepoState struct {
	// Moved: the fetch brought new commits (or moved a branch).
	Moved bool `json:"moved,omitempty"`
	// Error says why the fetch failed; a Change with neither Moved nor
	// Error says fetching works again.
	Error string `json:"error,omitempty"`
}

// DefaultFetchInterval is how often the apps fetch a cloned definitions
// repo unless the settings say otherwise.
const DefaultFetchInterval = 5 * time.Minute

// fetchRecheck is how often a disabled fetch loop looks at its interval
// again (the settings may turn it on).
var fetchRecheck = time.Minute

// WithFetch makes Watch fetch the definitions repo through f every
// every() (read again before each wait, so that a settings change takes
// effect after the wait under way; zero or less turns fetching off).
func WithFetch(f Fetcher, every func() time.Duration) Option {
	return func(b *Berth) { b.fetcher, b.fetchEvery = f, every }
}

// watchRepo fetches on the interval until ctx ends and reports moves and
// failures through send. A failure is reported once until the error
// changes or fetching works again; it never stops the loop.
func (b *Berth) watchRepo(ctx context.Context, send func(Change)) {
	if b.fetcher == nil || b.fetchEvery == nil {
		return
	}
	lastErr := ""
	for {
		every := b.fetchEvery()
		wait := every
		if every <= 0 {
			wait = fetchRecheck
		}
		if !sleep(ctx, wait) {
			return
		}
		if every <= 0 {
			continue
		}
		changed, err := b.fetcher.Fetch(ctx)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil:
			if err.Error() != lastErr {
				send(Change{Kind: ChangeRepo, Repo: &RepoState{Error: err.Error()}})
			}
			lastErr = err.Error()
		case changed:
			lastErr = ""
			send(Change{Kind: ChangeRepo, Repo: &RepoState{Moved: true}})
		case lastErr != "":
			lastErr = ""
			send(Change{Kind: ChangeRepo, Repo: &RepoState{}})
		}
	}
}
