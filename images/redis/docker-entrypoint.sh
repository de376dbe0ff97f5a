#!/bin/sh
# docker-entrypoint.sh for the local redis:7 image: the start-up contract of the
# official image. "redis-server" with no configuration file listens on every
# address with protected mode off (the official image builds Redis that way; here it
# is said on the command line), keeps its data in the working folder (/data) and
# runs as the redis user.
set -e

# "docker run redis:7 --appendonly yes" or "... /etc/redis/my.conf"
if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi

if [ "$1" = redis-server ]; then
	conf=
	for arg; do
		case $arg in
		*.conf) conf=yes ;;
		--protected-mode) conf=yes ;;
		esac
	done
	if [ -z "$conf" ]; then
		set -- "$@" --protected-mode no
	fi
	if [ "$(id -u)" = 0 ]; then
		find . \! -user redis -exec chown redis '{}' +
		exec setpriv --reuid=redis --regid=redis --clear-groups -- "$0" "$@"
	fi
fi

# Data files readable by their owner only, unless a umask was chosen.
if [ "$(umask)" = 0022 ]; then
	umask 0077
fi

exec "$@"
