package core

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// More errors callers tell apart (errors.Is).
var (
	// ErrBusy: another operation runs on the environment.
	ErrBusy = errors.New("environment is busy")
	// ErrConfirm: the plan is destructive and was not confirmed.
	ErrConfirm = errors.New("confirmation needed")
	// ErrNoRepo: no definitions repo is configured or it cannot be opened.
	ErrNoRepo = errors.New("no definitions repo")
	// ErrAuth: the definitions repo refused the credentials, or needs
	// some and none were given (or an ssh host key is unknown).
	ErrAuth = errors.New("authentication failed")
	// ErrUnsafe: a definition reaches outside its workspace.
	ErrUnsafe = errors.New("definition reaches outside its workspace")
)

// Deployment kinds and statuses, as the store records them.
const (
	KindUp       = "up"
	KindDown     = "down"
	KindDeploy   = "deploy"
	KindRollback = "rollback"
	// One service's containers replaced, and the database operations.
	KindRecreate   = "recreate"
	KindDBClone    = "db-clone"
	KindDBSnapshot = "db-snapshot"
	KindDBRestore  = "db-restore"
	KindDBReset    = "db-reset"
	KindDBRemove   = "db-remove"

	StatusRunning     = "running"
	StatusSucceeded   = "succeeded"
	StatusFailed      = "failed"
	StatusRolledBack  = "rolled-back"
	StatusInterrupted = "interrupted"
)

// Revision is one commit of the definitions repo.
type Revision struct {
	Hash    string    `json:"hash"`
	Short   string    `json:"short"`
	Author  string    `json:"author"`
	Email   string    `json:"email,omitempty"`
	When    time.Time `json:"when"`
	Message string    `json:"message"`
	Tree    string    `json:"tree,omitempty"`
	// DefinitionTree is, in a listing of a definition's revisions, the
	// tree hash of the definition's folder at this commit.
	DefinitionTree string `json:"definitionTree,omitempty"`
}

// RevisionEntry is a revision in `berth revisions`: Deployed marks the one
// the environment runs (when the deployed commit did not touch the
// definition itself, the listed revision whose definition folder is the
// same as the deployed commit's).
type RevisionEntry struct {
	Revision
	Deployed bool `json:"deployed,omitempty"`
}

// Who is the person behind a deployment.
type Who struct {
	GitName  string `json:"gitName,omitempty"`
	GitEmail string `json:"gitEmail,omitempty"`
	OSUser   string `json:"osUser,omitempty"`
	Host     string `json:"host,omitempty"`
}

// Deployment is one recorded change to an environment.
type Deployment struct {
	ID         int64  `json:"id"`
	Kind       string `json:"kind"`
	Env        string `json:"env"`
	Definition string `json:"definition,omitempty"`
	Variant    string `json:"variant,omitempty"`
	// Engine is the address of the engine it ran on.
	Engine           string            `json:"engine,omitempty"`
	Revision         string            `json:"revision,omitempty"`
	PreviousRevision string            `json:"previousRevision,omitempty"`
	Who              Who               `json:"who"`
	Plan             json.RawMessage   `json:"plan,omitempty"`
	StartedAt        time.Time         `json:"startedAt"`
	FinishedAt       time.Time         `json:"finishedAt,omitzero"`
	Duration         time.Duration     `json:"duration,omitzero"`
	Status           string            `json:"status"`
	Error            string            `json:"error,omitempty"`
	ImageDigests     map[string]string `json:"imageDigests,omitempty"`
	PID              int               `json:"pid,omitempty"`
	// SnapshotIDs are the database snapshots taken before it.
	SnapshotIDs []int64 `json:"snapshotIds,omitempty"`
	// Detail is what a database operation did (DBDetail as JSON).
	Detail json.RawMessage `json:"detail,omitempty"`
}

// Outcome is how an operation ended.
type Outcome struct {
	Status       string
	Error        string
	ImageDigests map[string]string
	SnapshotIDs  []int64
	// Detail, when set, replaces the record's detail.
	Detail json.RawMessage
}

// DBDetail is what a database operation's record says it did: names, never
// credentials.
type DBDetail struct {
	Service  string `json:"service,omitempty"`
	Source   string `json:"source,omitempty"`
	Snapshot string `json:"snapshot,omitempty"`
	Strategy string `json:"strategy,omitempty"`
	Bytes    int64  `json:"bytes,omitempty"`
	// Safety is the snapshot taken of what a restore or reset replaced.
	Safety string `json:"safety,omitempty"`
	// Running: the server ran when the operation began (it stops the
	// server for its copy; an interrupted one's server is started again).
	Running bool `json:"running,omitempty"`
}

// HistoryFilter narrows History.
type HistoryFilter struct {
	Kinds  []string
	Status string
	Limit  int
}

// DeployRequest asks to deploy a definition at a revision.
type DeployRequest struct {
	Env        string
	Definition string // default: the environment's, else Env
	Rev        string // default: the tracked branch's head
	Yes        bool   // apply a destructive plan without asking
	// Variant, when set, switches the environment to this variant of its
	// definition ("" for none); nil keeps its own.
	Variant *string
}

// deployContext is ctx asking the loads of req's environment for the
// variant req names, if any.
func (b *Berth) deployContext(ctx context.Context, req DeployRequest) context.Context {
	if req.Variant == nil {
		return ctx
	}
	return withLoadAs(ctx, req.Env, UpRequest{Variant: req.Variant}.settings(b.settingsOf(ctx, req.Env)))
}

// RollbackRequest asks to take an environment back to an earlier revision.
type RollbackRequest struct {
	Env string
	To  string // default: the last successful deployment before the current one
	Yes bool
	// WithData also puts back the database snapshots taken when the
	// environment left that revision.
	WithData bool
}

// Confirm is asked before a destructive plan is applied; false refuses it.
// nil refuses every destructive plan.
type Confirm func(plan DeployPlan) bool

// DeployPlan is what a deploy or rollback is about to do.
type DeployPlan struct {
	Env      string   `json:"env"`
	Kind     string   `json:"kind"`
	Revision Revision `json:"revision"`
	Result   *Result  `json:"result"`
}

// DeployResult is what a deploy or rollback did.
type DeployResult struct {
	Result
	Kind     string   `json:"kind"`
	ID       int64    `json:"id"`
	Revision Revision `json:"revision"`
	// Interrupted lists earlier operations found killed and marked so.
	Interrupted []int64 `json:"interrupted,omitempty"`
	// RolledBack is set when the operation failed and Berth went back to
	// the last good revision on its own.
	RolledBack *DeployResult `json:"rolledBack,omitempty"`
	// Snapshots are the database snapshots taken before it.
	Snapshots []int64 `json:"snapshots,omitempty"`
	// Data are the snapshots a rollback --with-data put back.
	Data []DBResult `json:"data,omitempty"`
}
