package dbclone_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/dbclone"
)

// myRandomTarget is myTarget for a service with MARIADB_RANDOM_ROOT_PASSWORD.
func (f *fixture) myRandomTarget(vol, container string) dbclone.Target {
	t := f.myTarget(vol, container)
	t.RootPassword, t.RandomRoot = "", true
	return t
}

// mariadbRandom starts MariaDB on vol as a service with
// MARIADB_RANDOM_ROOT_PASSWORD would run.
func (f *fixture) mariadbRandom(suffix, vol string) string {
	f.t.Helper()
	name := f.prefix + "-" + suffix
	f.docker("run", "-d", "--name", name, "--label", "dev.berth.managed=true", "--label", "dev.berth.test="+f.prefix,
		"-e", "MARIADB_RANDOM_ROOT_PASSWORD=1", "-e", "MARIADB_USER="+myUser, "-e", "MARIADB_PASSWORD="+myPass,
		"-e", "MARIADB_DATABASE="+myDB, "-v", vol+":/var/lib/mysql", myImage)
	f.t.Cleanup(func() { f.removeContainer(name) })
	f.myReady(name)
	return name
}

// rootHashes reads the root accounts' password hashes (host → hash) of
// the data in vol with a private server started without its grant tables
// (no server may run on vol).
func (f *fixture) rootHashes(vol string) map[string]string {
	f.t.Helper()
	script := `set -e
mariadbd --user=mysql --datadir=/var/lib/mysql --skip-grant-tables --skip-networking --socket=/tmp/s --skip-log-bin --log-error=/tmp/err &
for i in $(seq 300); do mariadb -S /tmp/s -uroot -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
mariadb -S /tmp/s -uroot -N -B -e "SELECT Host, JSON_VALUE(Priv, '$.authentication_string') FROM mysql.global_priv WHERE User = 'root' ORDER BY Host"
kill %1; wait %1`
	out := f.docker("run", "--rm", "--network", "none", "--label", "dev.berth.test="+f.prefix, "-v", vol+":/var/lib/mysql",
		"--entrypoint", "bash", myImage, "-c", script)
	hashes := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if host, hash, ok := strings.Cut(strings.TrimSpace(l), "\t"); ok {
			hashes[host] = hash
		}
	}
	return hashes
}

// rootLogins tries to log in to container as root with each password,
// over TCP (root@'%') and over the socket (root@localhost), and returns
// the ones that worked (one client process per try, one docker exec for
// all).
func (f *fixture) rootLogins(container string, passwords []string) []string {
	f.t.Helper()
	script := `while IFS= read -r p; do
	for how in "-h 127.0.0.1" "--protocol=socket"; do
		if MYSQL_PWD="$p" mariadb $how -uroot -N -e 'SELECT 1' >/dev/null 2>&1; then echo "in: $how $p"; fi
	done
done`
	cmd := exec.CommandContext(f.ctx, "docker", "exec", "-i", container, "bash", "-c", script)
	cmd.Stdin = strings.NewReader(strings.Join(passwords, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("trying root logins: %v\n%s", err, out)
	}
	var in []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			in = append(in, l)
		}
	}
	return in
}

// candidates are the words of Berth's output that might be a password:
// every field, split at white space and at the punctuation around values,
// plus the empty password.
func candidates(texts ...string) []string {
	seen := map[string]bool{"": true}
	out := []string{""}
	for _, t := range texts {
		for _, w := range strings.FieldsFunc(t, func(r rune) bool { return strings.ContainsRune(" \t\n\r'\"`()[]{},;=:", r) }) {
			if !seen[w] {
				seen[w] = true
				out = append(out, w)
			}
		}
	}
	return out
}

// TestMariaDBRandomRoot clones a seed into MARIADB_RANDOM_ROOT_PASSWORD
// services: the service's user sees the seed's data; root logs in with no
// password that appears in Berth's output (progress, results, the golden
// copy's labels) nor with an empty one; a second clone reuses the golden
// copy; and every clone (from the seed or from another environment) has a
// root password of its own, the same for root@localhost and root@'%'.
func TestMariaDBRandomRoot(t *testing.T) {
	f := newFixtureFor(t, myImage)
	src := f.mariadb("src", f.volume("src", nil))
	f.my(src, myUser, myPass, `CREATE TABLE items (id int PRIMARY KEY, name varchar(64), price decimal(10,2)) ENGINE=InnoDB;
INSERT INTO items SELECT seq, CONCAT('item ', MD5(seq)), (seq % 997) / 3 FROM seq_1_to_20000;
CREATE TABLE notes (id int PRIMARY KEY, body text) ENGINE=Aria;
INSERT INTO notes VALUES (1, '`+f.prefix+`');`) // the prefix makes the seed, and its golden copy, this test's own
	want := f.myChecksums(src)
	// the login probe sees a password that works, over TCP and the socket
	if in := f.rootLogins(src, []string{"wrong", myRootPW}); len(in) != 2 {
		t.Fatalf("root logins to the source with its password: %q, want two", in)
	}
	dir := t.TempDir()
	f.docker("exec", "-e", "MYSQL_PWD="+myRootPW, src, "sh", "-c", "mariadb-dump -uroot --single-transaction "+myDB+" >/tmp/seed.sql")
	seed := filepath.Join(dir, "seed.sql")
	f.docker("cp", src+":/tmp/seed.sql", seed)
	source := dbclone.Source{Kind: "seed", Seed: seed, Name: "seed random-root"}

	var output []string // everything Berth said
	progress := func(p dbclone.Progress) { output = append(output, fmt.Sprintf("%+v", p)) }
	vol1, vol2, vol3 := f.volume("one", nil), f.volume("two", nil), f.volume("three", nil)
	res1 := f.clone(t, f.c, source, f.myRandomTarget(vol1, ""), progress)
	if !res1.GoldenLoaded {
		t.Errorf("first clone %+v: want a golden copy loaded now", res1)
	}
	res2, err := f.c.Clone(f.ctx, source, f.myRandomTarget(vol2, ""), progress)
	if err != nil {
		t.Fatal(err)
	}
	if res2.GoldenLoaded || res2.From != res1.From {
		t.Errorf("second clone %+v: want the golden copy %s reused", res2, res1.From)
	}
	res3, err := f.c.Clone(f.ctx, dbclone.Source{Kind: "env", Volume: vol1, Name: "environment one"}, f.myRandomTarget(vol3, ""), progress)
	if err != nil {
		t.Fatal(err)
	}
	output = append(output, fmt.Sprintf("%+v %+v %+v", res1, res2, res3))
	if !strings.Contains(strings.Join(output, "\n"), "giving root a new random password") {
		t.Errorf("no clone gave root a new password; progress:\n%s", strings.Join(output, "\n"))
	}

	// A service that gives root a password has a golden copy of its own.
	if g, ok, err := f.c.FindGolden(f.ctx, source, f.myTarget(vol1, "")); err != nil || ok {
		t.Errorf("a given-root service found golden copy %s (%v): want none of its own yet", g.Name, err)
	}
	// The golden copy's labels (and its ready marker's) are output too.
	for _, v := range []string{res1.From, res1.From + "-ready"} {
		output = append(output, f.docker("volume", "inspect", "-f", "{{json .Labels}}", v))
	}
	all := strings.Join(output, "\n")
	if m := regexp.MustCompile(`\b[0-9a-f]{48}\b`).FindString(all); m != "" {
		t.Errorf("Berth's output holds something shaped like a random root password (%s):\n%s", m, all)
	}

	// Each clone's root password is its own, the same for both accounts.
	seen := map[string]string{}
	for _, v := range []string{vol1, vol2, vol3} {
		h := f.rootHashes(v)
		if len(h) != 2 || h["localhost"] == "" || h["localhost"] != h["%"] || !strings.HasPrefix(h["%"], "*") {
			t.Errorf("%s: root accounts %v, want root@localhost and root@'%%' with one password", v, h)
		}
		if other, ok := seen[h["%"]]; ok {
			t.Errorf("%s and %s share root's password", v, other)
		}
		seen[h["%"]] = v
	}

	tries := append(candidates(all), myRootPW)
	t.Logf("%d words of Berth's output tried as root's password", len(tries))
	for i, v := range []string{vol1, vol2} {
		c := f.mariadbRandom(fmt.Sprint("c", i), v)
		sameSums(t, "clone "+v, f.myChecksums(c), want)
		if got := f.my(c, myUser, myPass, "SELECT CURRENT_USER()"); got != myUser+"@%" {
			t.Errorf("%s over TCP: %q", myUser, got)
		}
		if in := f.rootLogins(c, tries); len(in) > 0 {
			t.Errorf("root logged in to the clone on %s: %q", v, in)
		}
		if logs := f.docker("logs", c); !strings.Contains(logs, "skipping initialisation") || strings.Contains(logs, "GENERATED ROOT PASSWORD") {
			t.Errorf("the clone was initialised again by the entrypoint:\n%s", logs)
		}
	}
}
