package dbclone_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/dbclone"
	"github.com/berthdev/berth/internal/engine"
	"github.com/berthdev/berth/internal/testenv"
)

const pgImage = "postgres:15"

// fixture is one test's engine, cloner and unique name prefix; everything
// it creates is removed when the test ends.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	eng    *engine.Engine
	port   dbclone.Engine
	c      *dbclone.Cloner
	prefix string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureFor(t, pgImage)
}

// newFixtureFor is newFixture for tests of the database in image.
func newFixtureFor(t *testing.T, image string) *fixture {
	t.Helper()
	testenv.Image(t, image)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	e, err := engine.Connect(ctx, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 30 {
		name = name[:30]
	}
	f := &fixture{t: t, ctx: ctx, eng: e, port: e.DBClone(), prefix: "berthtest-" + name + "-" + hex.EncodeToString(b)}
	f.c = dbclone.New(f.port)
	return f
}

// volume creates a managed volume for the test (driverOpts nil: an
// ordinary one).
func (f *fixture) volume(suffix string, driverOpts map[string]string) string {
	f.t.Helper()
	name := f.prefix + "-" + suffix
	if err := f.port.CreateVolume(f.ctx, name, map[string]string{"dev.berth.test": f.prefix}, driverOpts); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { f.removeVolume(name) })
	return name
}

// loopVolume makes a volume on a file system of its own: an ext4 image of
// mib MiB in a loop device, mounted by the engine's local driver. It needs
// root and an engine on this machine (dockerd and the test share /dev);
// ok is false when either is missing.
func (f *fixture) loopVolume(suffix string, mib int) (name string, ok bool) {
	f.t.Helper()
	if os.Geteuid() != 0 || !localEngine() {
		return "", false
	}
	for _, tool := range []string{"losetup", "mkfs.ext4", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", false
		}
	}
	img := filepath.Join(f.t.TempDir(), "fs.img")
	run := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			f.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("truncate", "-s", fmt.Sprintf("%dM", mib), img)
	run("mkfs.ext4", "-q", "-F", "-m", "0", img)
	// The file system's root becomes the data folder: no lost+found, or
	// initdb refuses it as not empty.
	mnt := f.t.TempDir()
	run("mount", "-o", "loop", img, mnt)
	run("rmdir", filepath.Join(mnt, "lost+found"))
	run("umount", mnt)
	dev := run("losetup", "--find", "--show", img)
	f.t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	return f.volume(suffix, map[string]string{"type": "ext4", "device": dev}), true
}

// localEngine reports whether the engine runs on this machine (a unix
// socket, no other context chosen).
func localEngine() bool {
	h := os.Getenv("DOCKER_HOST")
	return (h == "" || strings.HasPrefix(h, "unix://")) && os.Getenv("DOCKER_CONTEXT") == ""
}

func (f *fixture) removeVolume(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = exec.CommandContext(ctx, "docker", "volume", "rm", "-f", name).Run()
}

// goldenCleanup removes the golden copies a test's cloner made (their
// names derive from content, so a test's own data keeps them its own).
func (f *fixture) goldenCleanup(names ...string) {
	f.t.Cleanup(func() {
		for _, n := range names {
			f.removeVolume(n + "-ready")
			f.removeVolume(n)
		}
	})
}

// docker runs the docker CLI and returns its output.
func (f *fixture) docker(args ...string) string {
	f.t.Helper()
	out, err := exec.CommandContext(f.ctx, "docker", args...).CombinedOutput()
	if err != nil {
		f.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

const (
	pgUser = "app"
	pgPass = "s3cret-pw"
	pgDB   = "app"
)

func (f *fixture) target(vol, container string) dbclone.Target {
	return dbclone.Target{Env: f.prefix, Service: "db", Image: pgImage, Volume: vol, MountDir: "/var/lib/postgresql/data",
		Container: container, User: pgUser, Password: pgPass, Database: pgDB}
}

// postgres starts a PostgreSQL 15 server on vol, labelled as Berth's so
// that dbclone may stop and start it, and waits until it answers.
func (f *fixture) postgres(suffix, vol string) string {
	f.t.Helper()
	name := f.prefix + "-" + suffix
	f.docker("run", "-d", "--name", name, "--label", "dev.berth.managed=true", "--label", "dev.berth.test="+f.prefix,
		"-e", "POSTGRES_USER="+pgUser, "-e", "POSTGRES_PASSWORD="+pgPass, "-e", "POSTGRES_DB="+pgDB,
		"-v", vol+":/var/lib/postgresql/data", pgImage)
	f.t.Cleanup(func() { f.removeContainer(name) })
	f.ready(name)
	return name
}

func (f *fixture) removeContainer(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = exec.CommandContext(ctx, "docker", "rm", "-f", "-v", name).Run()
}

// ready waits until the server in container answers over TCP (the
// entrypoint's first-run server listens on its socket only).
func (f *fixture) ready(container string) {
	f.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := exec.CommandContext(f.ctx, "docker", "exec", container, "pg_isready", "-h", "127.0.0.1", "-U", pgUser, "-d", pgDB).CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "logs", "--tail", "30", container).CombinedOutput()
			f.t.Fatalf("%s did not become ready: %s\n%s", container, out, logs)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// psql runs a query with psql inside container, over TCP with the
// password (as a client would).
func (f *fixture) psql(container, query string) string {
	f.t.Helper()
	return f.docker("exec", "-e", "PGPASSWORD="+pgPass, container, "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-U", pgUser, "-d", pgDB, "-c", query)
}

// checksums returns each table's row count and an md5 of its rows in a
// fixed order, computed with psql.
func (f *fixture) checksums(container string) map[string]string {
	f.t.Helper()
	tables := strings.Fields(f.psql(container, "SELECT table_schema||'.'||table_name FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog','information_schema') AND table_type='BASE TABLE' ORDER BY 1"))
	out := map[string]string{}
	for _, tbl := range tables {
		out[tbl] = f.psql(container, fmt.Sprintf("SELECT count(*)||':'||coalesce(md5(string_agg(t::text, '' ORDER BY t::text)),'') FROM %s t", tbl))
	}
	return out
}

func sameSums(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: the reference has no tables", what)
	}
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if got[k] != want[k] {
			t.Errorf("%s: table %s = %q, want %q", what, k, got[k], want[k])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d tables, want %d", what, len(got), len(want))
	}
}

// sourceDB starts a PostgreSQL server filled with a few MB of test data
// (three tables) and returns its container.
func (f *fixture) sourceDB() string {
	f.t.Helper()
	vol := f.volume("src", nil)
	c := f.postgres("src", vol)
	f.psql(c, `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text);
INSERT INTO customers SELECT i, 'customer '||i, 'c'||i||'@example.test' FROM generate_series(1,20000) i;
CREATE TABLE products (id int PRIMARY KEY, title text, price numeric(10,2), tags text[]);
INSERT INTO products SELECT i, md5(i::text), (i % 1000)/7.0, ARRAY['t'||(i%5)] FROM generate_series(1,10000) i;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers, product int REFERENCES products, qty int, at timestamptz);
INSERT INTO orders (customer, product, qty, at) SELECT 1+(i%20000), 1+(i%10000), i%7, '2026-01-01'::timestamptz + i*interval '1 minute' FROM generate_series(1,60000) i;
CREATE INDEX ON orders (customer);`)
	return c
}

// dump writes a pg_dump of container's database into dir with extra
// arguments (-Fc, -Fd ...) and returns its path.
func (f *fixture) dump(container, dir, name string, args ...string) string {
	f.t.Helper()
	p := filepath.Join(dir, name)
	inside := "/tmp/" + name
	f.docker(append(append([]string{"exec", container, "pg_dump", "-U", pgUser, "--no-owner", "--no-privileges", "-f", inside}, args...), pgDB)...)
	f.docker("cp", container+":"+inside, p)
	return p
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// clone clones src into tg with c, removes the golden copy it used when
// the fixture's test ends, and fails t on an error.
func (f *fixture) clone(t *testing.T, c *dbclone.Cloner, src dbclone.Source, tg dbclone.Target, progress func(dbclone.Progress)) dbclone.Result {
	t.Helper()
	res, err := c.Clone(f.ctx, src, tg, progress)
	if res.From != "" {
		f.goldenCleanup(res.From)
	}
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// leftBehind names the volumes with a role that are in after but not in
// before and belong to this test: of its environment, or golden copies of
// the seed. Other suites running beside this one make volumes of their
// own, so counting every volume on the engine would blame them on us.
func (f *fixture) leftBehind(before, after []dbclone.Volume, seed string) []string {
	seen := map[string]bool{}
	for _, v := range before {
		seen[v.Name] = true
	}
	var out []string
	for _, v := range after {
		if seen[v.Name] {
			continue
		}
		if v.Labels[dbclone.LabelEnv] == f.prefix || strings.HasPrefix(v.Labels[dbclone.LabelSource], "seed "+filepath.Base(seed)+" ") {
			out = append(out, v.Name)
		}
	}
	return out
}
