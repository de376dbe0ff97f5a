package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a second process (see TestMain).
const helperEnv = "BERTH_STORE_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "writer":
		// writer PATH N: N Begin+Finish pairs and a History read each.
		n, _ := strconv.Atoi(os.Args[len(os.Args)-1])
		if err := writeMany(os.Args[len(os.Args)-2], "child", n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	case "sleep":
		fmt.Println("ready")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(2)
}

func writeMany(path, env string, n int) error {
	s, err := Open(path)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	for i := range n {
		id, err := s.Begin(ctx, Deployment{Kind: KindDeploy, Env: env, Revision: fmt.Sprintf("rev%d", i)})
		if err != nil {
			return err
		}
		if _, err := s.History(ctx, env, Filter{Limit: 5}); err != nil {
			return err
		}
		if err := s.Finish(ctx, id, Outcome{Status: StatusSucceeded}); err != nil {
			return err
		}
	}
	return nil
}

func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "berth.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenMigratesAndReopens(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v != len(migrations) {
		t.Fatalf("schema version %d, want %d", v, len(migrations))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q (%v), want wal", mode, err)
	}
	var fk, sync int
	if err := s.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys %d (%v), want 1", fk, err)
	}
	if err := s.db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 1 {
		t.Errorf("synchronous %d (%v), want 1 (NORMAL)", sync, err)
	}
	id, err := s.Begin(ctx, Deployment{Kind: KindUp, Env: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"-wal", "-shm"} {
		if fi, err := os.Stat(path + side); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v (want mode 0600)", side, fi, err)
		}
	}
	s.Close()

	// Re-open: nothing to migrate, the data is there.
	s2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var rows int
	if err := s2.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_version").Scan(&rows); err != nil || rows != len(migrations) {
		t.Errorf("schema_version has %d rows (%v), want %d", rows, err, len(migrations))
	}
	d, err := s2.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Env != "shop" || d.Status != StatusRunning {
		t.Errorf("got %+v", d)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.db.Exec("INSERT INTO schema_version (version, applied_at) VALUES (?, 0)", len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(path)
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err = %v, want ErrNewerSchema", err)
	}
	if !strings.Contains(err.Error(), "the store was written by a newer Berth") {
		t.Errorf("message %q", err)
	}
}

func TestOpenRefusesNonDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth.db")
	if err := os.WriteFile(path, []byte("this is not a database, just some text that is long enough to be a header..............."), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil {
		t.Fatal("opened a text file as a store")
	}
}

func TestBeginFinishHistory(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	clock := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }

	plan := json.RawMessage(`{"ops":[{"kind":"create","resource":"container shop-web-1","cause":"container missing"}]}`)
	id, err := s.Begin(ctx, Deployment{
		Kind: KindDeploy, Env: "shop", Definition: "shop", Revision: "bbbb", PreviousRevision: "aaaa",
		Who:  Who{GitName: "Ada", GitEmail: "ada@example.com", OSUser: "ada", Host: "laptop"},
		Plan: plan,
	})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.AddSnapshot(ctx, Snapshot{Name: "pre-deploy-1", Env: "shop", Service: "db", Volume: "shop_db_snap1", Size: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(1500 * time.Millisecond)
	if err := s.Finish(ctx, id, Outcome{Status: StatusSucceeded, ImageDigests: map[string]string{"web": "sha256:abc"}, SnapshotIDs: []int64{snap}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, id, Outcome{Status: StatusFailed}); err == nil {
		t.Error("finished a deployment twice")
	}
	if err := s.Finish(ctx, 999, Outcome{Status: StatusFailed}); !errors.Is(err, ErrNotFound) {
		t.Errorf("finish of an unknown id: %v", err)
	}
	if err := s.Finish(ctx, id, Outcome{Status: "great"}); err == nil {
		t.Error("accepted an unknown status")
	}
	if _, err := s.Begin(ctx, Deployment{Kind: "explode", Env: "shop"}); err == nil {
		t.Error("accepted an unknown kind")
	}
	if _, err := s.Begin(ctx, Deployment{Kind: KindUp, Env: "shop", Plan: json.RawMessage("{")}); err == nil {
		t.Error("accepted a plan that is not JSON")
	}

	got, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := Deployment{
		ID: id, Kind: KindDeploy, Env: "shop", Definition: "shop", Revision: "bbbb", PreviousRevision: "aaaa",
		Who:  Who{GitName: "Ada", GitEmail: "ada@example.com", OSUser: "ada", Host: "laptop"},
		Plan: plan, StartedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), FinishedAt: clock,
		Duration: 1500 * time.Millisecond, Status: StatusSucceeded,
		ImageDigests: map[string]string{"web": "sha256:abc"}, SnapshotIDs: []int64{snap},
		Process: CurrentProcess(), HeartbeatAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
	}
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if string(gb) != string(wb) {
		t.Errorf("got  %s\nwant %s", gb, wb)
	}
	for _, key := range []string{`"previousRevision":"aaaa"`, `"imageDigests":{"web":"sha256:abc"}`, `"snapshotIds":[`, `"gitEmail":"ada@example.com"`, `"startedAt":"2026-03-01T10:00:00`} {
		if !strings.Contains(string(gb), key) {
			t.Errorf("JSON lacks %s: %s", key, gb)
		}
	}
	sn, err := s.Snapshots(ctx, "shop")
	if err != nil || len(sn) != 1 || sn[0].DeploymentID != id || sn[0].Size != 1<<20 {
		t.Errorf("snapshots %+v, %v", sn, err)
	}
}

func TestHistoryFiltersAndLast(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	clock := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return clock }
	type rec struct {
		env, kind, status string
	}
	recs := []rec{
		{"shop", KindUp, StatusSucceeded},        // 10:00
		{"shop", KindDeploy, StatusFailed},       // 10:01
		{"blog", KindUp, StatusSucceeded},        // 10:02
		{"shop", KindDeploy, StatusSucceeded},    // 10:03
		{"shop", KindRollback, StatusRolledBack}, // 10:04
		{"shop", KindDeploy, ""},                 // 10:05, still running
	}
	ids := make([]int64, len(recs))
	for i, r := range recs {
		id, err := s.Begin(ctx, Deployment{Kind: r.kind, Env: r.env, Revision: fmt.Sprint("r", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
		if r.status != "" {
			if err := s.Finish(ctx, id, Outcome{Status: r.status}); err != nil {
				t.Fatal(err)
			}
		}
		clock = clock.Add(time.Minute)
	}
	revs := func(ds []Deployment) string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Revision)
		}
		return strings.Join(out, " ")
	}
	tests := []struct {
		name string
		env  string
		f    Filter
		want string
	}{
		{"all of shop, newest first", "shop", Filter{}, "r5 r4 r3 r1 r0"},
		{"every environment", "", Filter{}, "r5 r4 r3 r2 r1 r0"},
		{"limit", "shop", Filter{Limit: 2}, "r5 r4"},
		{"kinds", "shop", Filter{Kinds: []string{KindDeploy, KindUp}}, "r5 r3 r1 r0"},
		{"status", "shop", Filter{Status: StatusSucceeded}, "r3 r0"},
		{"running", "shop", Filter{Status: StatusRunning}, "r5"},
		{"before", "shop", Filter{Before: time.Date(2026, 3, 1, 10, 3, 0, 0, time.UTC)}, "r1 r0"},
		{"before and limit", "shop", Filter{Before: time.Date(2026, 3, 1, 10, 4, 0, 0, time.UTC), Limit: 1}, "r3"},
		{"unknown environment", "nope", Filter{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.History(ctx, tt.env, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if revs(got) != tt.want {
				t.Errorf("got %q, want %q", revs(got), tt.want)
			}
		})
	}
	last, err := s.Last(ctx, "shop", StatusSucceeded)
	if err != nil || last.ID != ids[3] {
		t.Errorf("last succeeded: %+v, %v", last, err)
	}
	last, err = s.Last(ctx, "shop", "")
	if err != nil || last.ID != ids[5] {
		t.Errorf("last: %+v, %v", last, err)
	}
	if _, err := s.Last(ctx, "blog", StatusFailed); !errors.Is(err, ErrNotFound) {
		t.Errorf("last failed of blog: %v, want ErrNotFound", err)
	}
}

// Two stores on one file, each written from several goroutines, and a third
// writer in another process: no "database is locked".
func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	_, path := openTemp(t)
	const perWriter = 40

	child := exec.Command(os.Args[0], "-test.run=^$", path, strconv.Itoa(perWriter))
	child.Env = append(os.Environ(), helperEnv+"=writer")
	var childOut strings.Builder
	child.Stdout, child.Stderr = &childOut, &childOut
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 2 {
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for g := range 3 {
			env := fmt.Sprintf("s%dg%d", i, g)
			wg.Go(func() {
				for j := range perWriter {
					id, err := s.Begin(ctx, Deployment{Kind: KindUp, Env: env})
					if err == nil {
						_, err = s.History(ctx, env, Filter{Limit: 5})
					}
					if err == nil {
						err = s.Finish(ctx, id, Outcome{Status: StatusSucceeded, ImageDigests: map[string]string{"web": fmt.Sprint(j)}})
					}
					if err != nil {
						errs <- fmt.Errorf("%s: %w", env, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if err := child.Wait(); err != nil {
		t.Errorf("child writer: %v: %s", err, childOut.String())
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all, err := s.History(ctx, "", Filter{Status: StatusSucceeded})
	if err != nil {
		t.Fatal(err)
	}
	if want := 7 * perWriter; len(all) != want {
		t.Errorf("%d succeeded records, want %d", len(all), want)
	}
}

// Two processes opening a brand-new file at once both migrate it safely.
func TestConcurrentFirstOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "berth.db")
	child := exec.Command(os.Args[0], "-test.run=^$", path, "3")
	child.Env = append(os.Environ(), helperEnv+"=writer")
	out := &strings.Builder{}
	child.Stdout, child.Stderr = out, out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	if err := writeMany(path, "parent", 3); err != nil {
		t.Error(err)
	}
	if err := child.Wait(); err != nil {
		t.Errorf("child: %v: %s", err, out)
	}
}

func TestUnfinishedDetectsDeadProcess(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), helperEnv+"=sleep")
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := stdout.Read(buf); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	proc := Process{PID: child.Process.Pid, Host: host, Start: procStart(child.Process.Pid)}
	killed, err := s.Begin(ctx, Deployment{Kind: KindDeploy, Env: "shop", Process: proc})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := s.Begin(ctx, Deployment{Kind: KindUp, Env: "shop"}) // this process: alive
	if err != nil {
		t.Fatal(err)
	}
	// A record from another host: alive until its lease runs out.
	remote, err := s.Begin(ctx, Deployment{Kind: KindUp, Env: "shop", Process: Process{PID: 1, Host: "elsewhere"}})
	if err != nil {
		t.Fatal(err)
	}
	// A reused pid: this process's pid with another start time.
	reused, err := s.Begin(ctx, Deployment{Kind: KindUp, Env: "blog", Process: Process{PID: os.Getpid(), Host: host, Start: "1"}})
	if err != nil {
		t.Fatal(err)
	}

	ids := func(ds []Deployment) []int64 {
		var out []int64
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	got, err := s.Unfinished(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("unfinished while all alive: %v", ids(got))
	}

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	got, err = s.Unfinished(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ids(got)) != fmt.Sprint([]int64{killed}) {
		t.Errorf("unfinished = %v, want [%d]", ids(got), killed)
	}

	s.now = func() time.Time { return time.Now().Add(DefaultLease + time.Minute) }
	got, _ = s.Unfinished(ctx, "")
	want := []int64{reused, remote, killed} // newest first
	if procStart(os.Getpid()) == "" {
		want = []int64{remote, killed} // no start times: a reused pid looks alive
	}
	if fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		t.Errorf("after the lease: unfinished = %v, want %v", ids(got), want)
	}
	s.now = time.Now

	if err := s.MarkInterrupted(ctx, killed); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkInterrupted(ctx, killed); !errors.Is(err, ErrNotFound) {
		t.Errorf("second MarkInterrupted: %v", err)
	}
	d, err := s.Get(ctx, killed)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != StatusInterrupted || d.FinishedAt.IsZero() || d.Error == "" {
		t.Errorf("interrupted record: %+v", d)
	}
	got, _ = s.Unfinished(ctx, "shop")
	if len(got) != 0 {
		t.Errorf("unfinished after marking: %v", ids(got))
	}
	// The process that was thought dead can still say how it ended.
	if err := s.Finish(ctx, killed, Outcome{Status: StatusFailed, Error: "boom"}); err != nil {
		t.Errorf("finish after interrupted: %v", err)
	}
	if err := s.Heartbeat(ctx, mine); err != nil {
		t.Error(err)
	}
}

func TestSnapshotsCatalogue(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	a, err := s.AddSnapshot(ctx, Snapshot{Name: "a", Env: "shop", Service: "db", Volume: "shop_db_a", Created: time.UnixMilli(1000)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.AddSnapshot(ctx, Snapshot{Name: "b", Env: "shop", Service: "db", Volume: "shop_db_b", Created: time.UnixMilli(2000)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddSnapshot(ctx, Snapshot{Name: "a", Env: "shop"}); err == nil {
		t.Error("two snapshots named a in shop")
	}
	if _, err := s.AddSnapshot(ctx, Snapshot{Name: "a", Env: "blog"}); err != nil {
		t.Errorf("same name in another environment: %v", err)
	}
	if _, err := s.AddSnapshot(ctx, Snapshot{Name: "c", Env: "shop", DeploymentID: 12345}); err == nil {
		t.Error("accepted a snapshot of an unknown deployment (foreign keys off?)")
	}
	got, err := s.Snapshots(ctx, "shop")
	if err != nil || len(got) != 2 || got[0].ID != b || got[1].ID != a {
		t.Fatalf("snapshots: %+v, %v", got, err)
	}
	if err := s.RemoveSnapshot(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveSnapshot(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("second remove: %v", err)
	}
	all, _ := s.Snapshots(ctx, "")
	if len(all) != 2 {
		t.Errorf("all snapshots: %+v", all)
	}
}

func TestDefaultPath(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	p, err := DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "berth.db" || filepath.Base(filepath.Dir(p)) != "berth" {
		t.Errorf("path %s", p)
	}
	fi, err := os.Stat(filepath.Dir(p))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("folder: %v, %v", fi, err)
	}
}
