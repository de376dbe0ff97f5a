package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berthdev/berth/internal/failpoint"
	"github.com/berthdev/berth/internal/spec"
)

// acquire takes env's lock and converges the records of operations that
// were killed: each is marked interrupted (and said so in an event); the
// plan that follows brings the environment to where it should be.
func (b *Berth) acquire(ctx context.Context, env, what string, emit Emit) (release func(), interrupted []Deployment, err error) {
	release = func() {}
	if env == "" {
		return nil, nil, errors.New("no environment named")
	}
	if err := spec.ValidateName(env); err != nil {
		return nil, nil, fmt.Errorf("environment name: %w", err)
	}
	if b.lock != nil {
		r, err := b.lock.Lock(ctx, env, what)
		if err != nil {
			return nil, nil, err
		}
		release = r
	}
	if b.store == nil {
		return release, nil, nil
	}
	un, err := b.store.Unfinished(ctx, env)
	if err != nil {
		release()
		return nil, nil, err
	}
	for _, d := range un {
		if err := b.store.MarkInterrupted(ctx, d.ID); err != nil {
			release()
			return nil, nil, err
		}
		if len(interrupted) == 0 {
			// Its helpers first: one may still be copying into a volume.
			if err := b.removeHelpers(ctx, env, emit); err != nil {
				release()
				return nil, nil, err
			}
		}
		interrupted = append(interrupted, d)
		what := d.Kind
		if d.Revision != "" {
			what += " of " + shortRev(d.Revision)
		}
		emit.send(Event{Env: env, Kind: EventWarning, Detail: fmt.Sprintf("%s (#%d, started %s) was interrupted before it finished; recorded as interrupted, and this run converges %s",
			what, d.ID, d.StartedAt.Local().Format(time.DateTime), env)})
	}
	if len(interrupted) == 0 {
		// An operation that failed because the engine went away could not
		// remove its helpers either (the connection they would go through
		// was the one that broke): the next one does.
		last, err := b.store.History(ctx, env, HistoryFilter{Limit: 1})
		if err != nil {
			release()
			return nil, nil, err
		}
		if len(last) == 1 && last[0].Status != StatusSucceeded {
			if err := b.removeHelpers(ctx, env, emit); err != nil {
				release()
				return nil, nil, err
			}
		}
	}
	return release, interrupted, nil
}

// recordIDs are the ids of records.
func recordIDs(ds []Deployment) []int64 {
	var out []int64
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

func (b *Berth) begin(ctx context.Context, d Deployment) (int64, error) {
	if b.store == nil {
		return 0, nil
	}
	id, err := b.store.Begin(ctx, d)
	if err == nil {
		failpoint.Hit(failpoint.Begin)
	}
	return id, err
}

// finish records the outcome even when ctx was cancelled: the record must
// not stay "running" because the user pressed Ctrl-C.
func (b *Berth) finish(ctx context.Context, id int64, o Outcome) error {
	if b.store == nil || id == 0 {
		return nil
	}
	failpoint.Hit(failpoint.Finishing)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return b.store.Finish(cctx, id, o)
}

func outcome(err error, digests map[string]string) Outcome {
	if err == nil {
		return Outcome{Status: StatusSucceeded, ImageDigests: digests}
	}
	return Outcome{Status: StatusFailed, Error: err.Error(), ImageDigests: digests}
}

// succeeded returns env's successful up/deploy/rollback records, newest
// first.
func (b *Berth) succeeded(ctx context.Context, env string) ([]Deployment, error) {
	if b.store == nil {
		return nil, nil
	}
	return b.store.History(ctx, env, HistoryFilter{Kinds: deployedKinds, Status: StatusSucceeded})
}

// lastGood is the newest successful deployment of env that names a
// revision, nil when there is none.
func (b *Berth) lastGood(ctx context.Context, env string) (*Deployment, error) {
	ds, err := b.succeeded(ctx, env)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		if ds[i].Revision != "" {
			return &ds[i], nil
		}
	}
	return nil, nil
}

// current is what runs in env according to the records: the newest
// successful up, down, deploy or rollback (nil when none, or a down).
func (b *Berth) current(ctx context.Context, env string) (*Deployment, error) {
	if b.store == nil {
		return nil, nil
	}
	ds, err := b.store.History(ctx, env, HistoryFilter{Kinds: []string{KindUp, KindDown, KindDeploy, KindRollback}, Status: StatusSucceeded, Limit: 1})
	if err != nil || len(ds) == 0 || ds[0].Kind == KindDown {
		return nil, err
	}
	return &ds[0], nil
}
