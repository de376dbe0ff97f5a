package dbclone

// The shell run in helper containers. Each script starts with prelude and
// reads its parameters from the environment (never secrets: the password and
// a source URL come as files under /berth/in, uploaded into the container).

// prelude: strict bash, running commands as postgres, and starting and
// stopping a private server that listens on a Unix socket only.
const prelude = `set -Eeuo pipefail
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p /berth/work && chown postgres:postgres /berth/work
if [ -e /berth/in/password ]; then chown postgres /berth/in/password; chmod 600 /berth/in/password; fi
if [ -e /berth/in/url ]; then chown postgres /berth/in/url; chmod 600 /berth/in/url; fi
pg_major() { postgres --version | grep -o '[0-9]\+' | head -n1; }
init_db() { # DATADIR MOUNTDIR
	mkdir -p "$1"
	chown postgres:postgres "$2" "$1"
	chmod 700 "$1"
	local pw=()
	if [ -s /berth/in/password ]; then pw=(--pwfile=/berth/in/password); fi
	as_pg initdb -D "$1" --username="$PG_USER" "${pw[@]}" --auth-local=trust --auth-host="$PG_AUTH" >/berth/work/initdb.log 2>&1 || { cat /berth/work/initdb.log >&2; return 1; }
	printf '\nhost all all all %s\n' "$PG_AUTH" >>"$1/pg_hba.conf"
	printf "\nlisten_addresses = '*'\n" >>"$1/postgresql.conf"
}
start_db() { # DATADIR SOCKETDIR
	mkdir -p "$2" && chown postgres "$2"
	if ! as_pg pg_ctl -D "$1" -w -t 600 -l "$2.log" -o "-c listen_addresses='' -c unix_socket_directories=$2" start >/dev/null; then
		cat "$2.log" >&2
		return 1
	fi
}
stop_db() { as_pg pg_ctl -D "$1" -m fast -w -t 600 stop >/dev/null; }
create_db() { # SOCKETDIR
	if [ "$PG_DB" != postgres ]; then as_pg createdb -h "$1" -U "$PG_USER" "$PG_DB"; fi
}
`

// seedFile is a load script's first step for a seed: f names the uploaded
// seed, gunzipped into /berth/work when it came gzipped (a zstd seed is
// unpacked on its way up, see tarStream). At most $SEED_MAX bytes are
// unpacked: head takes one more and stops gunzip there (a compression
// bomb writes no further), and a seed that reached it fails with
// "berth-error too-big $SEED_MAX". gunzip's own status counts only when
// head did not stop it.
const seedFile = `	f=/berth/in/seed
	if [ "$COMPRESSION" = gzip ]; then
		echo "berth-step unpacking the seed"
		set +o pipefail
		gunzip -c "$f" | head -c "$((SEED_MAX + 1))" >/berth/work/seed
		st=("${PIPESTATUS[@]}")
		set -o pipefail
		if [ "$(stat -c %s /berth/work/seed)" -gt "$SEED_MAX" ]; then
			rm -f /berth/work/seed
			echo "berth-error too-big $SEED_MAX"
			exit 65
		fi
		if [ "${st[0]}" -ne 0 ]; then exit "${st[0]}"; fi
		f=/berth/work/seed
	fi
`

// loadScript loads a seed or a live database into a fresh golden volume
// mounted at $MOUNT, with data folder $PGD. It prints "berth-error KIND
// ..." lines for problems it recognises and "berth-size N" at the end.
const loadScript = prelude + `
J=$(nproc)
fail() { echo "berth-error $*"; exit 65; }
case "$SRC_KIND" in
url)
	echo "berth-step reading the source database"
	export PGCONNECT_TIMEOUT=15
	as_pg pg_dump -Fd -j "$J" --no-owner --no-privileges -f /berth/work/dump -d "$(cat /berth/in/url)"
	f=/berth/work/dump
	FORMAT=directory
	;;
seed)
` + seedFile + `	chown -R postgres /berth/in/seed /berth/work
	if [ "$FORMAT" = plain ]; then
		if head -c 200 "$f" | grep -q 'PostgreSQL database dump' && ! tail -c 400 "$f" | grep -q 'PostgreSQL database dump complete'; then
			fail truncated "the dump does not end with pg_dump's closing line"
		fi
		m=$(head -n 30 "$f" | sed -n 's/^-- Dumped from database version \([0-9]*\).*/\1/p' | head -n1)
		if [ -n "$m" ] && [ "$m" -gt "$(pg_major)" ]; then
			fail newer-major "$m $(pg_major)"
		fi
	fi
	;;
esac
echo "berth-step initialising the database"
init_db "$PGD" "$MOUNT"
start_db "$PGD" /berth/work/s
create_db /berth/work/s
echo "berth-step restoring"
case "$FORMAT" in
plain) as_pg psql -X -q -v ON_ERROR_STOP=1 -h /berth/work/s -U "$PG_USER" -d "$PG_DB" -f "$f" >/dev/null ;;
*) as_pg pg_restore -j "$J" --exit-on-error --no-owner --no-privileges -h /berth/work/s -U "$PG_USER" -d "$PG_DB" "$f" ;;
esac
echo "berth-step stopping the server cleanly"
stop_db "$PGD"
echo "berth-major $(pg_major)"
echo "berth-size $(du -sb "$MOUNT" | cut -f1)"
`

// copyScript copies /from into /to through a staging folder inside /to,
// then swaps it in: until the swap, what /to held is untouched, and a
// failed copy leaves no trace. $STRATEGY is reflink or copy.
const copyScript = `set -Eeuo pipefail
shopt -s dotglob nullglob
S=/from D=/to N=/to/` + stageDir + ` O=/to/` + oldDir + `
mon=
cleanup() { rc=$?; [ -n "$mon" ] && kill "$mon" 2>/dev/null; if [ $rc -ne 0 ]; then rm -rf "$N"; fi; exit $rc; }
trap cleanup EXIT
# entries DIR: what DIR holds, the staging and old folders aside, in E
# (globs rather than find: each process started costs here).
entries() { local f; E=(); for f in "$1"/*; do case "${f##*/}" in ` + stageDir + `|` + oldDir + `) ;; *) E+=("$f") ;; esac; done; }
# A source with nothing in it is not a database: the volume went between
# the clone's look-up and this helper (which the engine then made anew).
entries "$S"; if [ ${#E[@]} -eq 0 ]; then echo "berth-error empty-source"; exit 66; fi
rm -rf "$N" "$O"
mkdir "$N"
case "$STRATEGY" in
reflink) cp -a --reflink=always "$S"/. "$N"/ ;;
copy)
	( while sleep 1; do echo "` + progressPrefix + `$(du -sb "$N" 2>/dev/null | cut -f1)"; done ) &
	mon=$!
	cd "$S"
	find . -mindepth 1 -type d ! -path './` + stageDir + `*' -print0 | tar --null --no-recursion -T - -cf - | tar -C "$N" -xpf -
	find . -mindepth 1 ! -type d ! -path './` + stageDir + `/*' -print0 | xargs -0 -r -P "$(nproc)" -n 64 cp -a --reflink=never --parents -t "$N"
	cd /
	kill "$mon" 2>/dev/null || true
	mon=
	;;
esac
mkdir "$O"
entries "$D"; if [ ${#E[@]} -gt 0 ]; then mv -t "$O" -- "${E[@]}"; fi
E=("$N"/*); if [ ${#E[@]} -gt 0 ]; then mv -t "$D" -- "${E[@]}"; fi
rmdir "$N"
chown --reference="$S" "$D"
chmod --reference="$S" "$D"
rm -rf "$O"
echo "berth-size $(du -sb "$D" | cut -f1)"
`

// logicalScript copies the databases of the data folder under /from into
// a new cluster staged under /to with pg_dump -Fd | pg_restore -j, then
// swaps it in like copyScript. $REL is the data folder below the mount.
const logicalScript = prelude + `
J=$(nproc)
N=/to/` + stageDir + ` O=/to/` + oldDir + `
cleanup() { rc=$?; as_pg pg_ctl -D "/from/$REL" -m fast -w stop >/dev/null 2>&1 || true; as_pg pg_ctl -D "$N/$REL" -m fast -w stop >/dev/null 2>&1 || true; if [ $rc -ne 0 ]; then rm -rf "$N"; fi; exit $rc; }
trap cleanup EXIT
rm -rf "$N" "$O"
mkdir "$N"
start_db "/from/$REL" /berth/work/a
init_db "$N/$REL" "$N"
start_db "$N/$REL" /berth/work/b
as_pg pg_dumpall -h /berth/work/a -U "$PG_USER" --globals-only >/berth/work/globals.sql
as_pg psql -X -q -h /berth/work/b -U "$PG_USER" -d postgres -f /berth/work/globals.sql >/dev/null 2>&1 || true
for db in $(as_pg psql -X -At -h /berth/work/a -U "$PG_USER" -d postgres -c "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate"); do
	echo "berth-step copying database $db"
	if [ "$db" != postgres ]; then as_pg createdb -h /berth/work/b -U "$PG_USER" "$db"; fi
	rm -rf /berth/work/dump
	as_pg pg_dump -Fd -j "$J" -h /berth/work/a -U "$PG_USER" -f /berth/work/dump "$db"
	as_pg pg_restore -j "$J" --exit-on-error -h /berth/work/b -U "$PG_USER" -d "$db" /berth/work/dump
done
stop_db "/from/$REL"
stop_db "$N/$REL"
mkdir "$O"
find /to -mindepth 1 -maxdepth 1 ! -name ` + stageDir + ` ! -name ` + oldDir + ` -exec mv -t "$O" {} +
find "$N" -mindepth 1 -maxdepth 1 -exec mv -t /to {} +
rmdir "$N"
chown postgres:postgres /to
rm -rf "$O"
echo "berth-size $(du -sb /to | cut -f1)"
`

// probeScript answers whether the volume store can reflink.
const probeScript = `set -e
head -c 1048576 /dev/zero >/p/a
if cp --reflink=always /p/a /p/b 2>/dev/null; then echo berth-reflink yes; else echo berth-reflink no; fi
rm -f /p/a /p/b
`

// sizeScript prints the size of /v in bytes.
const sizeScript = `du -sb /v | cut -f1`

// mariadbServer is the shell functions the MariaDB scripts run their
// private servers with (Unix socket only, no binary log):
// "start DATADIR SOCKET [ARGS...]" starts one and waits until root answers
// on SOCKET (its process id in P; its log, SOCKET.err, is printed when it
// fails); "stop PID SOCKET" shuts it down cleanly.
const mariadbServer = `start() {
	local d=$1 s=$2 i
	shift 2
	mariadbd --user=mysql --datadir="$d" --skip-networking --socket="$s" --pid-file="$s.pid" \
		--loose-wsrep_on=OFF --skip-log-bin --log-error="$s.err" "$@" &
	P=$!
	for i in $(seq 600); do
		if mariadb --protocol=socket --socket="$s" -uroot -e 'SELECT 1' >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$P" 2>/dev/null; then cat "$s.err" >&2; return 1; fi
		sleep 0.1
	done
	cat "$s.err" >&2
	return 1
}
stop() { kill "$1"; if ! wait "$1"; then cat "$2.err" >&2; return 1; fi; }
`

// mariadbLoadScript loads a seed or a live server into a fresh golden
// volume mounted at /data for MariaDB: mariadb-install-db makes the data
// folder /data/$REL, a private server (Unix socket only) runs the
// service's database creation (/berth/in/pre.sql), the seed or a dump of
// the live server, then the service's accounts (/berth/in/post.sql), and
// stops cleanly. It prints "berth-error KIND ..." lines for problems it
// recognises and "berth-size N" at the end.
//
// A live server (SRC_KIND=url) is reached with the client option file
// /berth/in/source.cnf (host, port, user, password, TLS) and read with
// mariadb-dump --single-transaction: one consistent snapshot, without
// locks on InnoDB tables, and nothing written to it. It is checked before
// anything else (reachable, credentials, database, version), and its
// database /berth/in/source-db goes into the service's database (all its
// databases but the system ones when that file is empty, each under its
// own name).
const mariadbLoadScript = "set -Eeuo pipefail\n" + mariadbServer + `fail() { echo "berth-error $*"; exit 65; }
S=/berth/work/mysqld.sock
D=/data${REL:+/$REL}
PID=
cleanup() { rc=$?; if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; exit $rc; }
trap cleanup EXIT
my_version() { mariadbd --version | grep -o '[0-9]\+\.[0-9]\+\.[0-9]\+' | head -n1 | cut -d. -f1,2; }
# newer A B: version A is newer than version B.
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n' "$1" "$2" | sort -V | tail -n1)" = "$1" ]; }
my() { mariadb --protocol=socket --socket="$S" -uroot --binary-mode --max-allowed-packet=1G "$@"; }
# src: the mariadb client on the live server (the option file comes first).
src() { mariadb --defaults-extra-file=/berth/in/source.cnf "$@"; }
mkdir -p /berth/work
chown mysql:mysql /berth/work
case "$SRC_KIND" in
url)
	echo "berth-step reading the source database"
	sdb=$(cat /berth/in/source-db)
	v=$(src -N -B -e 'SELECT VERSION()' ${sdb:+"$sdb"})
	sv=$(printf '%s\n' "$v" | grep -o '^[0-9]\+\.[0-9]\+' | head -n1 || true)
	case "$v" in *MariaDB*)
		if [ -n "$sv" ] && newer "$sv" "$(my_version)"; then
			fail newer-major "$sv $(my_version)"
		fi
		;;
	esac
	DBS=()
	if [ -z "$sdb" ]; then
		l=$(src -N -B -r -e "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1")
		if [ -n "$l" ]; then mapfile -t DBS <<<"$l"; fi
	fi
	;;
seed)
` + seedFile + `	if head -c 300 "$f" | grep -q -e '^-- MariaDB dump' -e '^-- MySQL dump' && ! tail -c 300 "$f" | grep -q '^-- Dump completed'; then
		fail truncated
	fi
	v=$(head -n 20 "$f" | sed -n 's/^-- Server version[[:space:]]*\([0-9]*\.[0-9]*\).*MariaDB.*/\1/p' | head -n1)
	if [ -n "$v" ] && newer "$v" "$(my_version)"; then
		fail newer-major "$v $(my_version)"
	fi
	;;
esac
echo "berth-step initialising the database"
mkdir -p "$D"
chown mysql:mysql /data "$D"
chmod 755 "$D"
if ! mariadb-install-db --user=mysql --datadir="$D" --skip-test-db --auth-root-authentication-method=normal \
	--skip-name-resolve >/berth/work/install.log 2>&1; then
	cat /berth/work/install.log >&2
	exit 1
fi
start "$D" "$S" --max-allowed-packet=1G
PID=$P
case "$SRC_KIND" in
url)
	echo "berth-step copying the source database"
	my </berth/in/pre.sql
	my </berth/in/source.sql
	DUMP=(mariadb-dump --defaults-extra-file=/berth/in/source.cnf --single-transaction --routines --events --triggers
		--hex-blob --no-tablespaces --max-allowed-packet=1G)
	if [ -n "$sdb" ]; then
		"${DUMP[@]}" -- "$sdb" | my --database="${MY_DB:-$sdb}" >/dev/null
	elif [ ${#DBS[@]} -gt 0 ]; then
		"${DUMP[@]}" --databases -- "${DBS[@]}" | my >/dev/null
	fi
	;;
seed)
	echo "berth-step restoring"
	my </berth/in/pre.sql
	my ${MY_DB:+--database="$MY_DB"} <"$f" >/dev/null
	;;
esac
my --database=mysql </berth/in/post.sql
install -o mysql -g mysql -m 600 /berth/in/healthcheck.cnf "$D/.my-healthcheck.cnf"
echo "berth-step stopping the server cleanly"
if ! stop "$PID" "$S"; then PID=; exit 1; fi
PID=
echo "berth-major $(my_version)"
echo "berth-size $(du -sb /data | cut -f1)"
`

// mariadbLogicalScript copies the MariaDB data folder under /from into a
// new one staged under /to with mariadb-dump --all-databases | mariadb
// (the accounts go with the mysql database), then swaps it in like
// copyScript. The source's server runs without its grant tables and
// without networking, so no password is needed; $REL is the data folder
// below the mount.
const mariadbLogicalScript = "set -Eeuo pipefail\n" + mariadbServer + `N=/to/` + stageDir + ` O=/to/` + oldDir + `
SD=/from${REL:+/$REL} ND=$N${REL:+/$REL}
A=/berth/work/a.sock B=/berth/work/b.sock
PA= PB=
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cleanup() { rc=$?; [ -z "$PA" ] || stop_pid "$PA"; [ -z "$PB" ] || stop_pid "$PB"; if [ $rc -ne 0 ]; then rm -rf "$N"; fi; exit $rc; }
trap cleanup EXIT
mkdir -p /berth/work
chown mysql:mysql /berth/work
rm -rf "$N" "$O"
mkdir -p "$ND"
chown mysql:mysql "$N" "$ND"
echo "berth-step starting the source server"
start "$SD" "$A" --skip-grant-tables
PA=$P
echo "berth-step initialising the new database"
mariadb-install-db --user=mysql --datadir="$ND" --skip-test-db --auth-root-authentication-method=normal \
	--skip-name-resolve >/berth/work/install.log 2>&1 || { cat /berth/work/install.log >&2; exit 1; }
start "$ND" "$B"
PB=$P
echo "berth-step copying every database"
mariadb-dump --protocol=socket --socket="$A" -uroot --all-databases --routines --events --triggers --hex-blob --flush-privileges |
	mariadb --protocol=socket --socket="$B" -uroot --binary-mode
if [ -e "$SD/.my-healthcheck.cnf" ]; then cp -a "$SD/.my-healthcheck.cnf" "$ND/"; fi
echo "berth-step stopping the servers cleanly"
stop "$PA" "$A"
PA=
stop "$PB" "$B"
PB=
mkdir "$O"
find /to -mindepth 1 -maxdepth 1 ! -name ` + stageDir + ` ! -name ` + oldDir + ` -exec mv -t "$O" {} +
find "$N" -mindepth 1 -maxdepth 1 -exec mv -t /to {} +
rmdir "$N"
chown --reference=/from /to
chmod --reference=/from /to
rm -rf "$O"
echo "berth-size $(du -sb /to | cut -f1)"
`
