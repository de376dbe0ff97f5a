#!/usr/bin/env bash
# images.sh: make sure the images that Berth's example definitions and tests need
# exist in the Docker engine, building them locally when no registry gives them.
#
# Usage: scripts/images.sh [IMAGE...]      (default: all of them, in this order)
#
#   debian:bookworm-slim   debootstrap --variant=minbase, imported (also tagged debian:bookworm)
#   postgres:15            images/postgres: Debian's PostgreSQL 15, official entrypoint contract
#   mariadb:10.11          images/mariadb:  Debian's MariaDB 10.11, official entrypoint contract
#   redis:7                images/redis:    Debian's redis-server
#   nginx:1.27             images/nginx:    Debian's nginx, laid out like the official image
#   golang:1.26-bookworm   images/golang:   the host's Go toolchain (go env GOROOT)
#   berth-test/probe:latest  images/probe: a static test program in an empty image
#
# An image that exists is kept when it carries the label dev.berth.image-key with the
# key of its recipe (a hash of images/<name>/, plus the base image, the Go version or
# the host's Debian sources where they matter), or when it carries no such label at
# all (it came from a registry). A missing image is first pulled, and built only when
# the pull fails; an image whose recipe changed is rebuilt. Each image gets one line:
#   images: postgres:15 present (cached)
#
# Settings (environment):
#   BERTH_IMAGES_NO_PULL=1       never try a registry (tests and make test set it)
#   BERTH_IMAGES_PULL_TIMEOUT    seconds to wait for a registry to answer (default 30)
#   BERTH_IMAGES_VERBOSE=1       show build output (otherwise it goes to a log file,
#                                whose end is shown when a build fails)
#   BERTH_DEBIAN_MIRROR          Debian mirror for debootstrap (default: the host's)
#
# Building debian:bookworm-slim needs root and debootstrap; the other builds need
# only the engine (and `go` on the host for golang and probe). The Debian image takes
# the host's Debian sources, its apt Acquire::Check-* settings and the certificate
# authorities in /usr/local/share/ca-certificates, so that builds in containers reach
# what the host reaches. Runs are serialised with a lock, so parallel test packages
# may call this at once.
#
# A change to a recipe changes its key, so the next run rebuilds that image (and,
# for debian, every image built on it); the replaced images are removed when no
# container uses them.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
recipes=$root/images
label=dev.berth.image-key
export DOCKER_BUILDKIT=0 # the engine here is 20.10 and buildx is absent
tmp=${TMPDIR:-/tmp}
host_cas=/usr/local/share/ca-certificates
path_env=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

all=(debian:bookworm-slim postgres:15 mariadb:10.11 redis:7 nginx:1.27 golang:1.26-bookworm berth-test/probe:latest)

say() { echo "images: $*"; }
die() {
	echo "images: error: $*" >&2
	exit 1
}
# shellcheck source=scripts/retry.sh
. "$root/scripts/retry.sh"

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# canonical NAME: the name this script knows NAME by, or nothing.
canonical() {
	case $1 in
	debian:bookworm-slim | debian:bookworm) echo debian:bookworm-slim ;;
	postgres:15 | mariadb:10.11 | redis:7 | nginx:1.27 | golang:1.26-bookworm) echo "$1" ;;
	berth-test/probe | berth-test/probe:latest) echo berth-test/probe:latest ;;
	esac
}

# recipe NAME: the folder under images/ that makes NAME.
recipe() {
	case $1 in
	debian:*) echo debian ;;
	berth-test/probe:*) echo probe ;;
	*) echo "${1%%:*}" ;;
	esac
}

# ---- keys -------------------------------------------------------------------

# The SHA-256 command: "HASH  NAME" lines, of standard input without a file.
if command -v sha256sum >/dev/null; then
	sha256=(sha256sum)
else
	sha256=(shasum -a 256)
fi

# hash_tree DIR: the content hash of each file, then the executable ones, in a
# stable order (few processes: this runs on every call, maybe on a busy machine).
hash_tree() {
	(
		cd "$1"
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 "${sha256[@]}"
		echo "executable:"
		find . -type f -perm -100 | LC_ALL=C sort
	)
}

# What the engine has: image id and key label by name, read with one call for all
# names (the engine may be busy; each call costs) and again after each change.
declare -A ids=() keys=()

# refresh NAME...: read the id and key label of each NAME that exists.
refresh() {
	local n tags id k
	for n; do
		unset "ids[$n]" "keys[$n]"
	done
	while read -r tags id k; do
		for n; do
			case $tags in *"\"$n\""*)
				ids[$n]=$id
				keys[$n]=$k
				;;
			esac
		done
	done < <(docker image inspect --format "{{json .RepoTags}} {{.Id}} {{with .Config}}{{with .Labels}}{{index . \"$label\"}}{{end}}{{end}}" "$@" 2>/dev/null || true)
}

# image_id NAME: the image's id, or nothing.
image_id() { echo "${ids[$1]:-}"; }

# existing_key NAME: fails when NAME is missing, prints its key label (maybe empty).
existing_key() {
	[ -n "${ids[$1]:-}" ] || return 1
	echo "${keys[$1]:-}"
}

# go_env VAR: `go env VAR`, asked once.
declare -A goenv=()
go_env() {
	if [ -z "${goenv[$1]:-}" ]; then
		goenv[$1]=$(go env "$1")
	fi
	echo "${goenv[$1]}"
}

# key RECIPE: the hash of everything the recipe's result depends on.
key() {
	{
		echo "berth image recipe $1, format 1"
		hash_tree "$recipes/$1"
		case $1 in
		debian)
			echo "mirror $(debian_mirror)"
			debian_sources
			host_apt_settings
			[ ! -d "$host_cas" ] || hash_tree "$host_cas"
			;;
		probe)
			echo "go $(go_env GOVERSION)"
			;;
		golang)
			echo "base $(image_id debian:bookworm-slim)"
			echo "go $(go_env GOVERSION) $(go_env GOROOT)"
			;;
		*)
			echo "base $(image_id debian:bookworm-slim)"
			;;
		esac
	} | "${sha256[@]}" | { read -r h _ && echo "$h"; }
}

# ---- the host's Debian configuration ------------------------------------------

# debian_mirror: the host's mirror for the bookworm suite (or nothing: debootstrap's default).
debian_mirror() {
	if [ -n "${BERTH_DEBIAN_MIRROR:-}" ]; then
		echo "$BERTH_DEBIAN_MIRROR"
		return
	fi
	local m=
	if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
		m=$(awk 'BEGIN { RS = ""; FS = "\n" }
			{
				uri = ""; suite = 0; deb = 0; off = 0
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
					if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb = 1
					if ($i ~ /^Enabled:[ \t]*no/) off = 1
					if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == "bookworm") suite = 1 }
				}
				if (uri != "" && suite && deb && !off) { print uri; exit }
			}' /etc/apt/sources.list.d/*.sources)
	fi
	if [ -z "$m" ]; then
		m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '
			$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
				if ($(i + 1) == "bookworm") { print $i; exit }
			}')
	fi
	echo "$m"
}

# debian_sources: the host's Debian bookworm sources, to give the image the same
# mirrors (including updates and security). Deb822 stanzas, or one-line entries
# after a line "#one-line".
debian_sources() {
	local f out
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		out=$(awk 'BEGIN { RS = ""; FS = "\n"; ORS = "\n\n" }
			{
				keep = 0
				for (i = 1; i <= NF; i++)
					if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] ~ /^bookworm(-|$)/) keep = 1 }
				if (keep) print
			}' "$f")
		if [ -n "$out" ]; then
			echo "$out"
			return
		fi
	done
	out=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '
		$1 == "deb" {
			i = 2
			if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
			if ($(i + 1) ~ /^bookworm(-|$)/) print
		}')
	if [ -n "$out" ]; then
		echo "#one-line"
		echo "$out"
	fi
}

# host_apt_settings: the host's apt settings that a container needs too (a mirror
# that serves an archive snapshot needs its Release files' dates not checked).
host_apt_settings() {
	if command -v apt-config >/dev/null; then
		apt-config dump 2>/dev/null | grep -E '^Acquire::(Check-Valid-Until|Check-Date) ' || true
	fi
}

# ---- registry -------------------------------------------------------------------

# pull NAME: try a registry. The pull may take as long as it needs once the registry
# has answered; if it has not answered within the timeout, give up.
pull() {
	local name=$1 log pid waited=0 limit=${BERTH_IMAGES_PULL_TIMEOUT:-30}
	[ "${BERTH_IMAGES_NO_PULL:-}" = 1 ] && return 1
	case $name in berth-test/*) return 1 ;; esac # only ever built here
	log=$(mktemp "$tmp/berth-images-pull.XXXXXX")
	docker pull "$name" >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if grep -q -e 'Pulling from' -e 'Digest:' "$log"; then
			break # the registry answered: let the pull finish
		fi
		if [ "$waited" -ge "$limit" ]; then
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			rm -f "$log"
			return 1
		fi
		sleep 1
		waited=$((waited + 1))
	done
	if wait "$pid"; then
		rm -f "$log"
		return 0
	fi
	rm -f "$log"
	return 1
}

# ---- builds -------------------------------------------------------------------

# run_logged NAME CMD...: run a build step, its output in a log file unless verbose.
# The step runs as a background job so that `set -e` holds inside it even when the
# caller tests the result.
run_logged() {
	local name=$1 log
	shift
	log="$tmp/berth-images-$(echo "$name" | tr '/:' '__').log"
	if [ "${BERTH_IMAGES_VERBOSE:-}" = 1 ]; then
		"$@" 2>&1 | tee "$log" &
	else
		"$@" >"$log" 2>&1 &
	fi
	if ! wait $!; then
		if [ "${BERTH_IMAGES_VERBOSE:-}" != 1 ]; then
			echo "images: building $name failed; the end of $log:" >&2
			tail -n 40 "$log" >&2
		fi
		return 1
	fi
}

# build_debian KEY: debootstrap a minimal bookworm, slim it and import it.
build_debian() {
	local key=$1
	[ "$(id -u)" = 0 ] || die "debian:bookworm-slim is missing and building it needs root (debootstrap)"
	command -v debootstrap >/dev/null || die "debian:bookworm-slim is missing and debootstrap is not installed (apt-get install debootstrap)"
	work=$(mktemp -d "${TMPDIR:-/var/tmp}/berth-debian.XXXXXX")
	trap 'rm -rf "${work:-}"' EXIT
	run_logged debian:bookworm-slim debian_rootfs "$work/rootfs" "$key"
	rm -rf "$work"
	work=
	docker tag debian:bookworm-slim debian:bookworm
}

# fresh_debootstrap DIR [MIRROR]: a minimal bookworm in DIR, emptied first
# so that a retry starts clean.
fresh_debootstrap() {
	local dir=$1
	shift
	rm -rf "$dir" && mkdir -p "$dir"
	debootstrap --variant=minbase bookworm "$dir" "$@"
}

# debian_rootfs DIR KEY: the steps of build_debian, run with their output logged.
debian_rootfs() {
	local dir=$1 key=$2 mirror f
	mirror=$(debian_mirror)
	# shellcheck disable=SC2086 # no mirror: debootstrap's default
	retry fresh_debootstrap "$dir" $mirror

	# The settings of the official slim image.
	cp -a "$recipes/debian/rootfs/." "$dir/"

	# The host's Debian sources and the apt settings they need.
	local sources
	sources=$(debian_sources)
	if [ -n "$sources" ]; then
		if [ "$(head -n 1 <<<"$sources")" = "#one-line" ]; then
			tail -n +2 <<<"$sources" >"$dir/etc/apt/sources.list"
		else
			printf '%s\n' "$sources" >"$dir/etc/apt/sources.list.d/debian.sources"
			: >"$dir/etc/apt/sources.list"
			# Keyrings named by the sources that the new tree lacks.
			sed -n 's/^Signed-By:[ \t]*\(\/.*\)$/\1/p' <<<"$sources" | while read -r f; do
				if [ ! -e "$dir$f" ] && [ -f "$f" ]; then
					mkdir -p "$dir$(dirname "$f")"
					cp "$f" "$dir$f"
				fi
			done
		fi
	fi
	host_apt_settings >"$dir/etc/apt/apt.conf.d/99host-acquire"
	[ -s "$dir/etc/apt/apt.conf.d/99host-acquire" ] || rm -f "$dir/etc/apt/apt.conf.d/99host-acquire"

	# The host's own certificate authorities (a company's, or a TLS-inspecting
	# proxy's): an image that installs ca-certificates then trusts what the host
	# trusts, so that for example `go mod download` in a build works here too.
	if [ -d "$host_cas" ]; then
		mkdir -p "$dir$host_cas"
		cp -a "$host_cas/." "$dir$host_cas/"
	fi

	# Slim: what dpkg.cfg.d/docker keeps out of later installs, out of this tree too.
	(
		cd "$dir"
		find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
		find usr/share/doc -mindepth 1 -type d -empty -delete
		rm -rf usr/share/man/* usr/share/groff/* usr/share/info/* usr/share/lintian/overrides/* \
			usr/share/linda/* usr/share/locale/*
		# No package lists, caches or logs of the bootstrap.
		rm -rf var/lib/apt/lists/* var/cache/apt/* var/cache/debconf/*-old var/lib/dpkg/*-old
		mkdir -p var/lib/apt/lists/partial var/cache/apt/archives/partial
		find var/log -type f -exec truncate -s 0 {} +
		rm -f var/log/bootstrap.log
		# The engine provides these per container.
		: >etc/hostname
		: >etc/resolv.conf
		[ ! -e etc/machine-id ] || : >etc/machine-id
	)

	tar --numeric-owner -C "$dir" -c . |
		docker import \
			--change 'CMD ["bash"]' \
			--change "ENV PATH=$path_env" \
			--change "LABEL $label=$key" \
			- debian:bookworm-slim
}

# build_dir NAME RECIPE KEY: an ordinary Dockerfile build of images/RECIPE.
build_dir() {
	run_logged "$1" retry docker build --label "$label=$3" -t "$1" "$recipes/$2"
}

# build_golang NAME KEY: the host's GOROOT sent as go/ next to the Dockerfile.
build_golang() {
	local name=$1 key=$2 goroot version
	command -v go >/dev/null || die "$name is missing and there is no Go toolchain on this host to put in it"
	goroot=$(go_env GOROOT)
	version=$(go_env GOVERSION)
	case $version in
	go1.26 | go1.26.*) ;;
	*) echo "images: warning: the host's Go is $version, tagged as $name" >&2 ;;
	esac
	# shellcheck disable=SC2016 # expanded by the inner bash
	run_logged "$name" bash -c '
		set -euo pipefail
		tar --numeric-owner -c -C "$1" Dockerfile -C "$2" --exclude=./.git --exclude=./pkg/obj \
			--transform "s,^\.,go,S" . |
			docker build --label "$3" --build-arg "GOLANG_VERSION=$4" -t "$5" -
	' _ "$recipes/golang" "$goroot" "$label=$key" "${version#go}" "$name"
}

# build_probe NAME KEY: a static binary built on the host, in a FROM scratch image.
build_probe() {
	local name=$1 key=$2 out arch
	command -v go >/dev/null || die "$name is missing and there is no Go toolchain on this host to build it"
	out=$(mktemp -d "$tmp/berth-probe.XXXXXX")
	arch=$(docker version --format '{{.Server.Arch}}' 2>/dev/null || go env GOARCH)
	cp "$recipes/probe/Dockerfile" "$out/"
	if ! (cd "$recipes/probe" && GO111MODULE=on GOWORK=off GOFLAGS=-buildvcs=false GOTOOLCHAIN=local \
		CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags='-s -w' -o "$out/probe" .); then
		rm -rf "$out"
		die "building the probe program failed"
	fi
	# shellcheck disable=SC2016 # expanded by the inner bash
	if ! run_logged "$name" bash -c 'set -euo pipefail; tar -c -C "$1" Dockerfile probe | docker build --label "$2" -t "$3" -' \
		_ "$out" "$label=$key" "$name"; then
		rm -rf "$out"
		return 1
	fi
	rm -rf "$out"
}

# ---- one image ----------------------------------------------------------------

# ensure NAME: make sure NAME exists and is up to date with its recipe.
ensure() {
	local name=$1 r k='' have start why='' old
	r=$(recipe "$name")
	if have=$(existing_key "$name"); then
		if [ -z "$have" ]; then
			say "$name present (not built by this script; kept)"
			return
		fi
		k=$(key "$r")
		if [ "$have" = "$k" ]; then
			say "$name present (cached)"
			return
		fi
		why=" (its recipe changed)"
	elif pull "$name"; then
		refresh "$name"
		say "$name pulled"
		return
	fi
	[ -n "$k" ] || k=$(key "$r")
	old=$(image_id "$name")
	start=$SECONDS
	case $r in
	debian) build_debian "$k" ;;
	golang) build_golang "$name" "$k" ;;
	probe) build_probe "$name" "$k" ;;
	*) build_dir "$name" "$r" "$k" ;;
	esac
	refresh "$name" debian:bookworm
	say "$name built in $((SECONDS - start))s$why"
	if [ -n "$old" ] && [ "$old" != "$(image_id "$name")" ]; then
		replaced+=("$old")
	fi
}

# forget_replaced: remove the images that rebuilt ones replaced, newest first (an
# old base goes once the images built on it have gone). One still in use stays.
forget_replaced() {
	local i
	for ((i = ${#replaced[@]} - 1; i >= 0; i--)); do
		docker image rm "${replaced[i]}" >/dev/null 2>&1 || true
	done
}

# ensure_debian_full: debian:bookworm, the same image as debian:bookworm-slim here.
ensure_debian_full() {
	local slim full have
	slim=$(image_id debian:bookworm-slim)
	full=$(image_id debian:bookworm)
	if [ -n "$full" ]; then
		have=$(existing_key debian:bookworm || true)
		if [ "$full" = "$slim" ]; then
			say "debian:bookworm present (the same image as debian:bookworm-slim)"
			return
		fi
		if [ -z "$have" ] || [ -z "$(existing_key debian:bookworm-slim)" ]; then
			say "debian:bookworm present (not built by this script; kept)"
			return
		fi
	elif pull debian:bookworm; then
		refresh debian:bookworm
		say "debian:bookworm pulled"
		return
	fi
	docker tag debian:bookworm-slim debian:bookworm
	refresh debian:bookworm
	say "debian:bookworm tagged from debian:bookworm-slim"
}

# ---- main -----------------------------------------------------------------------

main() {
	local want=() name c i
	for name; do
		case $name in
		-h | --help)
			usage
			return 0
			;;
		esac
		c=$(canonical "$name")
		[ -n "$c" ] || die "unknown image $name (known: ${all[*]})"
		want+=("$c")
	done
	[ ${#want[@]} -gt 0 ] || want=("${all[@]}")

	# What is wanted, plus the base image of what is built from it, in build order.
	local todo=()
	for i in "${all[@]}"; do
		for name in "${want[@]}"; do
			if [ "$name" = "$i" ]; then
				todo+=("$i")
				break
			fi
			if [ "$i" = debian:bookworm-slim ] && [ "$name" != berth-test/probe:latest ]; then
				todo+=("$i")
				break
			fi
		done
	done

	command -v docker >/dev/null || die "the docker CLI is not installed"
	local check=(docker version --format '{{.Server.Version}}')
	if command -v timeout >/dev/null; then check=(timeout 10 "${check[@]}"); fi
	"${check[@]}" >/dev/null 2>&1 ||
		die "no Docker engine answers (scripts/engine.sh starts one)"

	if command -v flock >/dev/null; then
		exec 9>"$tmp/berth-images.lock"
		flock 9
	fi

	replaced=()
	refresh "${todo[@]}" debian:bookworm
	for name in "${todo[@]}"; do
		ensure "$name"
		if [ "$name" = debian:bookworm-slim ]; then
			ensure_debian_full
		fi
	done
	forget_replaced
}

main "$@"
