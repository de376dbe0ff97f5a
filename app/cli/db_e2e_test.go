package cli

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/testenv"
)

// pgCompose is a definition holding one PostgreSQL service whose
// environment carries REV (a change of it recreates the container, never
// the volume).
func pgCompose(rev string) string {
	return fmt.Sprintf(`services:
  db:
    image: postgres:15
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: app-pw
      POSTGRES_DB: app
      REV: %q
    volumes:
      - data:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "app", "-d", "app"]
      interval: 1s
      timeout: 3s
      retries: 60
volumes:
  data:
`, rev)
}

// pgSeed is a plain SQL seed of a few MB.
const pgSeed = `CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2));
INSERT INTO items SELECT i, 'item ' || md5(i::text), (i % 997) / 3.0 FROM generate_series(1, 40000) i;
CREATE TABLE notes (id serial PRIMARY KEY, body text);
INSERT INTO notes (body) VALUES ('seeded');
`

// pgq runs a query with psql inside env's db container, over TCP with the
// password, as a client would.
func pgq(t *testing.T, env, query string) string {
	t.Helper()
	id := containerIDs(t, env)["db"]
	if id == "" {
		t.Fatalf("%s has no db container", env)
	}
	for i := 0; ; i++ {
		out, err := exec.Command("docker", "exec", "-e", "PGPASSWORD=app-pw", id, "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1",
			"-h", "127.0.0.1", "-U", "app", "-d", "app", "-c", query).CombinedOutput()
		if err == nil {
			return strings.TrimSpace(string(out))
		}
		if i > 100 || !strings.Contains(string(out), "Connection refused") && !strings.Contains(string(out), "starting up") && !strings.Contains(string(out), "shutting down") {
			t.Fatalf("psql %q: %v\n%s", query, err, out)
		}
		exec.Command("sleep", "0.3").Run()
	}
}

// tableSums is each table's row count and md5 of its rows, computed with psql.
func tableSums(t *testing.T, env string) string {
	t.Helper()
	var b strings.Builder
	for _, tbl := range []string{"items", "notes"} {
		fmt.Fprintf(&b, "%s=%s ", tbl, pgq(t, env, fmt.Sprintf("SELECT count(*)||':'||md5(string_agg(t::text, '' ORDER BY t::text)) FROM %s t", tbl)))
	}
	return b.String()
}

func removeVolumesLabelled(label string) {
	if out, _ := exec.Command("docker", "volume", "ls", "-q", "--filter", "label="+label).Output(); len(out) > 0 {
		exec.Command("docker", append([]string{"volume", "rm", "-f"}, strings.Fields(string(out))...)...).Run()
	}
}

// TestDatabaseClones runs the database commands end to end on a definition
// whose PostgreSQL database comes from a checksummed seed: deploy clones it
// before the server starts, snapshot/restore and reset round-trip the
// content, a deploy takes a snapshot that rollback --with-data restores,
// and bad input exits with the documented codes.
func TestDatabaseClones(t *testing.T) {
	testenv.Image(t, "postgres:15")
	env := uniqueName("dbclone")
	t.Cleanup(func() {
		removeLabelled(env)
		removeVolumesLabelled("dev.berth.db-env=" + env)
	})
	t.Setenv("BERTH_STATE_DIR", t.TempDir())

	sum := sha256.Sum256([]byte(pgSeed + "-- " + env + "\n"))
	seed := pgSeed + "-- " + env + "\n" // unique per run, so the golden copy is this test's own
	manifest := fmt.Sprintf("name: probe\ndatabases:\n  - service: db\n    engine: postgres\n    source:\n      seed: seed/app.sql\n      sha256: %s\n", hex.EncodeToString(sum[:]))
	repo := newDefRepo(t)
	c1 := repo.commit("db v1", map[string]string{"berth.yaml": manifest, "compose.yaml": pgCompose("1"), "seed/app.sql": seed})
	c2 := repo.commit("db v2", map[string]string{"compose.yaml": pgCompose("2")})
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return berth(t, append([]string{"--repo", repo.dir}, args...)...)
	}

	// A new environment: its database is cloned from the seed before it starts.
	if code, _, stderr := cli("deploy", "probe", c1, "--as", env); code != ExitOK || !strings.Contains(stderr, "a new clone from seed seed/app.sql") {
		t.Fatalf("deploy c1: exit %d", code)
	}
	if n := pgq(t, env, "SELECT count(*) FROM items"); n != "40000" {
		t.Fatalf("the clone has %s items, want 40000", n)
	}
	seeded := tableSums(t, env)

	code, out, _ := cli("db", "ls", env, "-o", "json")
	var dbs []core.DBInfo
	if code != ExitOK || json.Unmarshal([]byte(out), &dbs) != nil || len(dbs) != 1 {
		t.Fatalf("db ls: exit %d\n%s", code, out)
	}
	d := dbs[0]
	if d.Service != "db" || !d.Exists || d.Source != "seed seed/app.sql" || d.Golden == nil || d.Strategy == "" || d.Volume != env+"_data" {
		t.Fatalf("db ls: %+v (golden %+v)", d, d.Golden)
	}
	t.Cleanup(func() { exec.Command("docker", "volume", "rm", "-f", d.Golden.Volume, d.Golden.Volume+"-ready").Run() })

	// Snapshot, change, restore.
	pgq(t, env, "INSERT INTO notes (body) VALUES ('before the snapshot')")
	snapped := tableSums(t, env)
	code, out, _ = cli("db", "snapshot", env, "--name", "s1", "-o", "json")
	var res core.DBResult
	if code != ExitOK || json.Unmarshal([]byte(out), &res) != nil || res.Snapshot == nil || res.Snapshot.Size == 0 || res.Strategy == "" {
		t.Fatalf("db snapshot: exit %d\n%s", code, out)
	}
	if code, _, _ := cli("db", "snapshot", env, "--name", "s1"); code == ExitOK {
		t.Fatal("a second snapshot of the same name was taken")
	}
	restoreAndReset(t, cli, env, func() { pgq(t, env, "DELETE FROM items WHERE id % 3 = 0; UPDATE notes SET body = 'changed'") },
		func() string { return tableSums(t, env) }, snapped, seeded)

	// A deploy takes a snapshot first (the store here copies on write);
	// rollback --with-data puts it back along with the code.
	pgq(t, env, "INSERT INTO notes (body) VALUES ('written at c1')")
	atC1 := tableSums(t, env)
	code, out, _ = cli("deploy", env, c2, "--yes", "-o", "json")
	var dep core.DeployResult
	if code != ExitOK || json.Unmarshal([]byte(out), &dep) != nil {
		t.Fatalf("deploy c2: exit %d\n%s", code, out)
	}
	if d.Strategy == "copy-on-write" && len(dep.Snapshots) != 1 {
		t.Fatalf("deploy c2 took snapshots %v, want one", dep.Snapshots)
	}
	code, out, _ = cli("history", env, "-o", "json")
	if code != ExitOK || !strings.Contains(out, fmt.Sprintf(`"snapshotIds": [
      %d
    ]`, dep.Snapshots[0])) {
		t.Fatalf("history does not name the deploy's snapshot %d:\n%s", dep.Snapshots[0], out)
	}
	pgq(t, env, "INSERT INTO notes (body) VALUES ('written at c2')")
	code, out, _ = cli("rollback", env, "--yes", "--with-data", "-o", "json")
	if code != ExitOK || json.Unmarshal([]byte(out), &dep) != nil || len(dep.Data) != 1 || dep.Revision.Hash != c1 {
		t.Fatalf("rollback --with-data: exit %d\n%s", code, out)
	}
	if got := tableSums(t, env); got != atC1 {
		t.Fatalf("after rollback --with-data: %s\nwant %s", got, atC1)
	}
	if rev := inspect(t, containerIDs(t, env)["db"], `{{range .Config.Env}}{{println .}}{{end}}`); !strings.Contains(rev, "REV=1\n") {
		t.Fatalf("the db runs with %q, want REV=1", rev)
	}

	// berth up from the definitions folder clones a new database too (the
	// golden copy is reused), and a clone from another environment copies
	// that environment's current content, its server stopped and started
	// again around the copy.
	third := env + "-c"
	t.Cleanup(func() { removeLabelled(third) })
	defs := filepath.Join(repo.dir, "environments")
	if code, _, stderr := berth(t, "--repo", repo.dir, "--definitions", defs, "up", "probe", "--as", third); code != ExitOK || !strings.Contains(stderr, "a new clone from seed") {
		t.Fatalf("up: exit %d", code)
	}
	if got := tableSums(t, third); got != seeded {
		t.Fatalf("up's clone: %s\nwant %s", got, seeded)
	}
	code, out, _ = berth(t, "--repo", repo.dir, "--definitions", defs, "db", "clone", third, "db", "--from", "env:"+env, "-o", "json")
	if code != ExitOK || json.Unmarshal([]byte(out), &res) != nil || res.From != "environment "+env {
		t.Fatalf("db clone --from env: exit %d\n%s", code, out)
	}
	if got := tableSums(t, third); got != atC1 {
		t.Fatalf("the clone of %s: %s\nwant %s", env, got, atC1)
	}
	if got := tableSums(t, env); got != atC1 {
		t.Fatalf("%s after being cloned: %s\nwant %s", env, got, atC1)
	}

	// Bad input: an unknown snapshot, a source that is not one, a snapshot
	// removed twice.
	if code, _, _ := cli("db", "restore", env, "nope", "--yes"); code != ExitNotFound {
		t.Fatalf("restoring an unknown snapshot: exit %d, want %d", code, ExitNotFound)
	}
	if code, _, _ := cli("db", "clone", env, "--from", "ftp:x"); code != ExitFailed {
		t.Fatalf("--from ftp:x: exit %d, want %d", code, ExitFailed)
	}
	if code, _, _ := cli("db", "rm", env, "s1"); code != ExitOK {
		t.Fatalf("db rm: exit %d", code)
	}
	if code, _, _ := cli("db", "rm", env, "s1"); code != ExitNotFound {
		t.Fatalf("db rm of a removed snapshot: exit %d", code)
	}
	if out, _ := exec.Command("docker", "volume", "inspect", res.Snapshot.Volume).CombinedOutput(); !strings.Contains(string(out), "no such volume") {
		t.Fatalf("the snapshot's volume is still there: %s", out)
	}

	gcGoldenCopies(t, cli, env, d.Golden.Volume)

	// A seed changed without updating sha256: deploying a new environment
	// from it fails naming the checksum, and leaves nothing behind.
	os.WriteFile(filepath.Join(repo.dir, "environments", "probe", "seed", "app.sql"), []byte(seed+"-- edited\n"), 0o644)
	c3 := repo.commit("seed edited, checksum not", nil)
	other := env + "-b"
	t.Cleanup(func() { removeLabelled(other) })
	if code, _, stderr := cli("deploy", "probe", c3, "--as", other); code != ExitFailed || !strings.Contains(stderr, "checksum mismatch") {
		t.Fatalf("deploy with a bad checksum: exit %d", code)
	}
	if left := labelled(t, other); len(left) > 0 {
		t.Fatalf("a failed deploy left %v", left)
	}
}

// restoreAndReset changes env's database, restores its snapshot s1 and
// then resets it to the golden copy, checking the content after each
// (sums) against snapped and seeded.
func restoreAndReset(t *testing.T, cli func(...string) (int, string, string), env string, change func(), sums func() string, snapped, seeded string) {
	t.Helper()
	change()
	if sums() == snapped {
		t.Fatal("the change did not change the content")
	}
	changed := sums()
	// Without a terminal to ask, replacing a database needs --yes.
	if code, _, stderr := cli("db", "restore", env, "s1"); code != ExitConfirm || !strings.Contains(stderr, "--yes") {
		t.Fatalf("db restore without --yes: exit %d", code)
	}
	if code, _, _ := cli("db", "reset", env); code != ExitConfirm {
		t.Fatalf("db reset without --yes: exit %d", code)
	}
	if got := sums(); got != changed {
		t.Fatal("a refused restore or reset changed the database")
	}
	if code, _, _ := cli("db", "restore", env, "s1", "--yes"); code != ExitOK {
		t.Fatalf("db restore: exit %d", code)
	}
	if got := sums(); got != snapped {
		t.Fatalf("after restore: %s\nwant %s", got, snapped)
	}
	code, out, _ := cli("db", "reset", env, "-o", "json", "--yes")
	var res core.DBResult
	if code != ExitOK || json.Unmarshal([]byte(out), &res) != nil || res.Op != "reset" || res.GoldenLoaded {
		t.Fatalf("db reset: exit %d\n%s", code, out)
	}
	if got := sums(); got != seeded {
		t.Fatalf("after reset: %s\nwant %s", got, seeded)
	}
	// On copy-on-write a reset keeps what it replaced; it restores.
	if res.Strategy == "reflink" {
		if res.Safety == "" {
			t.Fatal("a reset on copy-on-write kept no snapshot of what it replaced")
		}
		if code, _, _ := cli("db", "restore", env, res.Safety, "--yes"); code != ExitOK {
			t.Fatalf("restoring the reset's safety snapshot: exit %d", code)
		}
		if got := sums(); got != snapped {
			t.Fatalf("the safety snapshot holds %s\nwant %s", got, snapped)
		}
		if code, _, _ := cli("db", "reset", env, "--yes"); code != ExitOK {
			t.Fatalf("db reset again: exit %d", code)
		}
	}
	// Every database operation is in the history, with what it did.
	code, out, _ = cli("history", env, "-o", "json")
	var ds []core.Deployment
	if code != ExitOK || json.Unmarshal([]byte(out), &ds) != nil {
		t.Fatalf("history: exit %d", code)
	}
	kinds := map[string]int{}
	for _, d := range ds {
		kinds[d.Kind]++
		if strings.HasPrefix(d.Kind, "db-") {
			var det core.DBDetail
			if json.Unmarshal(d.Detail, &det) != nil || det.Service == "" || (d.Status != core.StatusSucceeded && d.Error == "") {
				t.Errorf("record %d (%s): %s %s", d.ID, d.Kind, d.Status, d.Detail)
			}
		}
	}
	if kinds[core.KindDBRestore] == 0 || kinds[core.KindDBReset] == 0 || kinds[core.KindDBSnapshot] == 0 {
		t.Errorf("database operations missing from the history: %v", kinds)
	}
}

// gcGoldenCopies: berth gc removes the golden copies this installation
// used that nothing needs once they are unused for the keep period, keeps
// the one env clones from (needed), and leaves alone those it has no
// record of.
func gcGoldenCopies(t *testing.T, cli func(...string) (int, string, string), env, needed string) {
	t.Helper()
	// A seed no definition names, cloned from by hand: its golden copy is
	// recorded as used now.
	seed := filepath.Join(t.TempDir(), "other.sql")
	if err := os.WriteFile(seed, []byte(pgSeed+"-- other "+env+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := cli("db", "clone", env, "--from", "seed:"+seed, "-o", "json")
	var res core.DBResult
	if code != ExitOK || json.Unmarshal([]byte(out), &res) != nil || !res.GoldenLoaded {
		t.Fatalf("db clone --from seed: exit %d\n%s", code, out)
	}
	var adhoc string
	vols, _ := exec.Command("docker", "volume", "ls", "-q", "--filter", "label=dev.berth.db-role=golden").Output()
	for _, v := range strings.Fields(string(vols)) {
		if src := inspectVolume(t, v, `{{index .Labels "dev.berth.db-source"}}`); strings.HasPrefix(src, "seed other.sql") {
			if o := inspectVolume(t, v+"-ready", `{{index .Labels "dev.berth.golden-key"}}`); o != "" {
				adhoc = v
			}
		}
	}
	if adhoc == "" {
		t.Fatal("no golden copy of other.sql on the engine")
	}
	t.Cleanup(func() { exec.Command("docker", "volume", "rm", "-f", adhoc, adhoc+"-ready").Run() })
	// Another installation's golden copy on the same engine.
	foreign := env + "-foreign-golden"
	if o, err := exec.Command("docker", "volume", "create", "--label", "dev.berth.managed=true", "--label", "dev.berth.db-role=golden", foreign).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, o)
	}
	t.Cleanup(func() { exec.Command("docker", "volume", "rm", "-f", foreign).Run() })

	gc := func(args ...string) core.PruneResult {
		t.Helper()
		code, out, _ := cli(append([]string{"gc", "-o", "json"}, args...)...)
		var r core.PruneResult
		if code != ExitOK || json.Unmarshal([]byte(out), &r) != nil || r.Golden == nil || r.Golden.Skipped != "" {
			t.Fatalf("gc %v: exit %d\n%s", args, code, out)
		}
		return r
	}
	kept := func(r core.PruneResult, v string) string {
		for _, e := range r.Golden.Kept {
			if e.Volume == v {
				return e.Kept
			}
		}
		return ""
	}
	removed := func(r core.PruneResult) []string {
		var out []string
		for _, e := range r.Golden.Removed {
			out = append(out, e.Volume)
		}
		return out
	}
	// Used just now: both stay.
	r := gc()
	if len(removed(r)) != 0 || !strings.Contains(kept(r, adhoc), "within the keep period") || !strings.Contains(kept(r, needed), env+": db") || r.Golden.Others < 1 {
		t.Fatalf("gc right after the clone: %+v", r.Golden)
	}
	// Thirty days on (the records aged by hand): the ad hoc copy goes, the
	// one env needs stays, the other installation's is not touched.
	db, err := sql.Open("sqlite", filepath.Join(os.Getenv("BERTH_STATE_DIR"), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec("UPDATE golden_copies SET last_used = last_used - ?", (30 * 24 * time.Hour).Milliseconds())
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if r := gc("--dry-run"); strings.Join(removed(r), " ") != adhoc || !r.DryRun {
		t.Fatalf("gc --dry-run would remove %v, want %s", removed(r), adhoc)
	}
	if inspectVolume(t, adhoc, "{{.Name}}") != adhoc {
		t.Fatal("gc --dry-run removed the golden copy")
	}
	r = gc()
	if strings.Join(removed(r), " ") != adhoc || r.Golden.BytesFreed <= 0 || !strings.Contains(kept(r, needed), env+": db") {
		t.Fatalf("gc thirty days on: %+v", r.Golden)
	}
	for _, v := range []string{adhoc, adhoc + "-ready"} {
		if inspectVolume(t, v, "{{.Name}}") != "" {
			t.Errorf("volume %s is still there", v)
		}
	}
	for _, v := range []string{needed, needed + "-ready", foreign} {
		if inspectVolume(t, v, "{{.Name}}") != v {
			t.Errorf("volume %s is gone", v)
		}
	}
	// The environment still resets from its golden copy (not loaded anew).
	var reset core.DBResult
	code, out, _ = cli("db", "reset", env, "-o", "json", "--yes")
	if code != ExitOK || json.Unmarshal([]byte(out), &reset) != nil || reset.GoldenLoaded {
		t.Fatalf("db reset after gc: exit %d\n%s", code, out)
	}
}

// inspectVolume formats a volume's inspect output ("" when there is none).
func inspectVolume(t *testing.T, name, format string) string {
	t.Helper()
	out, err := exec.Command("docker", "volume", "inspect", "-f", format, name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
