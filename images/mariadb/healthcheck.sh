#!/usr/bin/env bash
# healthcheck.sh for the local mariadb:10.11 image: the checks of the official
# image's script that Compose files use, answered over the local socket.
#
#   --connect             the server accepts connections (the default)
#   --innodb_initialized  InnoDB has started
#   --su-mysql            accepted and ignored (checks run as the caller)
#
# Connections use /var/lib/mysql/.my-healthcheck.cnf, written on initialisation
# for a user that may do nothing but log in; without it, a ping that reaches the
# server (even one refused for its credentials) counts as connected.
set -eo pipefail

cnf=/var/lib/mysql/.my-healthcheck.cnf
opts=()
[ -r "$cnf" ] && opts=(--defaults-extra-file="$cnf")

connect() { mariadb-admin "${opts[@]}" --connect-timeout=3 ping >/dev/null 2>&1; }

innodb_initialized() {
	[ -r "$cnf" ] || return 1
	local v
	v=$(mariadb "${opts[@]}" --connect-timeout=3 -sN -e \
		"SELECT 1 FROM information_schema.ENGINES WHERE engine = 'InnoDB' AND support IN ('YES', 'DEFAULT')") || return 1
	[ "$v" = 1 ]
}

checks=()
for arg; do
	case $arg in
	--connect) checks+=(connect) ;;
	--innodb_initialized | --innodb-initialized) checks+=(innodb_initialized) ;;
	--su-mysql | --su=mysql) ;;
	*)
		echo "healthcheck.sh: unknown check $arg" >&2
		exit 2
		;;
	esac
done
[ ${#checks[@]} -gt 0 ] || checks=(connect)
for c in "${checks[@]}"; do
	"$c" || {
		echo "healthcheck.sh: $c failed" >&2
		exit 1
	}
done
