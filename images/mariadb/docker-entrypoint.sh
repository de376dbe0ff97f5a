#!/usr/bin/env bash
# docker-entrypoint.sh for the local mariadb:10.11 image: the start-up contract of
# the official image, written for Debian's packages.
#
# On the first start (no mysql/ folder in the data folder) it runs
# mariadb-install-db, starts a server that listens on the Unix socket only, sets
# the root password (MARIADB_ROOT_PASSWORD, or none with
# MARIADB_ALLOW_EMPTY_ROOT_PASSWORD, or a random one printed once with
# MARIADB_RANDOM_ROOT_PASSWORD) for root@localhost and root@$MARIADB_ROOT_HOST
# (default %), creates MARIADB_DATABASE and MARIADB_USER with MARIADB_PASSWORD
# (given every right on that database), runs /docker-entrypoint-initdb.d/*.sql,
# *.sql.gz, *.sql.xz, *.sql.zst and *.sh in order, and stops that server cleanly.
# Later starts use the existing data as it is. Started as root, it gives the data
# folder to mysql and runs the server as mysql.
set -Eeo pipefail

say() { echo "mariadb-entrypoint: $*"; }
die() {
	echo "mariadb-entrypoint: error: $*" >&2
	exit 1
}

# file_env VAR [DEFAULT]: MARIADB_VAR from the environment or the file named by
# MARIADB_VAR_FILE, else the MYSQL_ forms, else DEFAULT; exported as MARIADB_VAR.
file_env() {
	local var=MARIADB_$1 mvar=MYSQL_$1 def=${2:-}
	local val=$def v
	for v in "$var" "$mvar"; do
		local f="${v}_FILE"
		if [ -n "${!v:-}" ] && [ -n "${!f:-}" ]; then
			die "both $v and $f are set (they are exclusive)"
		fi
		if [ -n "${!v:-}" ]; then
			val=${!v}
			break
		elif [ -n "${!f:-}" ]; then
			val=$(<"${!f}")
			break
		fi
	done
	export "$var"="$val"
	unset "${var}_FILE" "${mvar}_FILE"
}

# wants_help ARGS...: the server was asked a question, not to serve.
wants_help() {
	local arg
	for arg; do
		case $arg in
		-'?' | --help | --print-defaults | -V | --version) return 0 ;;
		esac
	done
	return 1
}

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

setup_env() {
	file_env ROOT_PASSWORD
	file_env ALLOW_EMPTY_ROOT_PASSWORD
	file_env RANDOM_ROOT_PASSWORD
	file_env ROOT_HOST %
	file_env DATABASE
	file_env USER
	file_env PASSWORD
	DATABASE_ALREADY_EXISTS=
	if [ -d "$DATADIR/mysql" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

check_password() {
	if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		cat >&2 <<-'EOM'
			Error: Database is uninitialized and password option is not specified.
			       You need to specify one of MARIADB_ROOT_PASSWORD,
			       MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD.
		EOM
		exit 1
	fi
	if [ -n "$MARIADB_USER" ] && [ "$MARIADB_USER" = root ]; then
		die "MARIADB_USER=root is not allowed: root is set up by MARIADB_ROOT_PASSWORD"
	fi
	if [ -n "$MARIADB_PASSWORD" ] && [ -z "$MARIADB_USER" ]; then
		say "warning: MARIADB_PASSWORD is set without MARIADB_USER; it is ignored"
	fi
}

make_dirs() {
	mkdir -p "$DATADIR" /run/mysqld
	if [ "$(id -u)" = 0 ]; then
		find "$DATADIR" /run/mysqld \! -user mysql -exec chown mysql:mysql '{}' +
	fi
}

temp_server_start() {
	"$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --loose-wsrep_on=OFF \
		--loose-innodb_buffer_pool_load_at_startup=0 &
	TEMP_PID=$!
	local _
	for _ in $(seq 300); do
		if mariadb --protocol=socket --socket="$SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
			return
		fi
		kill -0 "$TEMP_PID" 2>/dev/null || die "the server stopped while starting for initialisation"
		sleep 0.2
	done
	die "the server did not start for initialisation within 60 s"
}

temp_server_stop() {
	kill "$TEMP_PID"
	wait "$TEMP_PID" || die "the server did not stop cleanly after initialisation"
}

# sql_escape STRING: STRING quoted for a SQL string literal.
sql_escape() {
	local s=${1//\\/\\\\}
	printf "'%s'" "${s//\'/\\\'}"
}

# sql_ident STRING: STRING quoted as a SQL identifier.
# shellcheck disable=SC2016 # the backticks are SQL's, not the shell's
sql_ident() { printf '`%s`' "${1//\`/\`\`}"; }

# random_password: 32 hex digits.
random_password() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

mariadb_init() { mariadb --protocol=socket --socket="$SOCKET" -uroot --binary-mode "$@"; }

setup_db() {
	local rootpw=$MARIADB_ROOT_PASSWORD sql hc_pw
	if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ] && [ -z "$rootpw" ]; then
		rootpw=$(random_password)
		say "GENERATED ROOT PASSWORD: $rootpw"
	fi
	hc_pw=$(random_password)
	sql="SET @@SESSION.SQL_LOG_BIN=0;
DROP USER IF EXISTS ''@'localhost', ''@'$(hostname)';
DELETE FROM mysql.global_priv WHERE User = 'root' AND Host NOT IN ('localhost');
ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_escape "$rootpw");
CREATE USER 'healthcheck'@'localhost' IDENTIFIED BY $(sql_escape "$hc_pw");
CREATE USER 'healthcheck'@'127.0.0.1' IDENTIFIED BY $(sql_escape "$hc_pw");
CREATE USER 'healthcheck'@'::1' IDENTIFIED BY $(sql_escape "$hc_pw");"
	if [ "$MARIADB_ROOT_HOST" != localhost ]; then
		sql+="
CREATE USER 'root'@$(sql_escape "$MARIADB_ROOT_HOST") IDENTIFIED BY $(sql_escape "$rootpw");
GRANT ALL ON *.* TO 'root'@$(sql_escape "$MARIADB_ROOT_HOST") WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@$(sql_escape "$MARIADB_ROOT_HOST") WITH GRANT OPTION;"
	fi
	sql+="
DROP DATABASE IF EXISTS test;"
	if [ -n "$MARIADB_DATABASE" ]; then
		sql+="
CREATE DATABASE IF NOT EXISTS $(sql_ident "$MARIADB_DATABASE");"
	fi
	if [ -n "$MARIADB_USER" ]; then
		sql+="
CREATE USER $(sql_escape "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_escape "$MARIADB_PASSWORD");"
		if [ -n "$MARIADB_DATABASE" ]; then
			sql+="
GRANT ALL ON $(sql_ident "$MARIADB_DATABASE").* TO $(sql_escape "$MARIADB_USER")@'%';"
		fi
	fi
	mariadb_init --database=mysql <<<"$sql"
	printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\nprotocol=socket\n' "$SOCKET" "$hc_pw" >"$DATADIR/.my-healthcheck.cnf"
	chmod 600 "$DATADIR/.my-healthcheck.cnf"
	# root now has its password: the init files connect with it.
	export MYSQL_PWD=$rootpw
}

# run_init_files FILE...: what the official image does with /docker-entrypoint-initdb.d.
run_init_files() {
	local f db=()
	[ -z "$MARIADB_DATABASE" ] || db=(--database="$MARIADB_DATABASE")
	for f; do
		case $f in
		*.sh)
			if [ -x "$f" ]; then
				say "running $f"
				"$f"
			else
				say "sourcing $f"
				# shellcheck disable=SC1090
				. "$f"
			fi
			;;
		*.sql)
			say "running $f"
			mariadb_init "${db[@]}" <"$f"
			;;
		*.sql.gz)
			say "running $f"
			gunzip -c "$f" | mariadb_init "${db[@]}"
			;;
		*.sql.xz)
			say "running $f"
			xz -dc "$f" | mariadb_init "${db[@]}"
			;;
		*.sql.zst)
			say "running $f"
			zstd -dc "$f" | mariadb_init "${db[@]}"
			;;
		*) say "ignoring $f" ;;
		esac
	done
}

main() {
	if [ "${1:0:1}" = '-' ]; then
		set -- mariadbd "$@"
	fi

	if { [ "$1" = mariadbd ] || [ "$1" = mysqld ]; } && ! wants_help "$@"; then
		setup_env
		make_dirs
		if [ "$(id -u)" = 0 ]; then
			exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
		fi

		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			check_password
			say "initialising the database in $DATADIR"
			mariadb-install-db --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=normal \
				--skip-name-resolve >/tmp/install-db.log 2>&1 ||
				{
					cat /tmp/install-db.log >&2
					die "mariadb-install-db failed"
				}
			temp_server_start "$@"
			setup_db
			shopt -s nullglob
			run_init_files /docker-entrypoint-initdb.d/*
			shopt -u nullglob
			unset MYSQL_PWD
			temp_server_stop
			say "MariaDB init process complete; ready for start up."
		else
			say "the data folder holds a database; skipping initialisation"
		fi
	fi

	exec "$@"
}

main "$@"
