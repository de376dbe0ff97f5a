package desktop

import (
	"github.com/berthdev/berth/app/api"
	"github.com/berthdev/berth/internal/core"
)

// Databases lists env's databases with their source, golden copy,
// strategy and snapshots.
func (a *API) Databases(env string) ([]core.DBInfo, error) {
	return a.svc.Databases(a.context(), env)
}

// DBClone replaces a database of env with a copy of a source ("": the
// manifest's), pushing progress events.
func (a *API) DBClone(env, service, from string) (*core.DBResult, error) {
	res, err := a.svc.DBClone(a.context(), env, service, from)
	a.log("DBClone %s %s %s: %v", env, service, from, errOrOK(err))
	return res, err
}

// DBSnapshot takes a snapshot of a database of env ("" name: from the
// time), pushing progress events.
func (a *API) DBSnapshot(env, service, name string) (*core.DBResult, error) {
	res, err := a.svc.DBSnapshot(a.context(), env, service, name)
	a.log("DBSnapshot %s %s %s: %v", env, service, name, errOrOK(err))
	return res, err
}

// DBRestore puts a snapshot back into env's database (the window asked
// first), pushing progress events.
func (a *API) DBRestore(env, snapshot string) (*core.DBResult, error) {
	res, err := a.svc.DBRestore(a.context(), env, snapshot)
	a.log("DBRestore %s %s: %v", env, snapshot, errOrOK(err))
	return res, err
}

// DBReset puts the golden copy back into a database of env (the window
// asked first), pushing progress events.
func (a *API) DBReset(env, service string) (*core.DBResult, error) {
	res, err := a.svc.DBReset(a.context(), env, service)
	a.log("DBReset %s %s: %v", env, service, errOrOK(err))
	return res, err
}

// DBRemove removes a snapshot of env.
func (a *API) DBRemove(env, snapshot string) error {
	err := a.svc.DBRemove(a.context(), env, snapshot)
	a.log("DBRemove %s %s: %v", env, snapshot, errOrOK(err))
	return err
}

// Check reports env's drift now.
func (a *API) Check(env string) (*core.DriftReport, error) {
	return a.svc.Check(a.context(), env)
}

// DriftReports returns the watcher's last drift report of each
// environment.
func (a *API) DriftReports() []core.DriftReport { return a.svc.DriftReports() }

// PlanSync returns what Sync would do.
func (a *API) PlanSync(env string) (*core.SyncResult, error) {
	return a.svc.PlanSync(a.context(), env)
}

// Sync heals env (the window has shown the plan), pushing progress events.
func (a *API) Sync(env string) (*core.SyncResult, error) {
	res, err := a.svc.Sync(a.context(), env)
	a.log("Sync %s: %v", env, errOrOK(err))
	return res, err
}

// Discard puts env's edited workspace files back to the deployed commit.
func (a *API) Discard(env string) ([]core.FileChange, error) {
	res, err := a.svc.Discard(a.context(), env)
	a.log("Discard %s: %v", env, errOrOK(err))
	return res, err
}

// Adopt turns env's drift into a commit on a new branch, never pushed.
func (a *API) Adopt(env, branch string) (*core.AdoptResult, error) {
	res, err := a.svc.Adopt(a.context(), env, branch)
	a.log("Adopt %s %s: %v", env, branch, errOrOK(err))
	return res, err
}

// PauseHealing stops automatic healing of env for minutes (0 resumes).
func (a *API) PauseHealing(env string, minutes int) (api.HealingPause, error) {
	return a.svc.PauseHealing(env, minutes)
}

// HealingPaused says until when healing of env is paused.
func (a *API) HealingPaused(env string) (api.HealingPause, error) {
	return a.svc.HealingPaused(env)
}

// SetWatch starts or stops following env's develop.watch (the Watch
// toggle); actions arrive as berth:change events of kind develop.
func (a *API) SetWatch(env string, on bool) (api.WatchState, error) {
	st, err := a.svc.SetWatch(a.context(), env, on)
	a.log("SetWatch %s %v: %v", env, on, errOrOK(err))
	return st, err
}

// WatchStatus says whether env's develop.watch is followed.
func (a *API) WatchStatus(env string) (api.WatchState, error) {
	return a.svc.WatchStatus(env)
}
