#!/bin/sh
# docker-entrypoint.sh for the local nginx image: the start-up contract of the
# official image. Before nginx starts, every /etc/nginx/templates/*.template is
# filled from the environment (only variables that are set are replaced) into
# /etc/nginx/conf.d/ without its .template suffix, then every executable
# /docker-entrypoint.d/*.sh runs in order. NGINX_ENTRYPOINT_QUIET_LOGS silences it.
set -e

say() {
	if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
		echo "$0: $*"
	fi
}

fill_templates() {
	tdir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
	suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
	odir=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
	[ -d "$tdir" ] || return 0
	# Only the variables that are set, so that nginx's own $variables stay.
	defined=$(env | cut -d= -f1 | sed 's/^/$/' | tr '\n' ' ')
	find "$tdir" -follow -type f -name "*$suffix" -print | sort | while read -r t; do
		rel=${t#"$tdir"/}
		out="$odir/${rel%"$suffix"}"
		mkdir -p "$(dirname "$out")"
		say "filling $t into $out"
		envsubst "$defined" <"$t" >"$out"
	done
}

if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
	fill_templates
	if [ -d /docker-entrypoint.d ]; then
		for f in $(find /docker-entrypoint.d/ -follow -type f -name '*.sh' -print | sort); do
			if [ -x "$f" ]; then
				say "running $f"
				"$f"
			else
				say "ignoring $f, not executable"
			fi
		done
	fi
	say "configuration complete; ready for start up"
fi

exec "$@"
