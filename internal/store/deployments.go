package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Deployment kinds.
const (
	KindUp       = "up"
	KindDown     = "down"
	KindDeploy   = "deploy"
	KindRollback = "rollback"
	KindHeal     = "heal"
	// One service's containers replaced, and the database operations.
	KindRecreate   = "recreate"
	KindDBClone    = "db-clone"
	KindDBSnapshot = "db-snapshot"
	KindDBRestore  = "db-restore"
	KindDBReset    = "db-reset"
	KindDBRemove   = "db-remove"
)

// Deployment statuses. A record starts "running" and Finish gives it one of
// the others; a record whose process died is "interrupted".
const (
	StatusRunning     = "running"
	StatusSucceeded   = "succeeded"
	StatusFailed      = "failed"
	StatusRolledBack  = "rolled-back"
	StatusInterrupted = "interrupted"
)

var (
	kinds    = []string{KindUp, KindDown, KindDeploy, KindRollback, KindHeal, KindRecreate, KindDBClone, KindDBSnapshot, KindDBRestore, KindDBReset, KindDBRemove}
	statuses = []string{StatusRunning, StatusSucceeded, StatusFailed, StatusRolledBack, StatusInterrupted}
)

// Deployment is one recorded change to an environment.
type Deployment struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"`
	Env        string `json:"env"`
	Definition string `json:"definition,omitempty"`
	// Variant is the definition's variant it ran ("": none).
	Variant string `json:"variant,omitempty"`
	// Engine is the endpoint of the engine it ran on, as it was reached
	// (the store keeps records of one engine apart from another's by the
	// engine's ID, see Store.On).
	Engine           string `json:"engine,omitempty"`
	Revision         string `json:"revision,omitempty"`
	PreviousRevision string `json:"previousRevision,omitempty"`
	Who              Who    `json:"who"`
	// Plan is the plan as JSON (ops and their causes). Never put
	// environment values or other secrets in it.
	Plan json.RawMessage `json:"plan,omitempty"`
	// Detail is what a database operation did, as JSON (service, source,
	// snapshot, strategy): names, never credentials.
	Detail     json.RawMessage `json:"detail,omitempty"`
	StartedAt  time.Time       `json:"startedAt"`
	FinishedAt time.Time       `json:"finishedAt,omitzero"`
	Duration   time.Duration   `json:"duration,omitzero"`
	Status     string          `json:"status"`
	Error      string          `json:"error,omitempty"`
	// ImageDigests maps each service to the image digest it ran.
	ImageDigests map[string]string `json:"imageDigests,omitempty"`
	// SnapshotIDs are the snapshots that went with this deployment (taken
	// before it, so a rollback restores code and data together).
	SnapshotIDs []int64 `json:"snapshotIds,omitempty"`
	Process     Process `json:"process"`
	// HeartbeatAt is when the running process last said it was alive.
	HeartbeatAt time.Time `json:"heartbeatAt,omitzero"`
}

// Who is the person behind a deployment.
type Who struct {
	GitName  string `json:"gitName,omitempty"`
	GitEmail string `json:"gitEmail,omitempty"`
	OSUser   string `json:"osUser,omitempty"`
	Host     string `json:"host,omitempty"`
}

// Process is the process that ran a deployment, to tell later whether a
// record still "running" belongs to a live process or to a killed one.
type Process struct {
	PID  int    `json:"pid"`
	Host string `json:"host"`
	// Start identifies the process instance beyond its pid (on Linux, its
	// start time in clock ticks since boot), so a reused pid is not taken
	// for the recorded process. Empty where unknown.
	Start string `json:"start,omitempty"`
}

// CurrentProcess describes this process.
func CurrentProcess() Process {
	host, _ := os.Hostname()
	pid := os.Getpid()
	return Process{PID: pid, Host: host, Start: procStart(pid)}
}

// CurrentUser fills the OS user and host of who (the Git identity is the
// caller's to find).
func CurrentUser(who Who) Who {
	if who.OSUser == "" {
		if u, err := user.Current(); err == nil {
			who.OSUser = u.Username
		}
	}
	if who.Host == "" {
		who.Host, _ = os.Hostname()
	}
	return who
}

// Outcome is how an operation ended.
type Outcome struct {
	Status string // succeeded, failed, rolled-back or interrupted
	Error  string
	// Duration is the operation's length; zero means the time from
	// StartedAt to Finish.
	Duration     time.Duration
	ImageDigests map[string]string
	SnapshotIDs  []int64
	// Detail, when set, replaces the record's detail (JSON).
	Detail json.RawMessage
}

// Filter narrows History.
type Filter struct {
	Kinds  []string  // any of these kinds; empty: all
	Status string    // this status only; empty: all
	Limit  int       // at most this many; 0 or less: all
	Before time.Time // started strictly before; zero: no bound
}

// Begin records an operation that starts now (or at d.StartedAt when set)
// with status running, and returns its id. Process defaults to this process,
// Who's OS user and host to this one's.
func (s *Store) Begin(ctx context.Context, d Deployment) (int64, error) {
	if !slices.Contains(kinds, d.Kind) {
		return 0, fmt.Errorf("store: begin: unknown kind %q (want one of %s)", d.Kind, strings.Join(kinds, ", "))
	}
	if d.Env == "" {
		return 0, errors.New("store: begin: no environment")
	}
	if len(d.Plan) > 0 && !json.Valid(d.Plan) {
		return 0, errors.New("store: begin: the plan is not valid JSON")
	}
	if len(d.Detail) > 0 && !json.Valid(d.Detail) {
		return 0, errors.New("store: begin: the detail is not valid JSON")
	}
	if d.StartedAt.IsZero() {
		d.StartedAt = s.now()
	}
	if d.Process.PID == 0 {
		d.Process = CurrentProcess()
	}
	d.Who = CurrentUser(d.Who)
	var plan, detail any
	if len(d.Plan) > 0 {
		plan = string(d.Plan)
	}
	if len(d.Detail) > 0 {
		detail = string(d.Detail)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO deployments
		(kind, env, definition, revision, previous_revision, git_name, git_email, os_user, user_host,
		 plan, detail, started_at, status, pid, host, proc_start, heartbeat_at, variant, engine, engine_endpoint)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Kind, d.Env, d.Definition, d.Revision, d.PreviousRevision, d.Who.GitName, d.Who.GitEmail, d.Who.OSUser, d.Who.Host,
		plan, detail, d.StartedAt.UnixMilli(), StatusRunning, d.Process.PID, d.Process.Host, d.Process.Start, s.now().UnixMilli(), d.Variant, s.engine, s.endpoint)
	if err != nil {
		return 0, fmt.Errorf("store: begin %s %s: %w", d.Kind, d.Env, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: begin %s %s: %w", d.Kind, d.Env, err)
	}
	return id, nil
}

// Heartbeat tells other hosts sharing the file that the running operation id
// is still alive (see Store.Lease).
func (s *Store) Heartbeat(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, "UPDATE deployments SET heartbeat_at = ? WHERE id = ? AND status = ?", s.now().UnixMilli(), id, StatusRunning)
	if err != nil {
		return fmt.Errorf("store: heartbeat %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: heartbeat %d: no running deployment with that id: %w", id, ErrNotFound)
	}
	return nil
}

// Finish records how operation id ended. A record already marked
// interrupted can still be finished (its process was alive after all); one
// finished otherwise cannot.
func (s *Store) Finish(ctx context.Context, id int64, o Outcome) error {
	if o.Status == StatusRunning || !slices.Contains(statuses, o.Status) {
		return fmt.Errorf("store: finish %d: unknown status %q", id, o.Status)
	}
	var digests any
	if len(o.ImageDigests) > 0 {
		b, err := json.Marshal(o.ImageDigests)
		if err != nil {
			return fmt.Errorf("store: finish %d: %w", id, err)
		}
		digests = string(b)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: finish %d: %w", id, err)
	}
	defer tx.Rollback()
	var status string
	var started int64
	err = tx.QueryRowContext(ctx, "SELECT status, started_at FROM deployments WHERE id = ?", id).Scan(&status, &started)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: finish %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: finish %d: %w", id, err)
	}
	if status != StatusRunning && status != StatusInterrupted {
		return fmt.Errorf("store: finish %d: already finished (%s)", id, status)
	}
	now := s.now()
	d := o.Duration
	if d == 0 {
		d = now.Sub(time.UnixMilli(started))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE deployments
		SET status = ?, error = ?, finished_at = ?, duration_ms = ?, image_digests = ?
		WHERE id = ?`, o.Status, o.Error, now.UnixMilli(), d.Milliseconds(), digests, id); err != nil {
		return fmt.Errorf("store: finish %d: %w", id, err)
	}
	if len(o.Detail) > 0 {
		if !json.Valid(o.Detail) {
			return fmt.Errorf("store: finish %d: the detail is not valid JSON", id)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE deployments SET detail = ? WHERE id = ?", string(o.Detail), id); err != nil {
			return fmt.Errorf("store: finish %d: %w", id, err)
		}
	}
	for _, sid := range o.SnapshotIDs {
		res, err := tx.ExecContext(ctx, "UPDATE snapshots SET deployment_id = ? WHERE id = ?", id, sid)
		if err != nil {
			return fmt.Errorf("store: finish %d: snapshot %d: %w", id, sid, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: finish %d: snapshot %d: %w", id, sid, ErrNotFound)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: finish %d: %w", id, err)
	}
	return nil
}

// MarkInterrupted records that operation id was killed before it could
// finish. It only changes a record that is still running.
func (s *Store) MarkInterrupted(ctx context.Context, id int64) error {
	now := s.now().UnixMilli()
	res, err := s.db.ExecContext(ctx, `UPDATE deployments
		SET status = ?, finished_at = ?, duration_ms = ? - started_at,
		    error = CASE WHEN error = '' THEN 'the process running it ended before it finished' ELSE error END
		WHERE id = ? AND status = ?`, StatusInterrupted, now, now, id, StatusRunning)
	if err != nil {
		return fmt.Errorf("store: mark %d interrupted: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: mark %d interrupted: no running deployment with that id: %w", id, ErrNotFound)
	}
	return nil
}

const selectDeployments = `SELECT id, kind, env, definition, revision, previous_revision,
	git_name, git_email, os_user, user_host, plan, detail, started_at, finished_at, duration_ms,
	status, error, image_digests, pid, host, proc_start, heartbeat_at, variant, engine_endpoint,
	(SELECT group_concat(s.id) FROM snapshots s WHERE s.deployment_id = d.id)
	FROM deployments d`

// History returns env's deployments (every environment's when env is
// empty), newest first.
func (s *Store) History(ctx context.Context, env string, f Filter) ([]Deployment, error) {
	where := []string{"engine = ?"}
	args := []any{s.engine}
	if env != "" {
		where = append(where, "env = ?")
		args = append(args, env)
	}
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN (?"+strings.Repeat(", ?", len(f.Kinds)-1)+")")
		for _, k := range f.Kinds {
			args = append(args, k)
		}
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, f.Status)
	}
	if !f.Before.IsZero() {
		where = append(where, "started_at < ?")
		args = append(args, f.Before.UnixMilli())
	}
	q := selectDeployments + " WHERE " + strings.Join(where, " AND ")
	q += " ORDER BY started_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	out, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: history of %q: %w", env, err)
	}
	return out, nil
}

// Get returns deployment id.
func (s *Store) Get(ctx context.Context, id int64) (*Deployment, error) {
	out, err := s.query(ctx, selectDeployments+" WHERE id = ? AND engine = ?", id, s.engine)
	if err != nil {
		return nil, fmt.Errorf("store: deployment %d: %w", id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: deployment %d: %w", id, ErrNotFound)
	}
	return &out[0], nil
}

// Last returns env's newest deployment with the given status (any status
// when empty), for example the last successful one to roll back to. It
// returns ErrNotFound when there is none.
func (s *Store) Last(ctx context.Context, env, status string) (*Deployment, error) {
	out, err := s.History(ctx, env, Filter{Status: status, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		what := "deployment"
		if status != "" {
			what = status + " deployment"
		}
		return nil, fmt.Errorf("store: no %s of %s: %w", what, env, ErrNotFound)
	}
	return &out[0], nil
}

// Unfinished returns env's records (every environment's when env is empty)
// that say "running" but whose process is gone: on this host, a pid that no
// longer runs (or now belongs to another process); on another host, a
// heartbeat older than the lease. These are what a killed operation leaves;
// the caller converges the environment and calls MarkInterrupted.
func (s *Store) Unfinished(ctx context.Context, env string) ([]Deployment, error) {
	q := selectDeployments + " WHERE status = ? AND engine = ?"
	args := []any{StatusRunning, s.engine}
	if env != "" {
		q += " AND env = ?"
		args = append(args, env)
	}
	q += " ORDER BY started_at DESC, id DESC"
	running, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: unfinished of %q: %w", env, err)
	}
	host, _ := os.Hostname()
	now := s.now()
	var out []Deployment
	for _, d := range running {
		if d.Process.Host == host {
			if !alive(d.Process) {
				out = append(out, d)
			}
			continue
		}
		if now.Sub(d.HeartbeatAt) > s.Lease {
			out = append(out, d)
		}
	}
	return out, nil
}

// alive reports whether the recorded process (on this host) still runs.
func alive(p Process) bool {
	if p.PID <= 0 {
		return false
	}
	if !pidAlive(p.PID) {
		return false
	}
	if p.Start != "" {
		if now := procStart(p.PID); now != "" && now != p.Start {
			return false // the pid was reused
		}
	}
	return true
}

func (s *Store) query(ctx context.Context, q string, args ...any) ([]Deployment, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Deployment
	for rows.Next() {
		var (
			d                            Deployment
			plan, detail, digests, snaps sql.NullString
			started, heartbeat           int64
			finished, durationMS         sql.NullInt64
		)
		if err := rows.Scan(&d.ID, &d.Kind, &d.Env, &d.Definition, &d.Revision, &d.PreviousRevision,
			&d.Who.GitName, &d.Who.GitEmail, &d.Who.OSUser, &d.Who.Host, &plan, &detail, &started, &finished, &durationMS,
			&d.Status, &d.Error, &digests, &d.Process.PID, &d.Process.Host, &d.Process.Start, &heartbeat, &d.Variant, &d.Engine, &snaps); err != nil {
			return nil, err
		}
		if plan.Valid && plan.String != "" {
			d.Plan = json.RawMessage(plan.String)
		}
		if detail.Valid && detail.String != "" {
			d.Detail = json.RawMessage(detail.String)
		}
		d.StartedAt = time.UnixMilli(started)
		d.HeartbeatAt = time.UnixMilli(heartbeat)
		if finished.Valid {
			d.FinishedAt = time.UnixMilli(finished.Int64)
		}
		if durationMS.Valid {
			d.Duration = time.Duration(durationMS.Int64) * time.Millisecond
		}
		if digests.Valid && digests.String != "" {
			if err := json.Unmarshal([]byte(digests.String), &d.ImageDigests); err != nil {
				return nil, fmt.Errorf("deployment %d: image digests: %w", d.ID, err)
			}
		}
		if snaps.Valid && snaps.String != "" {
			for _, f := range strings.Split(snaps.String, ",") {
				n, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("deployment %d: snapshot ids: %w", d.ID, err)
				}
				d.SnapshotIDs = append(d.SnapshotIDs, n)
			}
			slices.Sort(d.SnapshotIDs)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
