#!/usr/bin/env bash
# docker-entrypoint.sh for the local postgres:15 image: the start-up contract of the
# official image, written for Debian's packages.
#
# On the first start (no $PGDATA/PG_VERSION) it runs initdb for $POSTGRES_USER with
# $POSTGRES_PASSWORD, allows password logins from any address (method
# $POSTGRES_HOST_AUTH_METHOD, default scram-sha-256), creates $POSTGRES_DB and runs
# /docker-entrypoint-initdb.d/*.sql, *.sql.gz, *.sql.xz, *.sql.zst and *.sh in
# order against it with a server that listens on the Unix socket only. Later starts
# use the existing data as it is. Started as root, it fixes the ownership of the
# data folder and runs the server as the postgres user.
set -Eeo pipefail

say() { echo "postgres-entrypoint: $*"; }

# file_env VAR [DEFAULT]: VAR from the environment, or from the file named by VAR_FILE.
file_env() {
	local var=$1 fvar="${1}_FILE" def=${2:-} val
	if [ -n "${!var:-}" ] && [ -n "${!fvar:-}" ]; then
		say "error: both $var and $fvar are set (they are exclusive)" >&2
		exit 1
	fi
	val=$def
	if [ -n "${!var:-}" ]; then
		val=${!var}
	elif [ -n "${!fvar:-}" ]; then
		val=$(<"${!fvar}")
	fi
	export "$var"="$val"
	unset "$fvar"
}

# wants_help ARGS...: postgres was asked a question (--help, -C ...), not to serve.
wants_help() {
	local arg
	for arg; do
		case $arg in
		-'?' | --help | --describe-config | -V | --version | -C | -C*) return 0 ;;
		esac
	done
	return 1
}

setup_env() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	: "${PGDATA:=/var/lib/postgresql/data}"
	export PGDATA
	DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

# make_dirs: create the data, WAL and socket folders; as root, give them to postgres.
make_dirs() {
	local user
	user=$(id -u)
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql || :
	chmod 03775 /var/run/postgresql || :
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		if [ "$user" = 0 ]; then
			find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
		fi
		chmod 700 "$POSTGRES_INITDB_WALDIR"
	fi
	if [ "$user" = 0 ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
	fi
}

check_password() {
	if [ -n "$DATABASE_ALREADY_EXISTS" ]; then
		return
	fi
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		cat >&2 <<-'EOM'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

			       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
			       connections without a password. This is *not* recommended.
		EOM
		exit 1
	fi
	if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
		say "warning: POSTGRES_HOST_AUTH_METHOD=trust: every connection is allowed without a password"
	fi
}

init_db() {
	local args=(--username="$POSTGRES_USER")
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		args+=(--waldir="$POSTGRES_INITDB_WALDIR")
	fi
	# POSTGRES_INITDB_ARGS is shell words (quotes allowed), as in the official image.
	# The password goes through a pipe, never the command line; the process
	# substitution has to sit in the command itself to be open while it runs.
	if [ -n "$POSTGRES_PASSWORD" ]; then
		eval 'initdb "${args[@]}" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"
	else
		eval 'initdb "${args[@]}" '"$POSTGRES_INITDB_ARGS"
	fi
}

setup_hba() {
	local method=$POSTGRES_HOST_AUTH_METHOD
	if [ -z "$method" ]; then
		method=$(postgres -C password_encryption -D "$PGDATA" 2>/dev/null || echo scram-sha-256)
		[ -n "$method" ] || method=scram-sha-256
	fi
	{
		echo
		echo "# added by docker-entrypoint.sh: connections from any address"
		printf 'host all all all %s\n' "$method"
	} >>"$PGDATA/pg_hba.conf"
}

temp_server_start() {
	# Unix socket only, so that nothing outside sees the server before it is ready.
	PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" \
		-o "$(printf '%q ' -c listen_addresses='' -p "${PGPORT:-5432}")" -w start
}

temp_server_stop() {
	PGUSER="${PGUSER:-$POSTGRES_USER}" pg_ctl -D "$PGDATA" -m fast -w stop
}

psql_init() {
	psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

create_db() {
	if [ "$POSTGRES_DB" = postgres ]; then
		return
	fi
	local exists
	exists=$(psql_init --dbname postgres --set db="$POSTGRES_DB" --tuples-only --no-align <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db' ;
	EOSQL
	)
	if [ -z "$exists" ]; then
		psql_init --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
	fi
}

# run_init_files FILE...: what the official image does with /docker-entrypoint-initdb.d.
run_init_files() {
	local f
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
			psql_init --dbname "$POSTGRES_DB" -f "$f"
			;;
		*.sql.gz)
			say "running $f"
			gunzip -c "$f" | psql_init --dbname "$POSTGRES_DB"
			;;
		*.sql.xz)
			say "running $f"
			xz -dc "$f" | psql_init --dbname "$POSTGRES_DB"
			;;
		*.sql.zst)
			say "running $f"
			zstd -dc "$f" | psql_init --dbname "$POSTGRES_DB"
			;;
		*) say "ignoring $f" ;;
		esac
		echo
	done
}

main() {
	if [ "${1:0:1}" = '-' ]; then
		set -- postgres "$@"
	fi

	if [ "$1" = postgres ] && ! wants_help "$@"; then
		setup_env
		make_dirs
		if [ "$(id -u)" = 0 ]; then
			export HOME=/var/lib/postgresql
			exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
		fi

		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			check_password
			init_db
			setup_hba
			export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
			temp_server_start
			create_db
			shopt -s nullglob
			run_init_files /docker-entrypoint-initdb.d/*
			shopt -u nullglob
			temp_server_stop
			unset PGPASSWORD
			say "PostgreSQL init process complete; ready for start up."
			echo
		else
			say "PostgreSQL database directory appears to contain a database; skipping initialization"
			echo
		fi
	fi

	exec "$@"
}

main "$@"
