package dbclone

// The shell run in helper containers. Each script starts with prelude and
// reads its parameters from the environment (never secrets: the password and
// a source's connection come as files under /berth/in, uploaded into the
// container, and no secret is ever in a process's arguments).

// prelude: strict bash, running commands as postgres, starting and
// stopping a private server that listens on a Unix socket only, and
// feeding psql SQL from outside (psqlFunctions).
const prelude = `set -Eeuo pipefail
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
` + holdFunction + psqlFunctions + `
mkdir -p /berth/work && chown postgres:postgres /berth/work
if [ -e /berth/in/password ]; then chown postgres /berth/in/password; chmod 600 /berth/in/password; fi
# a url source's service and password files, certificates and key
for f in /berth/in/` + pgServiceName + ` /berth/in/` + pgPassName + ` /berth/in/` + pgFilePrefix + `*; do
	if [ -e "$f" ]; then chown -R postgres:postgres "$f"; chmod -R u=rwX,go= "$f"; fi
done
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
	if [ "$PG_DB" != postgres ]; then as_pg createdb -h "$1" -U "$PG_USER" -- "$PG_DB"; fi
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
trap 'rc=$?; hold end; exit $rc' EXIT
case "$SRC_KIND" in
url)
	echo "berth-step reading the source database"
	# The connection comes from a service file (the password from the
	# password file it names): nothing secret in pg_dump's arguments or
	# environment. Once read, the source's credentials go: nothing the
	# dump holds runs while they are here.
	as_pg env PGSERVICEFILE=/berth/in/` + pgServiceName + ` pg_dump -Fd -j "$J" --no-owner --no-privileges -f /berth/work/dump -d service=berth
	rm -rf /berth/in/` + pgServiceName + ` /berth/in/` + pgPassName + ` /berth/in/` + pgFilePrefix + `*
	f=/berth/work/dump
	FORMAT=directory
	;;
seed)
` + seedFile + `	chown -R postgres /berth/in/seed /berth/work
	if [ "$FORMAT" = plain ]; then
		if ! restrict_ok; then fail no-restrict "$(psql --version)"; fi
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
plain) psql_in "$f" -v ON_ERROR_STOP=1 -h /berth/work/s -U "$PG_USER" -d "$(dbname_conn "$PG_DB")" >/dev/null ;;
*) as_pg pg_restore -j "$J" --exit-on-error --no-owner --no-privileges -h /berth/work/s -U "$PG_USER" -d "$(dbname_conn "$PG_DB")" "$f" ;;
esac
echo "berth-step stopping the server cleanly"
stop_db "$PGD"
echo "berth-major $(pg_major)"
echo "berth-size $(du -sb "$MOUNT" | cut -f1)"
`

// swapFunctions put a complete copy staged in $N (a folder inside the
// volume $D) in place of what $D holds, so that a process killed at any
// point leaves a state the next helper settles without losing both:
//
//   - staging: $N fills; $D is untouched;
//   - swap: first $N's entries are listed into the journal $J (written
//     inside $N, then renamed into $D: its presence says "$N is complete,
//     the swap is under way"), then $D's entries move into $O, $N's into
//     $D, and the journal goes; only then are $N and $O removed.
//
// settle rolls a journalled swap forward (the old entries into $O, the
// new ones that remain into $D) and otherwise removes $N and $O: without
// a journal the swap either never began ($D holds the old data) or
// finished ($D holds the new).
const swapFunctions = `J=$D/` + swapJournal + `
# failpoint NAME: the fault-injection tests' crash at NAME (BERTH_FAILPOINT,
# given to helpers only by a test build): no trap runs, as in a real kill.
# (kill -9 $$ would not do: the script is the container's init, which
# ignores signals sent from inside.)
failpoint() { if [ "${BERTH_FAILPOINT:-}" = "$1" ]; then trap - EXIT ERR; exit 137; fi; }
special() { case "$1" in ` + stageDir + `|` + oldDir + `|` + swapJournal + `) return 0 ;; esac; return 1; }
# entries DIR: what DIR holds, the staging, old and journal aside, in E
# (globs rather than find: each process started costs here).
entries() { local f; E=(); for f in "$1"/* "$1"/.[!.]* "$1"/..?*; do [ -e "$f" ] || [ -L "$f" ] || continue; special "${f##*/}" || E+=("$f"); done; }
settle() {
	if [ -e "$J" ]; then
		echo "berth-step finishing a copy a killed helper left half swapped"
		local -A keep=()
		local e
		while IFS= read -r -d '' e; do keep["$e"]=1; done <"$J"
		mkdir -p "$O"
		entries "$D"
		for e in "${E[@]}"; do
			local n=${e##*/}
			if [ -z "${keep[$n]+x}" ] || [ -e "$N/$n" ] || [ -L "$N/$n" ]; then mv -T -- "$e" "$O/$n"; fi
		done
		for n in "${!keep[@]}"; do
			if [ -e "$N/$n" ] || [ -L "$N/$n" ]; then mv -T -- "$N/$n" "$D/$n"; fi
		done
		sync -f "$D"
		rm -f "$J"
	elif [ -d "$N" ]; then
		echo "berth-step dropping a copy a killed helper left unfinished"
	fi
	rm -rf "$N" "$O"
}
swap() {
	local e
	entries "$N"
	: >"$N/.journal"
	for e in "${E[@]}"; do printf '%s\0' "${e##*/}" >>"$N/.journal"; done
	sync -f "$N"
	mv -T "$N/.journal" "$J"
	sync -f "$D"
	failpoint swap-journalled
	mkdir -p "$O"
	entries "$D"; if [ ${#E[@]} -gt 0 ]; then mv -t "$O" -- "${E[@]}"; fi
	failpoint swap-half
	entries "$N"; if [ ${#E[@]} -gt 0 ]; then mv -t "$D" -- "${E[@]}"; fi
	sync -f "$D"
	rm -f "$J"
	rm -rf "$N" "$O"
}
`

// settleScript settles a volume mounted at /to that a killed helper left
// mid-copy (swapFunctions), before anything starts on it.
const settleScript = `set -Eeuo pipefail
shopt -s nullglob
D=/to N=/to/` + stageDir + ` O=/to/` + oldDir + `
` + swapFunctions + `settle
entries "$D"; if [ ${#E[@]} -eq 0 ]; then echo "berth-empty"; fi
`

// copyScript copies /from into /to through a staging folder inside /to,
// then swaps it in: until the swap, what /to held is untouched, and a
// failed copy leaves no trace. $STRATEGY is reflink or copy.
const copyScript = `set -Eeuo pipefail
shopt -s nullglob
` + holdFunction + `S=/from D=/to N=/to/` + stageDir + ` O=/to/` + oldDir + `
` + swapFunctions + `mon=
cleanup() { rc=$?; [ -n "$mon" ] && kill "$mon" 2>/dev/null; if [ $rc -ne 0 ] && [ ! -e "$J" ]; then rm -rf "$N"; fi; exit $rc; }
trap cleanup EXIT
# A source with nothing in it is not a database: the volume went between
# the clone's look-up and this helper (which the engine then made anew).
entries "$S"; if [ ${#E[@]} -eq 0 ]; then echo "berth-error empty-source"; exit 66; fi
SRC=("${E[@]}")
hold copy
settle
mkdir "$N"
# What a source's own interrupted copy left (staging, old, journal) is
# not copied.
skip=( \( -path ./` + stageDir + ` -o -path ./` + oldDir + ` -o -path ./` + swapJournal + ` \) -prune -o )
case "$STRATEGY" in
reflink) cp -a --reflink=always -t "$N" -- "${SRC[@]}" ;;
copy)
	( while sleep 1; do echo "` + progressPrefix + `$(du -sb "$N" 2>/dev/null | cut -f1)"; done ) &
	mon=$!
	cd "$S"
	find . -mindepth 1 "${skip[@]}" -type d -print0 | tar --null --no-recursion -T - -cf - | tar -C "$N" -xpf -
	find . -mindepth 1 "${skip[@]}" ! -type d -print0 | xargs -0 -r -P "$(nproc)" -n 64 cp -a --reflink=never --parents -t "$N"
	cd /
	kill "$mon" 2>/dev/null || true
	mon=
	;;
esac
failpoint copy-staged
swap
chown --reference="$S" "$D"
chmod --reference="$S" "$D"
echo "berth-size $(du -sb "$D" | cut -f1)"
`

// logicalScript copies the databases of the data folder under /from into
// a new cluster staged under /to with pg_dump -Fd | pg_restore -j, then
// swaps it in like copyScript. $REL is the data folder below the mount.
const logicalScript = prelude + `
shopt -s nullglob
if ! restrict_ok; then echo "berth-error no-restrict $(psql --version)"; exit 65; fi
D=/to N=/to/` + stageDir + ` O=/to/` + oldDir + `
` + swapFunctions + `JOBS=$(nproc)
cleanup() { rc=$?; as_pg pg_ctl -D "/from/$REL" -m fast -w stop >/dev/null 2>&1 || true; as_pg pg_ctl -D "$N/$REL" -m fast -w stop >/dev/null 2>&1 || true; if [ $rc -ne 0 ] && [ ! -e "$J" ]; then rm -rf "$N"; fi; exit $rc; }
trap cleanup EXIT
settle
mkdir "$N"
start_db "/from/$REL" /berth/work/a
init_db "$N/$REL" "$N"
start_db "$N/$REL" /berth/work/b
as_pg pg_dumpall -h /berth/work/a -U "$PG_USER" --globals-only >/berth/work/globals.sql
psql_in /berth/work/globals.sql -h /berth/work/b -U "$PG_USER" -d postgres >/dev/null 2>&1 || true
# Database names come from the data: NUL-separated, never split by the
# shell, handed to the tools through PGDATABASE or a quoted dbname='...'
# (a bare name holding "=" would be read as connection options), printed
# quoted.
as_pg psql -X -At -0 -h /berth/work/a -U "$PG_USER" -d postgres -c "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate" >/berth/work/dbs
while IFS= read -r -d '' db || [ -n "$db" ]; do
	printf 'berth-step copying database %q\n' "$db"
	if [ "$db" != postgres ]; then as_pg createdb -h /berth/work/b -U "$PG_USER" -- "$db"; fi
	rm -rf /berth/work/dump
	as_pg env PGDATABASE="$db" pg_dump -Fd -j "$JOBS" -h /berth/work/a -U "$PG_USER" -f /berth/work/dump
	q=${db//\\/\\\\}; q=${q//\'/\\\'}
	as_pg pg_restore -j "$JOBS" --exit-on-error -h /berth/work/b -U "$PG_USER" -d "dbname='$q'" /berth/work/dump
	db=
done </berth/work/dbs
stop_db "/from/$REL"
stop_db "$N/$REL"
swap
chown postgres:postgres /to
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
# sandbox_ok: the image's mariadb client has --sandbox (10.5.25, 10.6.18,
# 10.11.8, 11.0.6, 11.1.5, 11.2.4, 11.4.2 and later).
sandbox_ok() { [[ "$(mariadb --help 2>/dev/null)" == *--sandbox* ]]; }
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
const mariadbLoadScript = "set -Eeuo pipefail\n" + holdFunction + mariadbServer + `fail() { echo "berth-error $*"; exit 65; }
S=/berth/work/mysqld.sock
D=/data${REL:+/$REL}
PID=
cleanup() { rc=$?; hold end; if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi; exit $rc; }
trap cleanup EXIT
if ! sandbox_ok; then fail no-sandbox "$(mariadb --version)"; fi
my_version() { mariadbd --version | grep -o '[0-9]\+\.[0-9]\+\.[0-9]\+' | head -n1 | cut -d. -f1,2; }
# newer A B: version A is newer than version B.
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n' "$1" "$2" | sort -V | tail -n1)" = "$1" ]; }
# my: the client on the private server. What it reads may come from
# outside (a seed, a dump): --binary-mode reads no client command but
# DELIMITER and \C, --sandbox refuses any that touches a file or runs a
# program.
my() { mariadb --protocol=socket --socket="$S" -uroot --binary-mode --sandbox --max-allowed-packet=1G "$@"; }
# src: the mariadb client on the live server (the option file comes first).
src() { mariadb --defaults-extra-file=/berth/in/source.cnf "$@"; }
mkdir -p /berth/work
chown mysql:mysql /berth/work
case "$SRC_KIND" in
url)
	echo "berth-step reading the source database"
	sdb=$(cat /berth/in/source-db)
	v=$(src -N -B -e 'SELECT VERSION()' ${sdb:+--database="$sdb"})
	sv=$(printf '%s\n' "$v" | grep -o '^[0-9]\+\.[0-9]\+' | head -n1 || true)
	case "$v" in *MariaDB*)
		if [ -n "$sv" ] && newer "$sv" "$(my_version)"; then
			fail newer-major "$sv $(my_version)"
		fi
		;;
	esac
	# Database names come from the server: each is read in hex, one a
	# line, and decoded here, never split by the shell (a name may hold a
	# newline), and handed to mariadb-dump after --.
	DBS=()
	if [ -z "$sdb" ]; then
		src -N -B -e "SELECT HEX(schema_name) FROM information_schema.schemata WHERE schema_name NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER BY 1" >/berth/work/dbs
		while IFS= read -r h; do
			[ -n "$h" ] || continue
			e=
			for ((i = 0; i < ${#h}; i += 2)); do e+="\\x${h:i:2}"; done
			printf -v n '%b' "$e"
			DBS+=("$n")
		done </berth/work/dbs
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
	# the source's credentials go once its dump is read
	rm -f /berth/in/source.cnf
	;;
seed)
	echo "berth-step restoring"
	my </berth/in/pre.sql
	hold restore
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
const mariadbLogicalScript = "set -Eeuo pipefail\nshopt -s nullglob\n" + holdFunction + mariadbServer + `D=/to N=/to/` + stageDir + ` O=/to/` + oldDir + `
` + swapFunctions + `SD=/from${REL:+/$REL} ND=$N${REL:+/$REL}
A=/berth/work/a.sock B=/berth/work/b.sock
PA= PB=
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cleanup() { rc=$?; [ -z "$PA" ] || stop_pid "$PA"; [ -z "$PB" ] || stop_pid "$PB"; if [ $rc -ne 0 ] && [ ! -e "$J" ]; then rm -rf "$N"; fi; exit $rc; }
trap cleanup EXIT
if ! sandbox_ok; then echo "berth-error no-sandbox $(mariadb --version)"; exit 65; fi
mkdir -p /berth/work
chown mysql:mysql /berth/work
settle
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
hold copy
mariadb-dump --protocol=socket --socket="$A" -uroot --all-databases --routines --events --triggers --hex-blob --flush-privileges |
	mariadb --protocol=socket --socket="$B" -uroot --binary-mode --sandbox
if [ -e "$SD/.my-healthcheck.cnf" ]; then cp -a "$SD/.my-healthcheck.cnf" "$ND/"; fi
echo "berth-step stopping the servers cleanly"
stop "$PA" "$A"
PA=
stop "$PB" "$B"
PB=
swap
chown --reference=/from /to
chmod --reference=/from /to
echo "berth-size $(du -sb /to | cut -f1)"
`
