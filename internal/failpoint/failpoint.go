// Package failpoint kills the process at named points of an operation, for
// the fault-injection tests (app/cli/fault_e2e_test.go): after a record
// begins, after each op of a plan, in the middle of a container's
// replacement, while a helper container runs. It is compiled in only with
// the build tag "failpoint" (the tests build such a binary); in every
// other build Hit does nothing and costs nothing.
//
// BERTH_FAILPOINT=NAME kills the process (SIGKILL: no deferred clean-up,
// as a crash or the OOM killer would) at the first hit of NAME,
// NAME:N at the Nth. BERTH_FAILPOINT_TRACE=FILE appends each point hit,
// as NAME:N, to FILE, so a test can list the points a command passes.
// Helper containers get BERTH_FAILPOINT too (HelperEnv): their scripts
// kill themselves at their own points (copy-staged, swap-journalled,
// swap-half).
package failpoint

// Names of the points, for the tests.
const (
	Begin         = "record-begun"     // core: an operation's record is written
	Snapshotted   = "deploy-snapshots" // core: a deploy's snapshots are taken
	Cloned        = "databases-cloned" // core: new databases are cloned, nothing started
	OpDone        = "op-done"          // engine: an op of the plan completed (counted)
	Renamed       = "recreate-renamed" // engine: the old container is renamed aside
	Created       = "recreate-created" // engine: its replacement is created, not started
	HelperRunning = "helper-running"   // engine: a helper container started (counted)
	Finishing     = "record-finishing" // core: before the record's outcome is written
)

// ScriptPoints are the points helper scripts honour (dbclone's swap).
var ScriptPoints = []string{"copy-staged", "swap-journalled", "swap-half"}
