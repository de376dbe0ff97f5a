package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/berthdev/berth/internal/core"
	"github.com/berthdev/berth/internal/testenv"
)

// mariadbRandomCompose is mariadbCompose with a root password nobody is
// told (MARIADB_RANDOM_ROOT_PASSWORD).
var mariadbRandomCompose = strings.Replace(mariadbCompose, "MARIADB_ROOT_PASSWORD: root-pw", "MARIADB_RANDOM_ROOT_PASSWORD: \"1\"", 1)

// rootLogins tries each password for root in env's db container, over
// TCP (root@'%') and over the socket (root@localhost), and returns the
// tries that worked.
func rootLogins(t *testing.T, env string, passwords []string) []string {
	t.Helper()
	script := `while IFS= read -r p; do
	for how in "-h 127.0.0.1" "--protocol=socket"; do
		if MYSQL_PWD="$p" mariadb $how -uroot -N -e 'SELECT 1' >/dev/null 2>&1; then echo "in: $how $p"; fi
	done
done`
	cmd := exec.Command("docker", "exec", "-i", containerIDs(t, env)["db"], "bash", "-c", script)
	cmd.Stdin = strings.NewReader(strings.Join(passwords, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("trying root logins: %v\n%s", err, out)
	}
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), " ", "_"))
}

// rootHashes reads the root accounts' password hashes (host → hash) in
// volume with a private server without its grant tables (nothing else
// may run on it).
func rootHashes(t *testing.T, volume string) map[string]string {
	t.Helper()
	script := `set -e
mariadbd --user=mysql --datadir=/var/lib/mysql --skip-grant-tables --skip-networking --socket=/tmp/s --skip-log-bin --log-error=/tmp/err &
for i in $(seq 300); do mariadb -S /tmp/s -uroot -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
mariadb -S /tmp/s -uroot -N -B -e "SELECT Host, JSON_VALUE(Priv, '$.authentication_string') FROM mysql.global_priv WHERE User = 'root' ORDER BY Host"
kill %1; wait %1`
	out, err := exec.Command("docker", "run", "--rm", "--network", "none", "-v", volume+":/var/lib/mysql", "--entrypoint", "bash", "mariadb:10.11", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("reading root's hashes in %s: %v\n%s", volume, err, out)
	}
	hashes := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if host, hash, ok := strings.Cut(l, "\t"); ok {
			hashes[host] = hash
		}
	}
	return hashes
}

// TestMariaDBRandomRoot deploys a definition whose MariaDB service has
// MARIADB_RANDOM_ROOT_PASSWORD into two environments from one seed: the
// service's user sees the seed's rows in both; root takes neither an empty
// password nor any word of Berth's output (commands, golden copy labels,
// its store); the second environment reuses the golden copy, and the two
// environments' root passwords differ.
func TestMariaDBRandomRoot(t *testing.T) {
	testenv.Image(t, "mariadb:10.11")
	env, env2 := uniqueName("myrandom"), uniqueName("myrandom2")
	t.Cleanup(func() {
		for _, e := range []string{env, env2} {
			removeLabelled(e)
			removeVolumesLabelled("dev.berth.db-env=" + e)
		}
	})
	state := t.TempDir()
	t.Setenv("BERTH_STATE_DIR", state)

	seed := mariadbSeed + "-- " + env + "\n" // this test's own golden copy
	manifest := "name: probe\ndatabases:\n  - service: db\n    engine: mariadb\n    source:\n      seed: seed/app.sql\n"
	repo := newDefRepo(t)
	c1 := repo.commit("mariadb, random root", map[string]string{"berth.yaml": manifest, "compose.yaml": mariadbRandomCompose, "seed/app.sql": seed})
	var said []string // all Berth printed
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		code, out, stderr := berth(t, append([]string{"--repo", repo.dir}, args...)...)
		said = append(said, out, stderr)
		return code, out, stderr
	}

	if code, _, stderr := cli("deploy", "probe", c1, "--as", env); code != ExitOK || !strings.Contains(stderr, "a new clone from seed seed/app.sql") {
		t.Fatalf("deploy: exit %d", code)
	}
	if n := myq(t, env, "app", "app-pw", "SELECT COUNT(*) FROM items"); n != "20000" {
		t.Fatalf("the clone has %s items, want 20000", n)
	}
	seeded := mySums(t, env)
	golden := func(env string) *core.DBGolden {
		t.Helper()
		code, out, _ := cli("db", "ls", env, "-o", "json")
		var dbs []core.DBInfo
		if code != ExitOK || json.Unmarshal([]byte(out), &dbs) != nil || len(dbs) != 1 || dbs[0].Golden == nil {
			t.Fatalf("db ls %s: exit %d\n%s", env, code, out)
		}
		return dbs[0].Golden
	}
	g := golden(env)
	t.Cleanup(func() { exec.Command("docker", "volume", "rm", "-f", g.Volume, g.Volume+"-ready").Run() })

	if code, _, stderr := cli("deploy", "probe", c1, "--as", env2); code != ExitOK || !strings.Contains(stderr, "a new clone from seed seed/app.sql") {
		t.Fatalf("deploy of a second environment: exit %d", code)
	}
	if got := mySums(t, env2); got != seeded {
		t.Fatalf("the second environment: %s\nwant %s", got, seeded)
	}
	if g2 := golden(env2); g2.Volume != g.Volume || !g2.LoadedAt.Equal(g.LoadedAt) {
		t.Fatalf("the second environment's golden copy %+v, want %+v reused", g2, g)
	}
	if logs, _ := exec.Command("docker", "logs", containerIDs(t, env2)["db"]).CombinedOutput(); strings.Contains(string(logs), "GENERATED ROOT PASSWORD") ||
		!strings.Contains(string(logs), "skipping initialisation") {
		t.Fatalf("the clone was initialised again by the entrypoint:\n%s", logs)
	}

	// Everything Berth said or kept: its output, the golden copy's labels,
	// the printable runs of its store's files.
	for _, v := range []string{g.Volume, g.Volume + "-ready"} {
		said = append(said, inspectVolume(t, v, "{{json .Labels}}"))
	}
	printable := regexp.MustCompile(`[[:graph:]]{6,}`)
	filepath.WalkDir(state, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			data, _ := os.ReadFile(p)
			said = append(said, strings.Join(printable.FindAllString(string(data), -1), "\n"))
		}
		return nil
	})
	all := strings.Join(said, "\n")
	if m := regexp.MustCompile(`\b[0-9a-f]{48}\b`).FindString(all); m != "" {
		t.Errorf("Berth's output or store holds something shaped like a random root password: %s", m)
	}
	seen := map[string]bool{"": true}
	tries := []string{"", "root-pw"}
	for _, w := range strings.FieldsFunc(all, func(r rune) bool { return strings.ContainsRune(" \t\n\r'\"`()[]{},;=:", r) }) {
		if !seen[w] {
			seen[w] = true
			tries = append(tries, w)
		}
	}
	t.Logf("%d words tried as root's password", len(tries))
	for _, e := range []string{env, env2} {
		if in := rootLogins(t, e, tries); len(in) > 0 {
			t.Errorf("root logged in to %s: %q", e, in)
		}
		if u := myq(t, e, "app", "app-pw", "SELECT CURRENT_USER()"); u != "app@%" {
			t.Errorf("app logs in to %s as %q", e, u)
		}
	}

	// Each environment's root has a password of its own (compared by hash
	// inside the server, each stopped).
	var hashes []map[string]string
	for _, e := range []string{env, env2} {
		if out, err := exec.Command("docker", "stop", containerIDs(t, e)["db"]).CombinedOutput(); err != nil {
			t.Fatalf("stopping %s's db: %v\n%s", e, err, out)
		}
		h := rootHashes(t, e+"_data")
		if len(h) != 2 || !strings.HasPrefix(h["%"], "*") || h["localhost"] != h["%"] {
			t.Fatalf("%s: root accounts %v, want root@localhost and root@'%%' with one password", e, h)
		}
		hashes = append(hashes, h)
	}
	if hashes[0]["%"] == hashes[1]["%"] {
		t.Fatalf("the two environments share root's password (hash %s)", hashes[0]["%"])
	}
}
