package api

import (
	"context"
	"errors"

	"github.com/berthdev/berth/internal/core"
)

// Developer runs live development (core.Berth.Develop); a core without
// it (a test fake) has no Watch toggle.
type Developer interface {
	Develop(ctx context.Context, env string, opts core.DevOptions, out func(core.DevEvent)) error
}

// WatchState says whether an environment's develop.watch is followed.
type WatchState struct {
	Env      string `json:"env"`
	Watching bool   `json:"watching"`
}

// SetWatch starts (on) or stops following env's develop.watch: its file
// changes are synced into the containers, restart or rebuild the service,
// and each action is pushed as an EventChange of kind develop. The watch
// runs under ctx (the app's lifetime), not the caller's request. Starting
// waits until the files are watched, so that an error (no develop.watch,
// the environment is gone) is the answer.
func (s *Service) SetWatch(ctx context.Context, env string, on bool) (WatchState, error) {
	if env == "" {
		return WatchState{}, errors.New("no environment named")
	}
	s.mu.Lock()
	cancel, watching := s.watches[env]
	s.mu.Unlock()
	if !on {
		if watching {
			cancel()
			<-s.watchDone(env)
		}
		return WatchState{Env: env}, nil
	}
	if watching {
		return WatchState{Env: env, Watching: true}, nil
	}
	dev, ok := s.core.(Developer)
	if !ok {
		return WatchState{}, errors.New("live development is not available here")
	}
	wctx, stop := context.WithCancel(ctx)
	started, done := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	s.mu.Lock()
	if _, ok := s.watches[env]; ok { // started meanwhile
		s.mu.Unlock()
		stop()
		return WatchState{Env: env, Watching: true}, nil
	}
	if s.watches == nil {
		s.watches, s.watchEnds = map[string]context.CancelFunc{}, map[string]chan struct{}{}
	}
	s.watches[env], s.watchEnds[env] = stop, done
	s.mu.Unlock()
	go func() {
		defer close(done)
		defer func() {
			s.mu.Lock()
			if s.watchEnds[env] == done {
				delete(s.watches, env)
				delete(s.watchEnds, env)
			}
			s.mu.Unlock()
			stop()
		}()
		first := true
		err := dev.Develop(wctx, env, core.DevOptions{}, func(ev core.DevEvent) {
			s.emit(EventChange, core.Change{Time: ev.Time, Kind: core.ChangeDevelop, Env: env, Develop: &ev})
			if first && ev.Action == core.DevWatching {
				first = false
				close(started)
			}
		})
		errc <- err
	}()
	select {
	case <-started:
		return WatchState{Env: env, Watching: true}, nil
	case err := <-errc:
		<-done // forgotten before the answer
		if err == nil {
			err = errors.New("the watch ended at once")
		}
		return WatchState{Env: env}, err
	case <-ctx.Done():
		return WatchState{Env: env}, ctx.Err()
	}
}

func (s *Service) watchDone(env string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.watchEnds[env]; ok {
		return d
	}
	c := make(chan struct{})
	close(c)
	return c
}

// WatchStatus says whether env's develop.watch is followed.
func (s *Service) WatchStatus(env string) (WatchState, error) {
	if env == "" {
		return WatchState{}, errors.New("no environment named")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.watches[env]
	return WatchState{Env: env, Watching: ok}, nil
}
