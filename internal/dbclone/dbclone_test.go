package dbclone_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/testenv"
)

func gz(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	writeFile(t, p+".gz", b.Bytes())
	return p + ".gz"
}

func zst(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := zstd.NewWriter(nil)
	writeFile(t, p+".zst", enc.EncodeAll(data, nil))
	return p + ".zst"
}

// TestCloneSeedFormats loads seeds of every format into golden copies,
// clones each into a fresh volume, starts PostgreSQL on the clone and
// compares every table's row count and checksum with the source database.
func TestCloneSeedFormats(t *testing.T) {
	f := newFixture(t)
	src := f.sourceDB()
	want := f.checksums(src)
	dir := t.TempDir()
	plain := f.dump(src, dir, "seed.sql")
	custom := f.dump(src, dir, "seed.dump", "-Fc")
	directory := f.dump(src, dir, "seed.dir", "-Fd")
	sum, _, err := dbclone.ChecksumSeed(plain)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, seed, sha string
		format          string
	}{
		{"plain", plain, sum, dbclone.FormatPlain},
		{"plain-gzip", gz(t, plain), "", dbclone.FormatPlain},
		{"custom", custom, "", dbclone.FormatCustom},
		{"custom-zstd", zst(t, custom), "", dbclone.FormatCustom},
		{"directory", directory, "", dbclone.FormatDirectory},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, err := dbclone.InspectSeed(c.seed, c.sha)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != c.format {
				t.Errorf("format %q, want %q", info.Format, c.format)
			}
			vol := f.volume("clone-"+c.name, nil)
			var steps []string
			res := f.clone(t, f.c, dbclone.Source{Kind: "seed", Seed: c.seed, SHA256: c.sha, Name: "seed " + c.name}, f.target(vol, ""),
				func(p dbclone.Progress) { steps = append(steps, p.Step) })
			if !res.GoldenLoaded || res.Strategy == "" || res.Bytes == 0 {
				t.Errorf("result %+v: want a golden loaded now, a strategy and a size", res)
			}
			t.Logf("%s: %s clone in %v (%d bytes); steps %v", c.name, res.Strategy, res.Duration, res.Bytes, steps)
			got := f.checksums(f.postgres("clone-"+c.name, vol))
			sameSums(t, c.name, got, want)

			// a second clone reuses the golden copy
			vol2 := f.volume("again-"+c.name, nil)
			res2, err := f.c.Clone(f.ctx, dbclone.Source{Kind: "seed", Seed: c.seed, Name: "seed"}, f.target(vol2, ""), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res2.GoldenLoaded || res2.From != res.From {
				t.Errorf("second clone %+v: want the golden copy %s reused", res2, res.From)
			}
		})
	}
}

// TestStrategies clones the same golden copy with each strategy and checks
// content equality; the automatic choice on this engine's XFS store with
// reflink is copy-on-write.
func TestStrategies(t *testing.T) {
	f := newFixture(t)
	src := f.sourceDB()
	want := f.checksums(src)
	seed := f.dump(src, t.TempDir(), "seed.dump", "-Fc")
	auto, err := f.c.Strategy(f.ctx, pgImage, f.prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("automatic strategy on this engine: %s", auto)
	for _, s := range []string{dbclone.StrategyReflink, dbclone.StrategyCopy, dbclone.StrategyLogical} {
		t.Run(s, func(t *testing.T) {
			if s == dbclone.StrategyReflink && auto != dbclone.StrategyReflink {
				testenv.Missing(t, "the engine's volume store does not copy on write (scripts/engine.sh puts its data root on XFS with reflink)")
			}
			c := dbclone.New(f.port)
			c.Force = s
			vol := f.volume("s-"+s, nil)
			res := f.clone(t, c, dbclone.Source{Kind: "seed", Seed: seed, Name: "seed"}, f.target(vol, ""), nil)
			if res.Strategy != s {
				t.Errorf("strategy %q, want %q", res.Strategy, s)
			}
			t.Logf("%s: %v, %d bytes", s, res.Duration, res.Bytes)
			sameSums(t, s, f.checksums(f.postgres("s-"+s, vol)), want)
		})
	}
}

// TestSnapshotRestoreReset: a snapshot of a running database, changes, a
// restore to the snapshot, and a reset to the golden copy.
func TestSnapshotRestoreReset(t *testing.T) {
	f := newFixture(t)
	src := f.sourceDB()
	golden := f.checksums(src)
	seed := f.dump(src, t.TempDir(), "seed.dump", "-Fc")
	vol := f.volume("env", nil)
	tg := f.target(vol, "")
	res := f.clone(t, f.c, dbclone.Source{Kind: "seed", Seed: seed, Name: "seed"}, tg, nil)
	db := f.postgres("env", vol)
	tg.Container = db
	f.psql(db, "INSERT INTO customers VALUES (900001, 'added before the snapshot', NULL)")
	before := f.checksums(db)

	snap, sres, err := f.c.Snapshot(f.ctx, tg, "s1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.removeVolume(snap.Name) })
	t.Logf("snapshot %s: %s in %v, %d bytes", snap.Name, sres.Strategy, sres.Duration, sres.Bytes)
	if snap.Labels[dbclone.LabelRole] != dbclone.RoleSnapshot || snap.Labels[dbclone.LabelSnapshot] != "s1" || sres.Bytes == 0 {
		t.Errorf("snapshot volume %+v, result %+v", snap, sres)
	}
	f.ready(db) // the snapshot stopped and started it
	if got := f.checksums(db); got["public.customers"] != before["public.customers"] {
		t.Errorf("the snapshot changed the database: %v", got)
	}

	f.psql(db, "DELETE FROM orders WHERE id % 2 = 0; UPDATE customers SET name = 'changed'")
	if got := f.checksums(db); got["public.orders"] == before["public.orders"] {
		t.Fatal("the change did not change the checksum")
	}
	if _, err := f.c.Restore(f.ctx, snap.Name, tg, nil); err != nil {
		t.Fatal(err)
	}
	f.ready(db)
	sameSums(t, "restored", f.checksums(db), before)

	if _, err := f.c.Restore(f.ctx, res.From, tg, nil); err != nil {
		t.Fatal(err)
	}
	f.ready(db)
	sameSums(t, "reset", f.checksums(db), golden)

	// A source that is empty (what the engine makes when a volume goes
	// between a clone's look-up and its copy): refused, nothing changed.
	empty := f.volume("empty", nil)
	if _, err := f.c.Restore(f.ctx, empty, tg, nil); !errors.Is(err, dbclone.ErrSource) || !strings.Contains(err.Error(), "is empty") {
		t.Fatalf("restoring an empty volume: %v, want ErrSource saying it is empty", err)
	}
	f.ready(db)
	sameSums(t, "after the empty source", f.checksums(db), golden)

	// removing a snapshot refuses other volumes
	if err := f.c.RemoveSnapshot(f.ctx, vol); err == nil {
		t.Error("RemoveSnapshot removed a volume that is not a snapshot")
	}
	if err := f.c.RemoveSnapshot(f.ctx, snap.Name); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := f.port.InspectVolume(f.ctx, snap.Name); ok {
		t.Error("the snapshot volume is still there")
	}
}

// TestSeedFaults: corrupt, truncated, newer-major and mismatching seeds
// fail with a clear error, leave no golden copy and leave the target's
// existing database as it was.
func TestSeedFaults(t *testing.T) {
	f := newFixture(t)
	src := f.sourceDB()
	dir := t.TempDir()
	plain := f.dump(src, dir, "seed.sql")
	custom := f.dump(src, dir, "seed.dump", "-Fc")
	plainData, _ := os.ReadFile(plain)
	customData, _ := os.ReadFile(custom)
	gzData, _ := os.ReadFile(gz(t, plain))

	truncPlain := filepath.Join(dir, "trunc.sql")
	writeFile(t, truncPlain, plainData[:len(plainData)*2/3])
	truncCustom := filepath.Join(dir, "trunc.dump")
	writeFile(t, truncCustom, customData[:len(customData)/2])
	corruptGz := filepath.Join(dir, "corrupt.sql.gz")
	bad := bytes.Clone(gzData)
	for i := len(bad) / 2; i < len(bad)/2+64; i++ {
		bad[i] ^= 0x5a
	}
	writeFile(t, corruptGz, bad)
	newer := filepath.Join(dir, "newer.dump")
	nb := bytes.Clone(customData)
	nb[6] = 15 // archive version 1.15: what PostgreSQL 16's pg_dump writes
	writeFile(t, newer, nb)
	newerPlain := filepath.Join(dir, "newer.sql")
	writeFile(t, newerPlain, bytes.Replace(plainData, []byte("-- Dumped from database version 15"), []byte("-- Dumped from database version 17"), 1))
	garbage := filepath.Join(dir, "garbage.sql")
	writeFile(t, garbage, []byte("-- not a dump\nTHIS IS NOT SQL;\n"))

	// the target holds a database already; it must survive every failure
	vol := f.volume("env", nil)
	db := f.postgres("env", vol)
	f.psql(db, "CREATE TABLE keep (v text); INSERT INTO keep VALUES ('precious')")
	before := f.checksums(db)
	tg := f.target(vol, db)

	cases := []struct {
		name, seed, sha, want string
	}{
		{"truncated-plain", truncPlain, "", "is truncated"},
		{"truncated-custom", truncCustom, "", "could not be restored"},
		{"corrupt-gzip", corruptGz, "", "corrupt or truncated"},
		{"newer-major-custom", newer, "", "newer pg_dump"},
		{"newer-major-plain", newerPlain, "", "dumped from PostgreSQL 17, newer than the image's PostgreSQL 15"},
		{"not-sql", garbage, "", "could not be restored"},
		{"checksum", plain, strings.Repeat("0", 64), "checksum mismatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := f.port.Volumes(f.ctx, map[string]string{dbclone.LabelRole: ""})
			_, err := f.c.Clone(f.ctx, dbclone.Source{Kind: "seed", Seed: c.seed, SHA256: c.sha, Name: "seed " + filepath.Base(c.seed)}, tg, nil)
			if err == nil {
				t.Fatal("the clone succeeded")
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, dbclone.ErrSource) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q: want ErrSource saying %q", err, c.want)
			}
			after, _ := f.port.Volumes(f.ctx, map[string]string{dbclone.LabelRole: ""})
			if left := f.leftBehind(before, after, c.seed); len(left) > 0 {
				t.Errorf("a failed load left volumes behind: %v", left)
			}
		})
	}
	f.ready(db)
	sameSums(t, "the target after the failures", f.checksums(db), before)
}

// TestURLSource loads a live database by URL, read by an account whose
// password holds every character a URL treats specially (# ? & = and :
// as libpq takes them, unencoded; % / and @ encoded), from the second of
// two hosts (the first refuses connections); and fails clearly on an
// unreachable host, wrong credentials and a parameter the image's libpq
// does not know, never printing the password.
func TestURLSource(t *testing.T) {
	f := newFixture(t)
	src := f.sourceDB()
	f.psql(src, "CREATE ROLE reader LOGIN PASSWORD "+pgQuote(readerPW)+"; GRANT pg_read_all_data TO reader")
	want := f.checksums(src)
	ip := f.docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", src)
	written := strings.NewReplacer("%", "%25", "/", "%2F", "@", "%40").Replace(readerPW)
	good := "postgresql://reader:" + written + "@127.0.0.1:1," + ip + ":5432/" + pgDB + "?application_name=berth+clone&connect_timeout=10&sslmode=prefer"

	vol := f.volume("env", nil)
	db := f.postgres("env", vol)
	f.psql(db, "CREATE TABLE keep (v text); INSERT INTO keep VALUES ('precious')")
	before := f.checksums(db)
	tg := f.target(vol, db)

	for _, c := range []struct{ name, url, want string }{
		{"unreachable", "postgres://reader:" + written + "@127.0.0.1:1/" + pgDB, "is unreachable"},
		{"wrong-password", "postgres://reader:wrong-" + written + "@" + ip + ":5432/" + pgDB, "refused the credentials in $TEST_URL"},
		{"unknown-to-libpq-15", "postgres://reader:" + written + "@" + ip + ":5432/" + pgDB + "?sslnegotiation=direct", "the image's libpq does not take one of the parameters in $TEST_URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var steps []string
			_, err := f.c.Clone(f.ctx, dbclone.Source{Kind: "url", URL: c.url, URLName: "TEST_URL", Name: "the database at $TEST_URL"}, tg,
				func(p dbclone.Progress) { steps = append(steps, p.Step) })
			if err == nil {
				t.Fatal("the clone succeeded")
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, dbclone.ErrSource) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q: want ErrSource saying %q", err, c.want)
			}
			for _, s := range append(steps, err.Error()) {
				if strings.Contains(s, readerPW) || strings.Contains(s, written) {
					t.Errorf("the error or progress shows the password: %v", s)
				}
			}
		})
	}
	f.ready(db)
	sameSums(t, "the target after the failures", f.checksums(db), before)

	res := f.clone(t, f.c, dbclone.Source{Kind: "url", URL: good, URLName: "TEST_URL", Name: "the database at $TEST_URL"}, tg, nil)
	f.ready(db)
	sameSums(t, "the clone of the URL", f.checksums(db), want)
	if out := f.docker("volume", "inspect", res.From); strings.Contains(out, readerPW) || strings.Contains(out, written) || strings.Contains(out, ip+":5432") {
		t.Errorf("the golden volume's labels show the URL:\n%s", out)
	}
}

// pgQuote quotes s as a PostgreSQL string literal.
func pgQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// TestDiskFull fills a size-limited volume during a copy: the error says
// so, the partial copy is removed, and the database the volume held and
// the golden copy are untouched. The small file system is a tmpfs volume
// (local driver, size=...), kept mounted by a keeper container so that its
// content outlives each container.
func TestDiskFull(t *testing.T) {
	f := newFixture(t)
	src := f.sourceDB()
	want := f.checksums(src)
	seed := f.dump(src, t.TempDir(), "seed.dump", "-Fc")
	// the golden copy on an ordinary volume
	big := f.volume("big", nil)
	res := f.clone(t, f.c, dbclone.Source{Kind: "seed", Seed: seed, Name: "seed"}, f.target(big, ""), nil)
	golden := res.From
	// The environment's volume: a small file system of its own holding a
	// fresh cluster (a loop device; 72 MiB of tmpfs where there can be
	// none). Copy-on-write cannot cross file systems: the copy falls back
	// to a plain one, which fills the disk.
	small, ok := f.loopVolume("small", 72)
	if !ok {
		t.Log("no loop device here (needs root and a local engine): the small volume is tmpfs")
		small = f.volume("small", map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=72m"})
	}
	keeper := f.prefix + "-keeper"
	f.docker("run", "-d", "--name", keeper, "--label", "dev.berth.test="+f.prefix, "-v", small+":/keep", "--entrypoint", "sleep", pgImage, "infinity")
	t.Cleanup(func() { f.removeContainer(keeper) })
	db := f.postgres("env", small)
	f.psql(db, "CREATE TABLE keep (v text); INSERT INTO keep VALUES ('precious')")
	before := f.checksums(db)

	_, err := f.c.Restore(f.ctx, golden, f.target(small, db), nil)
	if err == nil {
		t.Fatal("the copy into a full volume succeeded")
	}
	t.Logf("error: %v", err)
	if !errors.Is(err, dbclone.ErrNoSpace) {
		t.Errorf("error %v: want ErrNoSpace", err)
	}
	f.ready(db)
	sameSums(t, "the database on the full volume", f.checksums(db), before)
	if ls := f.docker("exec", keeper, "ls", "-a", "/keep"); strings.Contains(ls, ".berth-new") || strings.Contains(ls, ".berth-old") {
		t.Errorf("the partial copy was left behind:\n%s", ls)
	}
	// the golden copy still clones whole
	vol := f.volume("after", nil)
	if _, err := f.c.Restore(f.ctx, golden, f.target(vol, ""), nil); err != nil {
		t.Fatal(err)
	}
	sameSums(t, "a clone of the golden copy after the failure", f.checksums(f.postgres("after", vol)), want)
}
