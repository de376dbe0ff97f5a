package dbclone

import (
	"context"
	"fmt"
	"strings"
)

// A MariaDB service with MARIADB_RANDOM_ROOT_PASSWORD (or
// MYSQL_RANDOM_ROOT_PASSWORD) has a root password nobody is told: the
// image's entrypoint makes one when it initialises a data folder, for
// root@localhost and root@MARIADB_ROOT_HOST ("%" by default), and prints it
// once to the container's log. Each environment made by the image thus
// has a root password of its own.
//
// Berth keeps that meaning. A golden copy's root password is a strong
// random one made for that load (crypto/rand, 192 bits) and forgotten at
// once; and since every clone of a golden copy (and every clone of
// another environment, snapshot or restore) would otherwise share the
// root password of what it was copied from, each copy into a random-root
// target gets a new one of its own before its server starts (renewRoot):
// someone who learned one environment's root password (from its data,
// say, or by setting it) cannot log in to another with it. No such
// password is shown, logged, put on a label or stored: the service's user
// (MARIADB_USER) is how the service's clients connect, as with the image.

// rootPasswordBytes is the random root password's strength: 24 random
// bytes, written as 48 hex digits.
const rootPasswordBytes = 24

// withRandomRoot returns t with a new random root password when root's is
// random (t unchanged otherwise).
func withRandomRoot(t Target) Target {
	if t.RandomRoot {
		t.RootPassword = randomHex(rootPasswordBytes)
	}
	return t
}

// mariadbRootSQL gives every root account of a data folder the password
// pw: run as root on a server started without its grant tables, which it
// loads first.
func mariadbRootSQL(pw string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "SET @@SESSION.SQL_LOG_BIN=0;\nFLUSH PRIVILEGES;\nSET @pw = %s;\n", sqlString(pw))
	b.WriteString(`DELIMITER //
BEGIN NOT ATOMIC
	DECLARE done BOOL DEFAULT FALSE;
	DECLARE h VARCHAR(255);
	DECLARE c CURSOR FOR SELECT Host FROM mysql.global_priv WHERE User = 'root';
	DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = TRUE;
	OPEN c;
	roots: LOOP
		FETCH c INTO h;
		IF done THEN LEAVE roots; END IF;
		EXECUTE IMMEDIATE CONCAT('ALTER USER ''root''@', QUOTE(h), ' IDENTIFIED BY ', QUOTE(@pw));
	END LOOP;
	CLOSE c;
END//
DELIMITER ;
SET @pw = NULL;
SELECT CONCAT('berth-root-accounts ', COUNT(*)) FROM mysql.global_priv WHERE User = 'root';
`)
	return b.String()
}

// mariadbRootScript starts a private server (Unix socket only, without
// its grant tables) on the data folder /data/$REL, runs
// /berth/in/root.sql and stops the server cleanly.
const mariadbRootScript = "set -Eeuo pipefail\n" + holdFunction + mariadbServer + `S=/berth/work/mysqld.sock
D=/data${REL:+/$REL}
PID=
cleanup() { rc=$?; if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; exit $rc; }
trap cleanup EXIT
my() { mariadb --protocol=socket --socket="$S" -uroot "$@"; }
mkdir -p /berth/work
chown mysql:mysql /berth/work
if [ ! -d "$D/mysql" ]; then echo "berth-error no-data-folder"; exit 65; fi
start "$D" "$S" --skip-grant-tables --skip-slave-start
PID=$P
hold root
my -N -B --database=mysql </berth/in/root.sql
if ! stop "$PID" "$S"; then PID=; exit 1; fi
PID=
`

// renewRoot gives every root account in t's volume a new random password
// (t's server is stopped). It runs after each copy into a target whose
// root password is random.
func (c *Cloner) renewRoot(ctx context.Context, t Target, progress func(Progress)) error {
	send(progress, Progress{Step: "giving root a new random password"})
	pw := randomHex(rootPasswordBytes)
	upload, errc := tarStream(map[string]fileSource{"root.sql": {data: []byte(mariadbRootSQL(pw))}})
	res, err := c.eng.RunHelper(ctx, Helper{
		Image: t.Image, Network: NoNetwork, Cmd: []string{"bash", "-c", mariadbRootScript}, Env: []string{"REL=" + relData(t)},
		Mounts: []Mount{{Volume: t.Volume, Target: "/data"}},
		Upload: upload, UploadDir: "/",
		Labels: map[string]string{LabelEnv: t.Env},
	})
	if uerr := <-errc; uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("giving root of %s a new random password: %w", t.Volume, err)
	}
	out := scrub(res.Output, pw, t.Password)
	if res.ExitCode != 0 {
		return fmt.Errorf("giving root of %s a new random password failed (exit %d): the copy is in place, but root still has the password of what it was copied from\n%s",
			t.Volume, res.ExitCode, lastLines(out, 6))
	}
	return nil
}
