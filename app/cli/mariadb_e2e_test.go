package cli

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/testenv"
)

// mariadbCompose is a definition holding one MariaDB service, healthy when
// the image's health check passes.
const mariadbCompose = `services:
  db:
    image: mariadb:10.11
    environment:
      MARIADB_ROOT_PASSWORD: root-pw
      MARIADB_USER: app
      MARIADB_PASSWORD: app-pw
      MARIADB_DATABASE: app
    volumes:
      - data:/var/lib/mysql
    healthcheck:
      test: ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"]
      interval: 1s
      timeout: 3s
      retries: 90
volumes:
  data:
`

// mariadbSeed is a plain SQL seed (a MariaDB sequence makes the rows).
const mariadbSeed = `CREATE TABLE items (id int PRIMARY KEY, name varchar(64), price decimal(10,2));
INSERT INTO items SELECT seq, CONCAT('item ', MD5(seq)), (seq % 997) / 3 FROM seq_1_to_20000;
CREATE TABLE notes (id int AUTO_INCREMENT PRIMARY KEY, body text);
INSERT INTO notes (body) VALUES ('seeded');
`

// myq runs SQL with the mariadb client inside env's db container, over
// TCP with user's password, as a client would.
func myq(t *testing.T, env, user, password, sql string) string {
	t.Helper()
	id := containerIDs(t, env)["db"]
	if id == "" {
		t.Fatalf("%s has no db container", env)
	}
	for i := 0; ; i++ {
		out, err := exec.Command("docker", "exec", "-e", "MYSQL_PWD="+password, id, "mariadb", "-h", "127.0.0.1", "-u", user,
			"-sN", "-D", "app", "-e", sql).CombinedOutput()
		if err == nil {
			return strings.TrimSpace(string(out))
		}
		if i > 100 || !strings.Contains(string(out), "Can't connect") && !strings.Contains(string(out), "Lost connection") {
			t.Fatalf("mariadb %q: %v\n%s", sql, err, out)
		}
		exec.Command("sleep", "0.3").Run()
	}
}

// mySums is each table's row count and CHECKSUM TABLE.
func mySums(t *testing.T, env string) string {
	t.Helper()
	return myq(t, env, "app", "app-pw", "SELECT COUNT(*) FROM items; CHECKSUM TABLE items EXTENDED; SELECT COUNT(*) FROM notes; CHECKSUM TABLE notes EXTENDED")
}

// TestMariaDBClones runs the database commands end to end on a definition
// whose MariaDB database comes from a seed: deploy clones it before the
// server starts, db ls reports it, snapshot/restore and reset round-trip
// the content.
func TestMariaDBClones(t *testing.T) {
	testenv.Image(t, "mariadb:10.11")
	env := uniqueName("mariadb")
	t.Cleanup(func() {
		removeLabelled(env)
		removeVolumesLabelled("dev.berth.db-env=" + env)
	})
	t.Setenv("BERTH_STATE_DIR", t.TempDir())

	seed := mariadbSeed + "-- " + env + "\n" // unique per run, so the golden copy is this test's own
	manifest := "name: probe\ndatabases:\n  - service: db\n    engine: mariadb\n    source:\n      seed: seed/app.sql\n"
	repo := newDefRepo(t)
	c1 := repo.commit("mariadb", map[string]string{"berth.yaml": manifest, "compose.yaml": mariadbCompose, "seed/app.sql": seed})
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return berth(t, append([]string{"--repo", repo.dir}, args...)...)
	}

	if code, _, stderr := cli("deploy", "probe", c1, "--as", env); code != ExitOK || !strings.Contains(stderr, "a new clone from seed seed/app.sql") {
		t.Fatalf("deploy: exit %d", code)
	}
	if n := myq(t, env, "app", "app-pw", "SELECT COUNT(*) FROM items"); n != "20000" {
		t.Fatalf("the clone has %s items, want 20000", n)
	}
	if u := myq(t, env, "root", "root-pw", "SELECT CURRENT_USER()"); u != "root@%" {
		t.Fatalf("root logs in as %q", u)
	}
	seeded := mySums(t, env)

	code, out, _ := cli("db", "ls", env, "-o", "json")
	var dbs []core.DBInfo
	if code != ExitOK || json.Unmarshal([]byte(out), &dbs) != nil || len(dbs) != 1 {
		t.Fatalf("db ls: exit %d\n%s", code, out)
	}
	d := dbs[0]
	if d.Service != "db" || d.Engine != "mariadb" || !d.Exists || d.Golden == nil || d.Strategy == "" || d.Volume != env+"_data" {
		t.Fatalf("db ls: %+v (golden %+v)", d, d.Golden)
	}
	t.Cleanup(func() { exec.Command("docker", "volume", "rm", "-f", d.Golden.Volume, d.Golden.Volume+"-ready").Run() })
	if strings.Contains(out, "root-pw") || strings.Contains(out, "app-pw") {
		t.Fatalf("db ls shows a password:\n%s", out)
	}

	// Snapshot, change, restore.
	myq(t, env, "app", "app-pw", "INSERT INTO notes (body) VALUES ('before the snapshot')")
	snapped := mySums(t, env)
	code, out, _ = cli("db", "snapshot", env, "--name", "s1", "-o", "json")
	var res core.DBResult
	if code != ExitOK || json.Unmarshal([]byte(out), &res) != nil || res.Snapshot == nil || res.Snapshot.Size == 0 {
		t.Fatalf("db snapshot: exit %d\n%s", code, out)
	}
	restoreAndReset(t, cli, env, func() {
		myq(t, env, "app", "app-pw", "DELETE FROM items WHERE id % 3 = 0; UPDATE notes SET body = 'changed'")
	},
		func() string { return mySums(t, env) }, snapped, seeded)

	// A live server by URL (db clone --from url:VAR): a wrong password is
	// refused without showing it and without touching the database; the
	// right one replaces the database with the server's content.
	src := env + "-src"
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", "-v", src).Run() })
	if out, err := exec.Command("docker", "run", "-d", "--name", src, "-e", "MARIADB_ROOT_PASSWORD=src-root-pw", "-e", "MARIADB_DATABASE=app",
		"mariadb:10.11").CombinedOutput(); err != nil {
		t.Fatalf("source server: %v\n%s", err, out)
	}
	for i := 0; ; i++ {
		out, err := exec.Command("docker", "exec", "-e", "MYSQL_PWD=src-root-pw", src, "mariadb", "-h", "127.0.0.1", "-uroot", "-D", "app", "-e",
			"CREATE TABLE items (id int PRIMARY KEY, name varchar(64), price decimal(10,2)); INSERT INTO items SELECT seq, 'live', 1 FROM seq_1_to_123").CombinedOutput()
		if err == nil {
			break
		}
		if i > 300 {
			t.Fatalf("source server: %v\n%s", err, out)
		}
		exec.Command("sleep", "0.3").Run()
	}
	ipOut, _ := exec.Command("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", src).Output()
	ip := strings.TrimSpace(string(ipOut))
	urlVar := "BERTH_TEST_SRC_" + strings.ToUpper(strings.ReplaceAll(env, "-", "_"))
	t.Cleanup(func() {
		out, _ := exec.Command("docker", "volume", "ls", "-q", "--filter", "label=dev.berth.db-source").Output()
		for _, v := range strings.Fields(string(out)) {
			if l, _ := exec.Command("docker", "volume", "inspect", "-f", `{{index .Labels "dev.berth.db-source"}}`, v).Output(); strings.Contains(string(l), "$"+urlVar+" ") {
				exec.Command("docker", "volume", "rm", "-f", v).Run()
			}
		}
	})
	t.Setenv(urlVar, "mariadb://root:wrong-src-pw@"+ip+"/app")
	code, out, stderr := cli("db", "clone", env, "--from", "url:"+urlVar)
	if code == ExitOK || !strings.Contains(stderr, "refused the credentials in $"+urlVar) || strings.Contains(out+stderr, "wrong-src-pw") {
		t.Fatalf("db clone from a URL with a wrong password: exit %d", code)
	}
	if got := mySums(t, env); got != seeded {
		t.Fatalf("a failed clone changed the database: %s\nwant %s", got, seeded)
	}
	t.Setenv(urlVar, "mariadb://root:src-root-pw@"+ip+"/app")
	code, out, stderr = cli("db", "clone", env, "--from", "url:"+urlVar)
	if code != ExitOK || strings.Contains(out+stderr, "src-root-pw") {
		t.Fatalf("db clone from a URL: exit %d", code)
	}
	if n := myq(t, env, "app", "app-pw", "SELECT COUNT(*), MIN(name), MAX(name) FROM items"); n != "123\tlive\tlive" {
		t.Fatalf("the clone of the live server has items %q, want 123 live ones", n)
	}
}
