package dbclone_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
)

const (
	myImage  = "mariadb:10.11"
	myRootPW = "r00t-s3cret"
	myUser   = "app"
	myPass   = "app-pw's"
	myDB     = "shop"
)

// sub is f for a subtest: failures and clean-ups go to t.
func (f *fixture) sub(t *testing.T) *fixture {
	g := *f
	g.t = t
	return &g
}

func (f *fixture) myTarget(vol, container string) dbclone.Target {
	return dbclone.Target{Env: f.prefix, Service: "db", Image: myImage, Engine: dbclone.EngineMariaDB, Volume: vol,
		MountDir: "/var/lib/mysql", Container: container, User: myUser, Password: myPass, Database: myDB, RootPassword: myRootPW}
}

// mariadb starts a MariaDB server on vol with the service's settings,
// labelled as Berth's so that dbclone may stop and start it, and waits
// until the image's health check passes.
func (f *fixture) mariadb(suffix, vol string) string {
	f.t.Helper()
	name := f.prefix + "-" + suffix
	f.docker("run", "-d", "--name", name, "--label", "dev.berth.managed=true", "--label", "dev.berth.test="+f.prefix,
		"-e", "MARIADB_ROOT_PASSWORD="+myRootPW, "-e", "MARIADB_USER="+myUser, "-e", "MARIADB_PASSWORD="+myPass,
		"-e", "MARIADB_DATABASE="+myDB, "-v", vol+":/var/lib/mysql", myImage)
	f.t.Cleanup(func() { f.removeContainer(name) })
	f.myReady(name)
	return name
}

func (f *fixture) myReady(container string) {
	f.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := exec.CommandContext(f.ctx, "docker", "exec", container, "healthcheck.sh", "--connect", "--innodb_initialized").CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "logs", "--tail", "30", container).CombinedOutput()
			f.t.Fatalf("%s did not become ready: %s\n%s", container, out, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// my runs SQL with the mariadb client inside container, over TCP as user
// with password (as a client of the service would).
func (f *fixture) my(container, user, password, sql string) string {
	f.t.Helper()
	return f.docker("exec", "-e", "MYSQL_PWD="+password, container, "mariadb", "-h", "127.0.0.1", "-u", user, "-sN", "-D", myDB, "-e", sql)
}

// myChecksums returns each table's row count and CHECKSUM TABLE in the
// service's database, read as the service's user with one client call
// (each docker exec costs).
func (f *fixture) myChecksums(container string) map[string]string {
	f.t.Helper()
	return f.mySums(func(sql string) string { return f.my(container, myUser, myPass, sql) })
}

// myChecksumsIn is myChecksums of database db, read as root.
func (f *fixture) myChecksumsIn(container, db string) map[string]string {
	f.t.Helper()
	return f.mySums(func(sql string) string { return f.myIn(container, db, sql) })
}

// mySums returns the row counts and checksums of the tables of the
// current database of the client run runs.
func (f *fixture) mySums(run func(sql string) string) map[string]string {
	f.t.Helper()
	tables := strings.Fields(run("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1"))
	var q strings.Builder
	for _, tbl := range tables {
		fmt.Fprintf(&q, "SELECT '%[1]s', COUNT(*) FROM `%[1]s`; CHECKSUM TABLE `%[1]s` EXTENDED;\n", tbl)
	}
	out := map[string]string{}
	if len(tables) == 0 {
		return out
	}
	lines := strings.Split(run(q.String()), "\n")
	if len(lines) != 2*len(tables) {
		f.t.Fatalf("checksums of %v: %q", tables, lines)
	}
	for i, tbl := range tables {
		n, sum := strings.Fields(lines[2*i]), strings.Fields(lines[2*i+1])
		if len(n) != 2 || n[0] != tbl || len(sum) != 2 {
			f.t.Fatalf("checksum of %s: %q %q", tbl, lines[2*i], lines[2*i+1])
		}
		out[tbl] = n[1] + ":" + sum[1]
	}
	return out
}

// myNoGolden fails when a golden copy (or its marker) of the test is left.
func (f *fixture) myNoGolden(what string) {
	f.t.Helper()
	out := f.docker("volume", "ls", "-q", "--filter", "label=dev.berth.db-role", "--filter", "label=dev.berth.db-image="+myImage)
	for _, v := range strings.Fields(out) {
		labels := f.docker("volume", "inspect", "-f", "{{index .Labels \"dev.berth.db-source\"}}", v)
		if strings.Contains(labels, what) {
			f.t.Errorf("volume %s (%s) was left behind", v, labels)
		}
	}
}

// TestMariaDB loads plain and gzip seeds made by mariadb-dump into golden
// copies, clones them (copy-on-write and plain copy), starts MariaDB on
// each clone and compares every table's row count and CHECKSUM TABLE with
// the source server; then snapshot, change, restore and reset, a logical
// copy; and bad
// seeds fail clearly without leaving a volume. One source, one golden copy
// per seed, shared by the subtests.
func TestMariaDB(t *testing.T) {
	f := newFixtureFor(t, myImage)
	src := f.mariadb("src", f.volume("src", nil))
	f.my(src, myUser, myPass, `CREATE TABLE customers (id int PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200)) ENGINE=InnoDB;
INSERT INTO customers SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.test') FROM seq_1_to_20000;
CREATE TABLE products (id int PRIMARY KEY, title char(32), price decimal(10,2), note text) ENGINE=InnoDB;
INSERT INTO products SELECT seq, MD5(seq), (seq % 1000) / 7, REPEAT('x', seq % 50) FROM seq_1_to_10000;
CREATE TABLE orders (id bigint AUTO_INCREMENT PRIMARY KEY, customer int, product int, qty int, at datetime,
  FOREIGN KEY (customer) REFERENCES customers (id), FOREIGN KEY (product) REFERENCES products (id), KEY (customer)) ENGINE=InnoDB;
INSERT INTO orders (customer, product, qty, at) SELECT 1 + seq % 20000, 1 + seq % 10000, seq % 7, '2026-01-01' + INTERVAL seq MINUTE FROM seq_1_to_30000;
CREATE TABLE notes (id int PRIMARY KEY, body text) ENGINE=Aria;
INSERT INTO notes VALUES (1, 'quote '' and backslash \\ and unicode é');`)
	want := f.myChecksums(src)
	if len(want) != 4 {
		t.Fatalf("source tables %v", want)
	}
	dir := t.TempDir()
	f.docker("exec", "-e", "MYSQL_PWD="+myRootPW, src, "sh", "-c", "mariadb-dump -uroot --single-transaction "+myDB+" >/tmp/seed.sql")
	plain := filepath.Join(dir, "seed.sql")
	f.docker("cp", src+":/tmp/seed.sql", plain)
	sum, _, err := dbclone.ChecksumSeed(plain)
	if err != nil {
		t.Fatal(err)
	}

	top := f
	// golden is the plain seed's golden copy; running the server on
	// runningVol, a verified clone the snapshot subtest goes on with.
	var golden, running, runningVol string
	t.Run("seed-clone", func(t *testing.T) {
		f := f.sub(t)
		vol := f.volume("clone", nil)
		var steps []string
		res := top.clone(t, f.c, dbclone.Source{Kind: "seed", Seed: plain, SHA256: sum, Name: "seed plain"}, f.myTarget(vol, ""),
			func(p dbclone.Progress) { steps = append(steps, p.Step) })
		golden = res.From
		if !res.GoldenLoaded || res.Strategy == "" || res.Bytes == 0 {
			t.Errorf("result %+v: want a golden copy loaded now, a strategy and a size", res)
		}
		t.Logf("plain: %s clone in %v (%d bytes); steps %v", res.Strategy, res.Duration, res.Bytes, steps)
		c := f.mariadb("clone", vol)
		sameSums(t, "plain clone", f.myChecksums(c), want)
		// the service's accounts work as the entrypoint would have made them
		if got := f.my(c, "root", myRootPW, "SELECT COUNT(*) FROM mysql.global_priv WHERE User IN ('', 'root') AND Host NOT IN ('localhost', '%')"); got != "0" {
			t.Errorf("%s anonymous or other root accounts left", got)
		}
		if got := f.my(c, "root", myRootPW, "SELECT CURRENT_USER()"); got != "root@%" {
			t.Errorf("root over TCP: %q", got)
		}
		if got := f.my(c, myUser, myPass, "SELECT CURRENT_USER()"); got != myUser+"@%" {
			t.Errorf("%s over TCP: %q", myUser, got)
		}
		if logs := f.docker("logs", c); !strings.Contains(logs, "skipping initialisation") {
			t.Errorf("the clone was initialised again by the entrypoint:\n%s", logs)
		}

		// a second clone (a plain file copy) reuses the golden copy
		f.c.Force = dbclone.StrategyCopy
		defer func() { f.c.Force = "" }()
		vol2 := top.volume("again", nil)
		res2, err := f.c.Clone(f.ctx, dbclone.Source{Kind: "seed", Seed: plain, Name: "seed plain"}, f.myTarget(vol2, ""), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res2.GoldenLoaded || res2.From != golden || res2.Strategy != dbclone.StrategyCopy {
			t.Errorf("second clone %+v: want the golden copy %s reused, by a plain copy", res2, golden)
		}
		c2 := top.mariadb("again", vol2)
		sameSums(t, "copied clone", f.myChecksums(c2), want)
		running, runningVol = c2, vol2
	})

	t.Run("gzip", func(t *testing.T) {
		f := f.sub(t)
		vol := f.volume("gz", nil)
		res := top.clone(t, f.c, dbclone.Source{Kind: "seed", Seed: gz(t, plain), Name: "seed gzip"}, f.myTarget(vol, ""), nil)
		if !res.GoldenLoaded {
			t.Errorf("result %+v: want a golden copy of its own", res)
		}
		sameSums(t, "gzip clone", f.myChecksums(f.mariadb("gz", vol)), want)
	})

	t.Run("snapshot-restore-reset", func(t *testing.T) {
		f := f.sub(t)
		if running == "" {
			t.Fatal("no verified clone: the clone subtest failed")
		}
		c := running
		tg := f.myTarget(runningVol, c)
		snap, res, err := f.c.Snapshot(f.ctx, tg, "before", nil)
		if err != nil {
			t.Fatal(err)
		}
		f.t.Cleanup(func() { f.removeVolume(snap.Name) })
		t.Logf("snapshot %s: %s in %v", snap.Name, res.Strategy, res.Duration)
		f.myReady(c) // started again after the copy
		f.my(c, myUser, myPass, "DELETE FROM orders WHERE id % 3 = 0; UPDATE customers SET name = 'changed'; DROP TABLE notes")
		if got := f.myChecksums(c); len(got) != 3 || got["orders"] == want["orders"] {
			t.Fatalf("the change did not take: %v", got)
		}
		if _, err := f.c.Restore(f.ctx, snap.Name, tg, nil); err != nil {
			t.Fatal(err)
		}
		f.myReady(c)
		sameSums(t, "restored", f.myChecksums(c), want)

		f.my(c, myUser, myPass, "TRUNCATE TABLE notes")
		if _, err := f.c.Clone(f.ctx, dbclone.Source{Kind: "golden", Volume: golden, Name: "golden"}, tg, nil); err != nil {
			t.Fatal(err)
		}
		f.myReady(c)
		sameSums(t, "reset", f.myChecksums(c), want)

	})

	t.Run("logical", func(t *testing.T) {
		f := f.sub(t)
		if running == "" {
			t.Fatal("no verified clone: the clone subtest failed")
		}
		// a logical copy of the running environment (stopped around it) into a fresh volume
		f.c.Force = dbclone.StrategyLogical
		defer func() { f.c.Force = "" }()
		vol := f.volume("logical", nil)
		res, err := f.c.Clone(f.ctx, dbclone.Source{Kind: "env", Volume: runningVol, Container: running, Name: "environment"}, f.myTarget(vol, ""), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Strategy != dbclone.StrategyLogical {
			t.Errorf("strategy %q", res.Strategy)
		}
		t.Logf("logical copy in %v (%d bytes)", res.Duration, res.Bytes)
		f.myReady(running) // started again after the copy
		c := f.mariadb("logical", vol)
		sameSums(t, "logical copy", f.myChecksums(c), want)
		if got := f.my(c, "root", myRootPW, "SELECT CURRENT_USER()"); got != "root@%" {
			t.Errorf("root over TCP on the logical copy: %q", got)
		}
	})

	t.Run("bad-seeds", func(t *testing.T) {
		f := f.sub(t)
		data, err := os.ReadFile(plain)
		if err != nil {
			t.Fatal(err)
		}
		truncated := filepath.Join(dir, "truncated.sql")
		writeFile(t, truncated, data[:len(data)*2/3])
		broken := filepath.Join(dir, "broken.sql")
		writeFile(t, broken, []byte("CREATE TABLE a (id int);\nINSERT INTO a VALUES (1;\n"))
		badgz := filepath.Join(dir, "bad.sql.gz")
		gzdata, _ := os.ReadFile(gz(t, plain))
		writeFile(t, badgz, gzdata[:len(gzdata)/2])
		custom := filepath.Join(dir, "seed.dump")
		writeFile(t, custom, []byte("PGDMP\x01\x0e\x00 a custom-format archive"))
		newer := filepath.Join(dir, "newer.sql")
		writeFile(t, newer, []byte("-- MariaDB dump 10.19  Distrib 11.4.2-MariaDB, for debian-linux-gnu (x86_64)\n--\n-- Host: localhost    Database: shop\n"+
			"-- ------------------------------------------------------\n-- Server version\t11.4.2-MariaDB-ubu2404\n\nCREATE TABLE a (id int);\n-- Dump completed on 2026-11-27 10:00:00\n"))
		var vols []string
		for _, c := range []struct{ name, seed, msg string }{
			{"truncated", truncated, "is truncated: the dump does not end with mariadb-dump's closing line"},
			{"broken", broken, "could not be loaded"},
			{"gzip-truncated", badgz, "corrupt or truncated (gzip)"},
			{"custom-format", custom, "a mariadb database loads plain SQL"},
			{"newer-version", newer, "was dumped from MariaDB 11.4, newer than the image's MariaDB 10.11"},
		} {
			t.Run(c.name, func(t *testing.T) {
				vol := f.volume("bad-"+c.name, nil)
				name := "seed " + c.name + " " + f.prefix
				_, err := f.c.Clone(f.ctx, dbclone.Source{Kind: "seed", Seed: c.seed, Name: name}, f.myTarget(vol, ""), nil)
				if !errors.Is(err, dbclone.ErrSource) || !strings.Contains(err.Error(), c.msg) {
					t.Fatalf("error %v, want ErrSource saying %q", err, c.msg)
				}
				if strings.Contains(err.Error(), myRootPW) || strings.Contains(err.Error(), myPass) {
					t.Errorf("the error shows a password: %v", err)
				}
				f.myNoGolden(filepath.Base(c.seed))
				vols = append(vols, vol)
			})
		}
		// the targets were never touched (one helper looks at them all)
		args := []string{"run", "--rm", "--network", "none"}
		for i, v := range vols {
			args = append(args, "-v", fmt.Sprintf("%s:/v/%d", v, i))
		}
		if out := f.docker(append(args, myImage, "sh", "-c", "find /v -mindepth 2 | wc -l")...); out != "0" {
			t.Errorf("the target volumes were changed: %s entries", out)
		}
	})
}
